// Integration tests of what sluice says to a user's mistakes and to questions that have no
// output yet: empty --state, integer options that are not positive integers, unknown
// commands, the first run in a repository without commits, the logs of a stage that waits
// or has not started, and `run:` lines that are shell builtins.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runner/git/repo_fixture_test_support.hpp"
#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"
#include "tests/run_json_support.hpp"

namespace sluice {
namespace {

using git::test_support::git;
using git::test_support::git_env;
using testing::CommandResult;
using testing::run_command;
using testing::sluice_binary;
using testing::stage_of;
using testing::TempDir;

class CliMessages : public ::testing::Test {
protected:
    CommandResult sluice(std::vector<std::string> args, const std::filesystem::path& cwd = {}) {
        std::vector<std::string> argv = {sluice_binary(), "--state", (dir_ / "state").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        return bare(argv, cwd);
    }
    // The binary with exactly these arguments (no --state added).
    CommandResult bare(std::vector<std::string> argv, const std::filesystem::path& cwd = {}) {
        if (argv.empty() || argv[0] != sluice_binary()) argv.insert(argv.begin(), sluice_binary());
        auto env = git_env();
        env["SLUICE_TOKEN"] = "";
        return run_command(argv, {cwd.empty() ? dir_.path() : cwd, env});
    }
    nlohmann::json show(int run) {
        auto r = sluice({"show", std::to_string(run), "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json{};
    }
    TempDir dir_;
};

TEST_F(CliMessages, EmptyStateDirectoryIsRefused) {
    dir_.write("sluice.yml", "name: p\nstages:\n  a:\n    run: echo hi\n");
    for (std::vector<std::string> args : {std::vector<std::string>{"--state", "", "runs"},
                                          std::vector<std::string>{"--state=", "run"}}) {
        auto r = bare(args);
        EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
        EXPECT_NE(r.err.find("--state must not be empty"), std::string::npos) << r.err;
    }
    // Nothing was run or stored anywhere (the default would be ./.sluice).
    EXPECT_FALSE(std::filesystem::exists(dir_ / ".sluice"));
}

TEST_F(CliMessages, IntegerOptionsMustBePositiveIntegers) {
    dir_.write("sluice.yml", "name: p\nstages:\n  a:\n    run: echo hi\n");
    const std::vector<std::vector<std::string>> cases = {
        {"run", "-j", "0"},          {"run", "-j", "abc"},        {"run", "--jobs=-3"},
        {"run", "-j", "1.5"},        {"runs", "-n", "-1"},         {"runs", "-n", "0"},
        {"resume", "1", "-j", "0"},  {"approve", "1", "a", "-j", "x"},
        {"env", "rollback", "staging", "-j", "0"},
    };
    for (const auto& args : cases) {
        auto r = sluice(args);
        std::string what = args[0] + " " + args[args.size() - 1];
        EXPECT_EQ(r.exit_code, 2) << what << ": " << r.out << r.err;
        EXPECT_NE(r.err.find("must be a positive integer"), std::string::npos) << what << ": " << r.err;
        EXPECT_EQ(r.err.find("1.79769"), std::string::npos) << what << ": " << r.err;
        EXPECT_LT(r.err.size(), 300u) << what << ": " << r.err;
    }
    // Counts that may be zero say so.
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"gc", "--keep", "-1"}, {"cache", "gc", "--keep", "many"}}) {
        auto r = sluice(args);
        EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
        EXPECT_NE(r.err.find("must be a whole number (0 or more)"), std::string::npos) << r.err;
    }
    auto ok = sluice({"runs", "-n", "5"});
    EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

TEST_F(CliMessages, UnknownCommandSuggestsTheClosest) {
    auto r = sluice({"valdiate"});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("unknown command `valdiate`; did you mean `validate`?"), std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("A subcommand is required"), std::string::npos) << r.err;

    auto far = sluice({"frobnicate", "x"});
    EXPECT_EQ(far.exit_code, 2) << far.out << far.err;
    EXPECT_NE(far.err.find("unknown command `frobnicate`"), std::string::npos) << far.err;
    EXPECT_EQ(far.err.find("did you mean"), std::string::npos) << far.err;

