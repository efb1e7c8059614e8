// Helpers for the hooks' tests: repositories built with the real git CLI (fixed
// author, a private HOME so the machine's git config stays out), and a fake sluice
// that logs how it was called and exits with a status read from a file.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::hooks {

namespace fs = std::filesystem;

namespace test {

// The environment every git command of a test runs with.
inline std::map<std::string, std::string> git_env(const fs::path& home) {
    return {{"GIT_AUTHOR_NAME", "Test Author"},
            {"GIT_AUTHOR_EMAIL", "author@example.com"},
            {"GIT_COMMITTER_NAME", "Test Author"},
            {"GIT_COMMITTER_EMAIL", "author@example.com"},
            {"GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z"},
            {"GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z"},
            {"HOME", home.string()},
            {"GIT_CONFIG_NOSYSTEM", "1"},
            {"SLUICE_SKIP", ""},
            {"SLUICE_HOME", ""}};
}

// Clears variables that would point the tests' git commands (and libgit2) at another
// repository, or change the hooks' behaviour, when the tests themselves run from a hook.
inline void clean_process_env() {
    for (const char* name : {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR",
                             "GIT_PREFIX", "GIT_OBJECT_DIRECTORY", "SLUICE_SKIP", "SLUICE_HOME"}) {
        unsetenv(name);
    }
}

// Runs `git ARGS...` in dir; expects success unless told otherwise.
class Git {
  public:
    explicit Git(fs::path home) : home_(std::move(home)) { fs::create_directories(home_); }

    testing::CommandResult run(const fs::path& dir, std::vector<std::string> args,
                               std::map<std::string, std::string> extra_env = {}) const {
        args.insert(args.begin(), "git");
        auto env = git_env(home_);
        for (auto& [k, v] : extra_env) env[k] = v;
        return testing::run_command(args, {.cwd = dir, .env = env});
    }

    std::string ok(const fs::path& dir, std::vector<std::string> args,
                   std::map<std::string, std::string> extra_env = {}) const {
        auto r = run(dir, args, extra_env);
        std::string joined;
        for (auto& a : args) joined += " " + a;
        EXPECT_EQ(r.exit_code, 0) << "git" << joined << "\n" << r.out << r.err;
        while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
        return r.out;
    }

    const fs::path& home() const { return home_; }

  private:
    fs::path home_;
};

// A shell command's exit status (for cmp, sh -n, ...).
inline int sh(const std::string& command, const fs::path& cwd = {}) {
    return testing::run_command({"sh", "-c", command}, {.cwd = cwd, .env = {}}).exit_code;
}

inline unsigned mode_of(const fs::path& path) {
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) return 0;
    return st.st_mode & 07777;
}

// A fake sluice in DIR/bin/sluice. Each call appends to DIR/bin/calls.log: `cwd=...`,
// `GIT_DIR=...`, then its arguments one per line (the --id-file path as <ID_FILE>,
// into which it writes 42 unless DIR/bin/no-id exists), then `--end--`. It sleeps
// for the seconds in DIR/bin/sleep if present (then touches DIR/bin/done) and exits
// with the status in DIR/bin/exit (0 when absent).
class FakeSluice {
  public:
    explicit FakeSluice(const fs::path& root) : bin_(root / "bin") {
        fs::create_directories(bin_);
        path_ = bin_ / "sluice";
        std::ofstream out(path_);
        out << R"sh(#!/bin/sh
here=$(cd "$(dirname "$0")" && pwd)
{
    echo "cwd=$(pwd)"
    echo "GIT_DIR=${GIT_DIR-unset}"
    prev=
    for a in "$@"; do
        if [ "$prev" = --id-file ]; then
            echo "<ID_FILE>"
            [ -f "$here/no-id" ] || echo 42 >"$a"
        else
            printf '%s\n' "$a"
        fi
        prev=$a
    done
    echo "--end--"
} >>"$here/calls.log"
echo "fake sluice: running the pipeline"
if [ -f "$here/sleep" ]; then sleep "$(cat "$here/sleep")"; touch "$here/done"; fi
exit "$(cat "$here/exit" 2>/dev/null || echo 0)"
)sh";
        out.close();
        fs::permissions(path_, fs::perms::owner_all | fs::perms::group_read |
                                   fs::perms::group_exec | fs::perms::others_read |
                                   fs::perms::others_exec);
    }

    const fs::path& path() const { return path_; }
    const fs::path& bin() const { return bin_; }

    void exit_with(int status) const { std::ofstream(bin_ / "exit") << status << "\n"; }

    // Every call so far: its lines (cwd, GIT_DIR, arguments).
    std::vector<std::vector<std::string>> calls() const {
        std::vector<std::vector<std::string>> out;
        std::ifstream in(bin_ / "calls.log");
        std::vector<std::string> current;
        std::string line;
        while (std::getline(in, line)) {
            if (line == "--end--") {
                out.push_back(std::move(current));
                current.clear();
            } else {
                current.push_back(line);
            }
        }
        return out;
    }

    // The arguments of call i (without the cwd and GIT_DIR lines).
    std::vector<std::string> args(std::size_t i) const {
        auto all = calls();
        if (i >= all.size() || all[i].size() < 2) return {};
        return {all[i].begin() + 2, all[i].end()};
    }

    std::string cwd(std::size_t i) const {
        auto all = calls();
        return i < all.size() && !all[i].empty() ? all[i][0].substr(4) : "";
    }

    std::string git_dir(std::size_t i) const {
        auto all = calls();
        return i < all.size() && all[i].size() > 1 ? all[i][1].substr(8) : "";
    }

  private:
    fs::path bin_;
    fs::path path_;
};

}  // namespace test
}  // namespace sluice::hooks
