// For runner/git's tests: real repositories built with the git CLI in a test's temporary
// directory, with a fixed identity and clock so that object ids are reproducible.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::git::test_support {

inline std::map<std::string, std::string> git_env() {
    return {{"GIT_AUTHOR_NAME", "Ada Lovelace"},
            {"GIT_AUTHOR_EMAIL", "ada@example.com"},
            {"GIT_AUTHOR_DATE", "2024-01-02T03:04:05Z"},
            {"GIT_COMMITTER_NAME", "Charles Babbage"},
            {"GIT_COMMITTER_EMAIL", "charles@example.com"},
            {"GIT_COMMITTER_DATE", "2024-01-02T03:04:05Z"},
            {"GIT_CONFIG_GLOBAL", "/dev/null"},
            {"GIT_CONFIG_NOSYSTEM", "1"},
            {"GIT_TERMINAL_PROMPT", "0"}};
}

// Runs `git ARGS...` in `dir`; a failure fails the test. Returns stdout without the
// trailing newline.
inline std::string git(const std::filesystem::path& dir, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"git"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = sluice::testing::run_command(argv, {dir, git_env()});
    if (r.exit_code != 0) {
        ADD_FAILURE() << "git";
        for (const auto& a : args) ADD_FAILURE() << "  " << a;
        ADD_FAILURE() << "failed in " << dir << " (" << r.exit_code << "): " << r.err;
    }
    while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
}

// A repository with a work tree, on branch main.
class FixtureRepo {
public:
    explicit FixtureRepo(std::filesystem::path dir) : dir_(std::move(dir)) {
        std::filesystem::create_directories(dir_);
        git(dir_, {"init", "-q", "-b", "main", "."});
    }
    const std::filesystem::path& dir() const { return dir_; }

    void write(const std::string& path, const std::string& text) const {
        auto file = dir_ / path;
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
    }
    void remove(const std::string& path) const { std::filesystem::remove_all(dir_ / path); }

    // Stages everything and commits; returns the new commit's sha.
    std::string commit(const std::string& message) const {
        git(dir_, {"add", "-A"});
        git(dir_, {"commit", "-q", "--allow-empty", "-m", message});
        return head();
    }
    std::string head() const { return git(dir_, {"rev-parse", "HEAD"}); }
    std::string rev(const std::string& r) const { return git(dir_, {"rev-parse", r}); }

private:
    std::filesystem::path dir_;
};

inline std::string read(const std::filesystem::path& path) {
    return sluice::testing::read_file(path);
}

inline bool path_exists(const std::filesystem::path& path) {
    std::error_code ec;
    return std::filesystem::symlink_status(path, ec).type() !=
           std::filesystem::file_type::not_found;
}

// Inode and modification time: equal before and after means the file was not rewritten.
struct FileIdentity {
    ino_t inode = 0;
    long long mtime_ns = 0;
    bool operator==(const FileIdentity&) const = default;
};

inline FileIdentity identity(const std::filesystem::path& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return {};
    return {st.st_ino,
            static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000LL + st.st_mtim.tv_nsec};
}

// Every regular file and symlink below `dir` (relative paths), `.git` excluded.
inline std::vector<std::string> list_files(const std::filesystem::path& dir) {
    std::vector<std::string> files;
    for (auto it = std::filesystem::recursive_directory_iterator(dir);
         it != std::filesystem::recursive_directory_iterator(); ++it) {
        if (it->path().filename() == ".git") {
            if (it->is_directory() && !it->is_symlink()) it.disable_recursion_pending();
            continue;
        }
        if (it->is_symlink() || it->is_regular_file()) {
            files.push_back(it->path().lexically_relative(dir).generic_string());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace sluice::git::test_support