    auto none = bare({});
    EXPECT_EQ(none.exit_code, 2) << none.out << none.err;
    EXPECT_NE(none.err.find("A subcommand is required"), std::string::npos) << none.err;
}

TEST_F(CliMessages, FirstRunInARepositoryWithoutCommitsSaysWhatToDo) {
    git(dir_.path(), {"init", "-q", "-b", "main", "."});
    dir_.write("sluice.yml", "name: p\nstages:\n  a:\n    run: echo hi\n");
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("has no commits yet"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--worktree"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("commit"), std::string::npos) << r.err;
    // And the hint is right: the working tree runs.
    auto wt = sluice({"run", "--worktree"});
    EXPECT_EQ(wt.exit_code, 0) << wt.out << wt.err;
}

TEST_F(CliMessages, LogsOfAWaitingOrUnstartedStageSaySo) {
    dir_.write("sluice.yml",
               "name: app\nstages:\n  build:\n    run: echo built\n"
               "  deploy:\n    needs: [build]\n"
               "    approval: {required: 1, approvers: [release-managers]}\n"
               "    run: echo deployed\n"
               "  smoke:\n    needs: [deploy]\n    run: echo smoke\n");
    auto r = sluice({"run", "--worktree"});
    ASSERT_EQ(r.exit_code, 3) << r.out << r.err;

    auto built = sluice({"logs", "1", "build"});
    EXPECT_EQ(built.exit_code, 0) << built.err;
    EXPECT_EQ(built.out, "built\n");

    auto waiting = sluice({"logs", "1", "deploy"});
    EXPECT_EQ(waiting.exit_code, 3) << waiting.out << waiting.err;
    EXPECT_EQ(waiting.out, "");
    EXPECT_NE(waiting.err.find("deploy has not started: it waits for 1 approval from "
                               "release-managers"),
              std::string::npos)
        << waiting.err;
    EXPECT_NE(waiting.err.find("sluice approve 1 deploy"), std::string::npos) << waiting.err;

    auto pending = sluice({"logs", "1", "smoke"});
    EXPECT_EQ(pending.exit_code, 3) << pending.out << pending.err;
    EXPECT_EQ(pending.out, "");
    EXPECT_NE(pending.err.find("smoke has not started yet"), std::string::npos) << pending.err;

    // Once the run is over, a stage that never ran is not something to wait for.
    ASSERT_EQ(sluice({"cancel", "1"}).exit_code, 0);
    auto never = sluice({"logs", "1", "smoke"});
    EXPECT_EQ(never.exit_code, 0) << never.out << never.err;
    EXPECT_NE(never.err.find("smoke did not run"), std::string::npos) << never.err;
}

TEST_F(CliMessages, ShellBuiltinsRunInTheShell) {
    dir_.write("sub/marker.txt", "here\n");
    dir_.write("sluice.yml",
               "name: builtins\nstages:\n"
               "  fails:\n    run: exit 3\n    allow_failure: true\n"
               "  into:\n    run: cd sub\n"
               "  noop:\n    run: \":\"\n"
               "  both:\n    run: cd sub && ls\n");
    auto r = sluice({"run", "--worktree"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    auto run = show(1);
    EXPECT_EQ(stage_of(run, "fails")["status"], "failed");
    EXPECT_EQ(stage_of(run, "fails")["exit_code"], 3);
    EXPECT_EQ(stage_of(run, "into")["status"], "passed");
    EXPECT_EQ(stage_of(run, "noop")["status"], "passed");
    EXPECT_EQ(stage_of(run, "both")["status"], "passed");
    EXPECT_EQ(sluice({"logs", "1", "both"}).out, "marker.txt\n");
    EXPECT_EQ(sluice({"logs", "1", "fails"}).out.find("command not found"), std::string::npos);

    dir_.write("sluice.yml", "name: builtins\nstages:\n  fails:\n    run: exit 1\n");
    auto one = sluice({"run", "--worktree"});
    EXPECT_EQ(one.exit_code, 1) << one.out << one.err;
    EXPECT_EQ(stage_of(show(2), "fails")["exit_code"], 1);
}

}  // namespace
}  // namespace sluice
