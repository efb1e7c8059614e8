// Integration tests of sluice on real git repositories: runs of any revision checked out
// into a workspace (the user's tree untouched), --worktree, rules for events and changed
// files, --dry-run, resume of a checked-out run, and git hooks gating a real `git push`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runner/git/repo_fixture_test_support.hpp"
#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice {
namespace {

using git::test_support::FixtureRepo;
using git::test_support::git;
using git::test_support::git_env;
using testing::CommandResult;
using testing::run_command;
using testing::sluice_binary;

class GitRun : public ::testing::Test {
protected:
    GitRun() : repo_(dir_ / "project") {}

    CommandResult sluice(std::vector<std::string> args,
                         const std::filesystem::path& cwd = {}) {
        std::vector<std::string> argv = {sluice_binary(), "--state", state().string()};
        argv.insert(argv.end(), args.begin(), args.end());
        auto env = git_env();
        return run_command(argv, {cwd.empty() ? repo_.dir() : cwd, env});
    }
    std::filesystem::path state() const { return dir_ / "state"; }
    nlohmann::json show(int run) {
        auto r = sluice({"show", std::to_string(run), "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json{};
    }
    static nlohmann::json stage_of(const nlohmann::json& run, const std::string& name) {
        for (const auto& s : run["stages"]) {
            if (s["stage"] == name) return s;
        }
        ADD_FAILURE() << "no stage " << name;
        return {};
    }
    // A pipeline whose stage copies version.txt (as committed) out of the workspace.
    void commit_versions() {
        repo_.write("sluice.yml",
                    "name: versions\nstages:\n  read:\n    run: cp version.txt " +
                        (dir_ / "seen.txt").string() + "\n");
        for (const char* v : {"v1", "v2", "v3"}) {
            repo_.write("version.txt", std::string(v) + "\n");
            repo_.commit(std::string("version ") + v);
        }
    }
    std::string seen() const { return testing::read_file(dir_ / "seen.txt"); }

    testing::TempDir dir_;
    FixtureRepo repo_;
};

TEST_F(GitRun, RunsAnyRevisionAnyGitWouldAccept) {
    commit_versions();
    git(repo_.dir(), {"tag", "-a", "-m", "first", "release-1", "HEAD~2"});
    git(repo_.dir(), {"tag", "light", "HEAD~1"});
    git(repo_.dir(), {"branch", "old", "HEAD~2"});
    std::string first = repo_.rev("HEAD~2");

    struct Case {
        std::string rev;
        std::string version;
    };
    for (const Case& c : {Case{"HEAD", "v3\n"}, Case{"HEAD~2", "v1\n"}, Case{first, "v1\n"},
                          Case{first.substr(0, 7), "v1\n"}, Case{"release-1", "v1\n"},
                          Case{"light", "v2\n"}, Case{"old", "v1\n"}}) {
        auto r = sluice({"run", "--commit", c.rev});
        ASSERT_EQ(r.exit_code, 0) << c.rev << ": " << r.out << r.err;
        EXPECT_EQ(seen(), c.version) << c.rev;
    }
    auto run = show(5);  // `release-1`
    EXPECT_EQ(run["commit"], first);
    auto missing = sluice({"run", "--commit", "no-such-branch"});
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_NE(missing.err.find("no-such-branch"), std::string::npos) << missing.err;
}

TEST_F(GitRun, RemoteTrackingBranchOfAClone) {
    commit_versions();
    auto clone = dir_ / "clone";
    git(dir_.path(), {"clone", "-q", repo_.dir().string(), clone.string()});
    git(clone, {"reset", "-q", "--hard", "HEAD~1"});
    auto r = sluice({"run", "--commit", "origin/main"}, clone);
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(seen(), "v3\n");
}

TEST_F(GitRun, TheUsersTreeIndexHeadAndStashAreUntouched) {
    commit_versions();
    repo_.write("version.txt", "stashed\n");
    git(repo_.dir(), {"stash", "-q"});
    repo_.write("version.txt", "uncommitted\n");
    repo_.write("new-file.txt", "untracked\n");
    git(repo_.dir(), {"add", "new-file.txt"});
    auto status = [&] { return git(repo_.dir(), {"status", "--porcelain=v2", "--branch"}); };
    auto index = [&] { return testing::read_file(repo_.dir() / ".git" / "index"); };
    auto before = std::make_tuple(status(), index(), repo_.head(), git(repo_.dir(), {"stash", "list"}));

    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(seen(), "v3\n") << "the committed file, not the uncommitted one";
    EXPECT_NE(r.err.find("2 uncommitted changes left out"), std::string::npos) << r.err;

    auto after = std::make_tuple(status(), index(), repo_.head(), git(repo_.dir(), {"stash", "list"}));
    EXPECT_EQ(before, after);

    auto w = sluice({"run", "--worktree"});
    ASSERT_EQ(w.exit_code, 0) << w.out << w.err;
    EXPECT_EQ(seen(), "uncommitted\n");
}

TEST_F(GitRun, OnRulesDecideWhetherAnEventStartsARun) {
    repo_.write("sluice.yml", R"(name: rules
on:
  push: { branches: [main, "feature/*"] }
stages:
  build: { run: "true" }
)");
    repo_.commit("pipeline");
    auto no = sluice({"run", "--event", "push", "--branch", "wip"});
    EXPECT_EQ(no.exit_code, 0) << no.err;
    EXPECT_NE(no.err.find("not running"), std::string::npos) << no.err;
    EXPECT_NE(no.err.find("wip"), std::string::npos) << no.err;
    auto runs = sluice({"runs", "--json"});
    EXPECT_EQ(runs.out, "") << "no run is recorded when the rules say no";
    auto yes = sluice({"run", "--event", "push", "--branch", "feature/x"});
    EXPECT_EQ(yes.exit_code, 0) << yes.out << yes.err;
    EXPECT_EQ(show(1)["event"], "push");
    EXPECT_EQ(show(1)["branch"], "feature/x");
}

TEST_F(GitRun, ChangesRulesOnPushAndMergeRequestDiffs) {
    repo_.write("sluice.yml", R"(name: changes
stages:
  service:
    when: { changes: ["service/**"] }
    run: "true"
  model:
    when: { changes: ["model/**", data.csv] }
    run: "true"
)");
    repo_.write("service/app.py", "a\n");
    repo_.write("model/train.py", "a\n");
    std::string base = repo_.commit("base");
    git(repo_.dir(), {"checkout", "-q", "-b", "feature"});
    repo_.write("service/app.py", "b\n");
    repo_.commit("service only");

    auto r = sluice({"run", "--event", "push", "--before", base});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto run = show(1);
    EXPECT_EQ(stage_of(run, "service")["status"], "passed");
    EXPECT_EQ(stage_of(run, "model")["status"], "skipped");
    EXPECT_NE(stage_of(run, "model")["reason"].get<std::string>().find("model/**"),
              std::string::npos);

    // A merge request compares with the merge base of its target.
    git(repo_.dir(), {"checkout", "-q", "main"});
    repo_.write("model/train.py", "b\n");
    repo_.commit("model on main");
    git(repo_.dir(), {"checkout", "-q", "feature"});
    auto mr = sluice({"run", "--event", "merge_request", "--target", "main", "--dry-run"});
    ASSERT_EQ(mr.exit_code, 0) << mr.err;
    EXPECT_NE(mr.out.find("service: runs"), std::string::npos) << mr.out;
    EXPECT_NE(mr.out.find("model: skipped"), std::string::npos)
        << "main's own change to model/ is not the merge request's: " << mr.out;
    EXPECT_EQ(sluice({"runs", "--json"}).out.find("\"id\":2"), std::string::npos)
        << "--dry-run records no run";
}

TEST_F(GitRun, ResumeOfACheckedOutRunUsesTheSameCommit) {
    repo_.write("sluice.yml", "name: r\nstages:\n  a:\n    run: cp version.txt " +
                                  (dir_ / "seen.txt").string() + "\n  b:\n    needs: [a]\n    run: test -f " +
                                  (dir_ / "go").string() + "\n");
    repo_.write("version.txt", "v1\n");
    repo_.commit("one");
    ASSERT_EQ(sluice({"run"}).exit_code, 1);
    repo_.write("version.txt", "v2\n");
    repo_.commit("two");
    std::ofstream(dir_ / "go") << "";
    std::filesystem::remove(dir_ / "seen.txt");
    auto r = sluice({"resume", "1"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "seen.txt")) << "a passed: not run again";
    EXPECT_EQ(stage_of(show(1), "b")["status"], "passed");
}

TEST_F(GitRun, PrePushHookBlocksAFailingPipelineAndLetsAPassingOneThrough) {
    auto remote = dir_ / "remote.git";
    git(dir_.path(), {"init", "-q", "--bare", remote.string()});
    repo_.write("sluice.yml", "name: gate\nstages:\n  check:\n    run: test -f ok\n");
    repo_.commit("failing pipeline");
    git(repo_.dir(), {"remote", "add", "origin", remote.string()});
    auto install = sluice({"hooks", "install"});
    ASSERT_EQ(install.exit_code, 0) << install.out << install.err;

    auto push = [&] {
        std::vector<std::string> argv{"git", "push", "-q", "origin", "main"};
        auto env = git_env();
        env["SLUICE_HOME"] = state().string();
        return run_command(argv, {repo_.dir(), env});
    };
    auto blocked = push();
    EXPECT_NE(blocked.exit_code, 0) << blocked.err;
    EXPECT_NE(blocked.err.find("push blocked"), std::string::npos) << blocked.err;
    EXPECT_EQ(run_command({"git", "--git-dir", remote.string(), "rev-parse", "--verify", "-q",
                           "refs/heads/main"})
                  .exit_code,
              1)
        << "the remote did not get the branch";

    repo_.write("ok", "");
    std::string good = repo_.commit("passing pipeline");
    auto allowed = push();
    EXPECT_EQ(allowed.exit_code, 0) << allowed.err;
    EXPECT_EQ(git(dir_.path(), {"--git-dir", remote.string(), "rev-parse", "refs/heads/main"}), good);
    EXPECT_EQ(git(repo_.dir(), {"status", "--porcelain"}), "") << "the state dir stays out of git";

    auto uninstall = sluice({"hooks", "uninstall"});
    EXPECT_EQ(uninstall.exit_code, 0) << uninstall.err;
    EXPECT_FALSE(std::filesystem::exists(repo_.dir() / ".git" / "hooks" / "pre-push"));
}

TEST_F(GitRun, GcRemovesWorkspacesBeyondThePolicy) {
    commit_versions();
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    ASSERT_TRUE(std::filesystem::exists(state() / "workspaces"));
    auto gc = sluice({"gc", "--keep", "0", "--max-age", "0"});
    EXPECT_EQ(gc.exit_code, 0) << gc.err;
    EXPECT_NE(gc.out.find("removed 1"), std::string::npos) << gc.out;
    EXPECT_EQ(sluice({"gc", "--max-age", "soon"}).exit_code, 2);
}

}  // namespace
}  // namespace sluice

namespace sluice {
namespace {

// The stage cache on commits checked out into workspaces: a commit that changes only
// the service's code does not retrain; one that changes the training code does.
TEST_F(GitRun, ACommitThatChangesOnlyTheServiceDoesNotRetrain) {
    auto log = dir_ / "trained.log";
    repo_.write("sluice.yml", "name: model\nstages:\n  train:\n    run: cat model/*.py > model.bin && "
                              "echo trained >> " + log.string() +
                              "\n    inputs: [\"model/*.py\"]\n    outputs: [model.bin]\n"
                              "  serve:\n    needs: [train]\n    run: cat service/app.py model.bin\n");
    repo_.write("model/train.py", "fit()\n");
    repo_.write("service/app.py", "serve()\n");
    repo_.commit("model and service");
    ASSERT_EQ(sluice({"run"}).exit_code, 0);

    repo_.write("service/app.py", "serve(faster)\n");
    repo_.commit("only the service");
    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto run = show(2);
    EXPECT_EQ(stage_of(run, "train")["status"], "cached");
    EXPECT_EQ(stage_of(run, "serve")["status"], "passed");
    EXPECT_NE(r.out.find("[serve] fit()"), std::string::npos) << r.out;  // model.bin restored
    EXPECT_EQ(testing::read_file(log), "trained\n");

    repo_.write("model/train.py", "fit(better)\n");
    repo_.commit("the training code");
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    EXPECT_EQ(stage_of(show(3), "train")["status"], "passed");
    EXPECT_EQ(testing::read_file(log), "trained\ntrained\n");
}

}  // namespace
}  // namespace sluice
