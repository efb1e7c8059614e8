// The installed hooks under a real git: `git push` to a local bare remote is blocked by
// a failing pipeline and allowed by a passing one, SLUICE_SKIP bypasses, the chained
// hook gets its arguments and stdin, and post-commit/post-merge run (or start in the
// background). sluice is a fake that logs its arguments, so they can be checked exactly.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "runner/hooks/hooks_test_support.hpp"
#include "runner/hooks/install.hpp"

namespace sluice::hooks {
namespace {

using test::Git;
using testing::read_file;
using Args = std::vector<std::string>;

class PushTest : public ::testing::Test {
  protected:
    void SetUp() override {
        test::clean_process_env();
        git_.ok(tmp_.path(), {"init", "-q", "--bare", "-b", "main", "remote.git"});
        git_.ok(tmp_.path(), {"init", "-q", "-b", "main", "work"});
        git_.ok(work(), {"remote", "add", "origin", remote().string()});
        tmp_.write("work/sluice.yml", "name: t\nstages:\n  a: {run: \"true\"}\n");
        tmp_.write("work/train.py", "print('v1')\n");
        commit("first");
        git_.ok(work(), {"push", "-q", "origin", "main"});  // no hook yet
    }

    fs::path work() const { return tmp_ / "work"; }
    fs::path remote() const { return tmp_ / "remote.git"; }

    std::string commit(const std::string& message, const fs::path& dir = {}) {
        const fs::path where = dir.empty() ? work() : dir;
        git_.ok(where, {"add", "-A"});
        git_.ok(where, {"commit", "-q", "--allow-empty", "-m", message});
        return head(where);
    }
    std::string head(const fs::path& dir) const { return git_.ok(dir, {"rev-parse", "HEAD"}); }
    std::string remote_ref(const std::string& ref) const {
        auto r = git_.run(remote(), {"rev-parse", "-q", "--verify", ref});
        while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
        return r.out;
    }
    std::string short_sha(const std::string& sha) const {
        return git_.ok(work(), {"rev-parse", "--short", sha});
    }

    // With the fake sluice; post_commit, post_merge and async as given.
    static InstallOptions with(bool post_commit, bool post_merge = false, bool async = false) {
        InstallOptions options;
        options.post_commit = post_commit;
        options.post_merge = post_merge;
        options.async = async;
        return options;
    }

    void install_hooks(InstallOptions extra = {}, const fs::path& dir = {}) {
        extra.sluice_path = fake_.path();
        auto report = install(dir.empty() ? work() : dir, extra);
        ASSERT_TRUE(report.has_value()) << report.error().message;
    }

    testing::CommandResult push(std::vector<std::string> args,
                                std::map<std::string, std::string> env = {},
                                const fs::path& dir = {}) {
        args.insert(args.begin(), "push");
        return git_.run(dir.empty() ? work() : dir, args, env);
    }

    testing::TempDir tmp_;
    Git git_{tmp_ / "home"};
    test::FakeSluice fake_{tmp_.path()};
};

TEST_F(PushTest, PassingPipelineAllowsThePushWithExactlyTheseArguments) {
    install_hooks();
    const std::string old = head(work());
    tmp_.write("work/train.py", "print('v2')\n");
    const std::string sha = commit("second");
    auto r = push({"origin", "main"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(remote_ref("refs/heads/main"), sha);
    ASSERT_EQ(fake_.calls().size(), 1u);
    EXPECT_EQ(fake_.args(0),
              (Args{"run", "--event", "push", "--branch", "main", "--commit", sha, "--before", old,
                    "--trigger", "hook", "--id-file", "<ID_FILE>"}));
    EXPECT_EQ(fake_.cwd(0), work().string());
    EXPECT_EQ(fake_.git_dir(0), "unset");
    // sluice's output reaches the terminal (stderr).
    EXPECT_NE(r.err.find("fake sluice: running the pipeline"), std::string::npos) << r.err;
}

TEST_F(PushTest, FailingPipelineBlocksThePush) {
    install_hooks();
    const std::string old = head(work());
    const std::string sha = commit("broken");
    fake_.exit_with(1);
    auto r = push({"origin", "main"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(remote_ref("refs/heads/main"), old);
    EXPECT_NE(r.err.find("sluice: the pipeline failed for refs/heads/main at " + short_sha(sha) +
                         " — push blocked. See `sluice show 42`; SLUICE_SKIP=1 git push to "
                         "bypass."),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("failed to push some refs"), std::string::npos) << r.err;

    // Fixed: the same push goes through.
    fake_.exit_with(0);
    r = push({"origin", "main"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(remote_ref("refs/heads/main"), sha);
}

TEST_F(PushTest, PipelineThatCannotStartBlocksWithoutARunId) {
    install_hooks();
    const std::string old = head(work());
    const std::string sha = commit("bad yaml");
    fake_.exit_with(2);
    std::ofstream(fake_.bin() / "no-id") << "";
    auto r = push({"origin", "main"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(remote_ref("refs/heads/main"), old);
    EXPECT_NE(r.err.find("sluice: the pipeline could not run for refs/heads/main at " +
                         short_sha(sha) + " (exit 2) — push blocked."),
              std::string::npos)
        << r.err;
}

TEST_F(PushTest, WaitingForAnApprovalAllowsThePush) {
    install_hooks();
    const std::string sha = commit("deploy");
    fake_.exit_with(3);
    auto r = push({"origin", "main"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(remote_ref("refs/heads/main"), sha);
    EXPECT_NE(r.err.find("is waiting for an approval; push allowed"), std::string::npos) << r.err;
}

TEST_F(PushTest, SluiceSkipBypassesAndSaysSo) {
    install_hooks();
    const std::string sha = commit("wip");
    fake_.exit_with(1);
    auto r = push({"origin", "main"}, {{"SLUICE_SKIP", "1"}});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(remote_ref("refs/heads/main"), sha);
    EXPECT_NE(r.err.find("sluice: SLUICE_SKIP=1, not running the pipeline for this push"),
              std::string::npos)
        << r.err;
    EXPECT_TRUE(fake_.calls().empty());
}

TEST_F(PushTest, NewBranchHasNoBeforeAndDeletionRunsNothing) {
    install_hooks();
    git_.ok(work(), {"switch", "-q", "-c", "feature/x"});
    const std::string sha = commit("feature");
    auto r = push({"origin", "feature/x"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(fake_.calls().size(), 1u);
    EXPECT_EQ(fake_.args(0), (Args{"run", "--event", "push", "--branch", "feature/x", "--commit",
                                   sha, "--trigger", "hook", "--id-file", "<ID_FILE>"}));
    fake_.exit_with(1);
    r = push({"origin", "--delete", "feature/x"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(remote_ref("refs/heads/feature/x"), "");
    EXPECT_EQ(fake_.calls().size(), 1u);
}

TEST_F(PushTest, PushingToAnotherRemoteBranchUsesTheDestinationName) {
    install_hooks();
    const std::string sha = commit("x");
    auto r = push({"origin", "HEAD:refs/heads/release/1.0"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(fake_.calls().size(), 1u);
    auto args = fake_.args(0);
    ASSERT_GE(args.size(), 5u);
    EXPECT_EQ(args[3], "--branch");
    EXPECT_EQ(args[4], "release/1.0");
}

TEST_F(PushTest, AnnotatedTagPushRunsOnTheTaggedCommit) {
    install_hooks();
    const std::string sha = commit("release");
    git_.ok(work(), {"tag", "-a", "-m", "v1", "v1.0"});
    auto r = push({"origin", "v1.0"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    ASSERT_EQ(fake_.calls().size(), 1u);
    EXPECT_EQ(fake_.args(0), (Args{"run", "--event", "push", "--tag", "v1.0", "--commit", sha,
                                   "--trigger", "hook", "--id-file", "<ID_FILE>"}));
}

TEST_F(PushTest, SeveralRefsRunEachAndTheFirstFailureBlocksAll) {
    install_hooks();
    git_.ok(work(), {"branch", "develop"});
    commit("main moves");
    auto r = push({"origin", "main", "develop"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(fake_.calls().size(), 2u);

    commit("again");
    git_.ok(work(), {"switch", "-q", "develop"});
    commit("develop moves");
    const std::string develop_before = remote_ref("refs/heads/develop");
    fake_.exit_with(1);
    r = push({"origin", "main", "develop"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(fake_.calls().size(), 3u);  // stopped at the first failure
    EXPECT_EQ(remote_ref("refs/heads/develop"), develop_before);
}

TEST_F(PushTest, CommitWithoutAPipelineFileRunsNothing) {
    install_hooks();
    git_.ok(work(), {"rm", "-q", "sluice.yml"});
    const std::string sha = commit("no pipeline");
    fake_.exit_with(1);
    auto r = push({"origin", "main"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(remote_ref("refs/heads/main"), sha);
    EXPECT_TRUE(fake_.calls().empty());
}

TEST_F(PushTest, ChainedHookGetsItsArgumentsAndStdinAndRunsFirst) {
    const auto hook = work() / ".git" / "hooks" / "pre-push";
    tmp_.write("work/.git/hooks/pre-push",
               "#!/bin/sh\n"
               "printf '%s|%s\\n' \"$1\" \"$2\" > \"" +
                   (tmp_ / "chained.args").string() +
                   "\"\n"
                   "cat > \"" +
                   (tmp_ / "chained.stdin").string() +
                   "\"\n"
                   "exit \"$(cat \"" +
                   (tmp_ / "chained.exit").string() + "\" 2>/dev/null || echo 0)\"\n");
    fs::permissions(hook, fs::perms(0755));
    install_hooks();
    const std::string old = head(work());
    const std::string sha = commit("chained");
    auto r = push({"origin", "main"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(tmp_ / "chained.args"), "origin|" + remote().string() + "\n");
    EXPECT_EQ(read_file(tmp_ / "chained.stdin"),
              "refs/heads/main " + sha + " refs/heads/main " + old + "\n");
    EXPECT_EQ(fake_.calls().size(), 1u);

    // The chained hook fails: the push is blocked and the pipeline does not run.
    commit("next");
    std::ofstream(tmp_ / "chained.exit") << "7\n";
    r = push({"origin", "main"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("sluice: the chained hook pre-push.sluice-chained failed (exit 7)"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(remote_ref("refs/heads/main"), sha);
    EXPECT_EQ(fake_.calls().size(), 1u);

    // SLUICE_SKIP skips the pipeline, not the hook that was there before.
    r = push({"origin", "main"}, {{"SLUICE_SKIP", "1"}});
    EXPECT_NE(r.exit_code, 0);
}

TEST_F(PushTest, FromALinkedWorktree) {
    git_.ok(work(), {"worktree", "add", "-q", "-b", "topic", (tmp_ / "wt").string()});
    install_hooks({}, tmp_ / "wt");
    const std::string sha = commit("in the worktree", tmp_ / "wt");
    fake_.exit_with(1);
    auto r = push({"origin", "topic"}, {}, tmp_ / "wt");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_EQ(remote_ref("refs/heads/topic"), "");
    ASSERT_EQ(fake_.calls().size(), 1u);
    EXPECT_EQ(fake_.cwd(0), (tmp_ / "wt").string());
    EXPECT_EQ(fake_.git_dir(0), "unset");
    auto args = fake_.args(0);
    EXPECT_EQ(args, (Args{"run", "--event", "push", "--branch", "topic", "--commit", sha,
                          "--trigger", "hook", "--id-file", "<ID_FILE>"}));
    // The main work tree pushes through the same (shared) hook.
    fake_.exit_with(0);
    commit("main");
    EXPECT_EQ(push({"origin", "main"}).exit_code, 0);
    EXPECT_EQ(fake_.cwd(1), work().string());
}

TEST_F(PushTest, CoreHooksPathIsHonouredByGitAndByInstall) {
    git_.ok(work(), {"config", "core.hooksPath", ".githooks"});
    install_hooks();
    ASSERT_TRUE(fs::exists(work() / ".githooks" / "pre-push"));
    const std::string old = head(work());
    commit("x");
    fake_.exit_with(1);
    auto r = push({"origin", "main"});
    EXPECT_NE(r.exit_code, 0) << r.err;
    EXPECT_EQ(remote_ref("refs/heads/main"), old);
    EXPECT_EQ(fake_.calls().size(), 1u);
}

TEST_F(PushTest, UninstallLetsPushesThroughAgain) {
    install_hooks();
    ASSERT_TRUE(uninstall(work()).has_value());
    const std::string sha = commit("x");
    fake_.exit_with(1);
    EXPECT_EQ(push({"origin", "main"}).exit_code, 0);
    EXPECT_EQ(remote_ref("refs/heads/main"), sha);
    EXPECT_TRUE(fake_.calls().empty());
}

TEST_F(PushTest, PostCommitRunsThePipelineForTheNewCommit) {
    install_hooks(with(true));
    const std::string parent = head(work());
    auto r = git_.run(work(), {"commit", "-q", "--allow-empty", "-m", "c"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string sha = head(work());
    ASSERT_EQ(fake_.calls().size(), 1u);
    EXPECT_EQ(fake_.args(0), (Args{"run", "--event", "push", "--branch", "main", "--commit", sha,
                                   "--before", parent, "--trigger", "hook"}));
    EXPECT_EQ(fake_.cwd(0), work().string());

    // A detached HEAD (as in a rebase) has no branch: nothing runs.
    git_.ok(work(), {"switch", "-q", "--detach"});
    git_.ok(work(), {"commit", "-q", "--allow-empty", "-m", "detached"});
    EXPECT_EQ(fake_.calls().size(), 1u);
    git_.ok(work(), {"switch", "-q", "main"});

    git_.ok(work(), {"commit", "-q", "--allow-empty", "-m", "skipped"}, {{"SLUICE_SKIP", "1"}});
    EXPECT_EQ(fake_.calls().size(), 1u);
}

TEST_F(PushTest, PostMergeComparesWithTheCommitBeforeTheMerge) {
    install_hooks(with(false, true));
    git_.ok(work(), {"switch", "-q", "-c", "feature"});
    tmp_.write("work/feature.txt", "f\n");
    commit("feature");
    git_.ok(work(), {"switch", "-q", "main"});
    tmp_.write("work/main.txt", "m\n");
    const std::string before = commit("main");
    git_.ok(work(), {"merge", "-q", "--no-edit", "feature"});
    const std::string merged = head(work());
    ASSERT_EQ(fake_.calls().size(), 1u);
    EXPECT_EQ(fake_.args(0), (Args{"run", "--event", "push", "--branch", "main", "--commit", merged,
                                   "--before", before, "--trigger", "hook"}));
}

TEST_F(PushTest, AsyncPostCommitReturnsAtOnceAndLogsToTheStateDirectory) {
    install_hooks(with(true, false, true));
    std::ofstream(fake_.bin() / "sleep") << "3\n";
    const auto start = std::chrono::steady_clock::now();
    auto r = git_.run(work(), {"commit", "-q", "--allow-empty", "-m", "async"});
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_LT(took, std::chrono::milliseconds(2500)) << "git commit waited for the pipeline";
    EXPECT_NE(r.err.find("in the background; log: " + (work() / ".sluice" / "hooks").string()),
              std::string::npos)
        << r.err;
    EXPECT_FALSE(fs::exists(fake_.bin() / "done"));

    for (int i = 0; i < 100 && !fs::exists(fake_.bin() / "done"); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_TRUE(fs::exists(fake_.bin() / "done"));
    std::vector<fs::path> logs;
    for (const auto& e : fs::directory_iterator(work() / ".sluice" / "hooks"))
        logs.push_back(e.path());
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(logs[0].extension(), ".log");
    EXPECT_NE(logs[0].filename().string().find("-post-commit-"), std::string::npos);
    for (int i = 0; i < 50 && read_file(logs[0]).empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_NE(read_file(logs[0]).find("fake sluice: running the pipeline"), std::string::npos);
    ASSERT_EQ(fake_.calls().size(), 1u);
    EXPECT_EQ(fake_.args(0)[4], "main");
    // The state directory stays out of `git status`.
    EXPECT_NE(read_file(work() / ".git" / "info" / "exclude").find("\n/.sluice/\n"),
              std::string::npos);
    EXPECT_EQ(git_.ok(work(), {"status", "--porcelain"}), "");
}

TEST_F(PushTest, AsyncPostCommitHonoursSluiceHome) {
    install_hooks(with(true, false, true));
    auto r = git_.run(work(), {"commit", "-q", "--allow-empty", "-m", "async"},
                      {{"SLUICE_HOME", (tmp_ / "state").string()}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (int i = 0; i < 50 && fake_.calls().empty(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_TRUE(fs::exists(tmp_ / "state" / "hooks"));
    EXPECT_FALSE(fs::exists(work() / ".sluice"));
}

}  // namespace
}  // namespace sluice::hooks
