// Integration tests of what guards an environment, on real git repositories with the
// real binary: every write to a protected environment (moving its registry alias by
// hand, a deploy and its promotion, a rollback) needs that environment's own token
// (SLUICE_ENV_TOKEN_<ENV>, SLUICE_ENV_TOKEN_FILE_<ENV>, or the deprecated
// SLUICE_PROD_TOKEN for production), and an environment's `branches:` are checked
// against the branches that contain the run's commit, not against --branch.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "runner/git/repo_fixture_test_support.hpp"
#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"
#include "tests/run_json_support.hpp"

namespace sluice {
namespace {

using git::test_support::FixtureRepo;
using git::test_support::git;
using testing::CommandResult;
using Env = std::map<std::string, std::string>;

// train logs a candidate of `churn`; staging and production are deployed in turn, and
// production's deploy promotes the candidate to the `production` alias.
std::string pipeline_text(const std::string& log, const std::string& environments) {
    return "name: churn-model\n"
           "stages:\n"
           "  train:\n"
           "    run: |\n"
           "      printf '{\"f1\": %s}' \"$(cat f1.txt)\" > metrics.json\n"
           "    metrics: metrics.json\n"
           "  gate:\n"
           "    kind: gate\n"
           "    needs: [train]\n"
           "    model: churn\n"
           "    require: [\"f1 >= 0.5\"]\n"
           "  deploy-staging:\n"
           "    kind: deploy\n"
           "    environment: staging\n"
           "    needs: [gate]\n"
           "    run: echo staging $(cat f1.txt) >> " + log + "\n"
           "  deploy-production:\n"
           "    kind: deploy\n"
           "    environment: production\n"
           "    needs: [deploy-staging]\n"
           "    promote: {model: churn, alias: production}\n"
           "    run: echo production $(cat f1.txt) >> " + log + "\n"
           "environments:\n" + environments;
}

class ProtectedEnvironment : public ::testing::Test {
protected:
    ProtectedEnvironment() : repo_(dir_ / "project") {}
    void SetUp() override {
        write("  staging: {}\n  production: {}\n");
        repo_.write("f1.txt", "0.84");
        repo_.commit("first");
    }
    void write(const std::string& environments) {
        repo_.write("sluice.yml", pipeline_text(log().string(), environments));
    }
    std::filesystem::path log() const { return dir_ / "deployed.log"; }
    CommandResult sluice(std::vector<std::string> args, const Env& env = {}) {
        std::vector<std::string> argv = {testing::sluice_binary(), "--state",
                                         (dir_ / "state").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        auto e = git::test_support::git_env();
        e["USER"] = "carol";
        // Nothing of the test's own environment may count as a token.
        for (const char* name : {"SLUICE_PROD_TOKEN", "SLUICE_ENV_TOKEN_PRODUCTION",
                                 "SLUICE_ENV_TOKEN_STAGING", "SLUICE_ENV_TOKEN_FILE_PRODUCTION",
                                 "SLUICE_ENV_TOKEN_FILE_STAGING"}) {
            e[name] = "";
        }
        for (const auto& [k, v] : env) e[k] = v;
        return testing::run_command(argv, {repo_.dir(), e});
    }
    std::string protect(const std::string& environment) {
        auto r = sluice({"access", "protect", environment});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return r.out.substr(0, r.out.find('\n'));
    }
    nlohmann::json stage(int run, const std::string& name) {
        return testing::stage_in_show(sluice({"show", std::to_string(run), "--json"}).out, name);
    }
    // What `sluice registry alias churn ALIAS` prints ("" when the alias is not set).
    std::string alias(const std::string& name) {
        auto r = sluice({"registry", "alias", "churn", name});
        return r.exit_code == 0 ? r.out : "";
    }
    int deployments(const std::string& environment) {
        auto r = sluice({"env", "history", environment, "--json"});
        if (r.exit_code != 0) return 0;
        return static_cast<int>(nlohmann::json::parse(r.out).size());
    }
    testing::TempDir dir_;
    FixtureRepo repo_;
};

// A refusal names the environment and the variable to set, and says nothing changed.
void expect_refusal(const CommandResult& r, const std::string& environment,
                    const std::string& variable) {
    EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
    EXPECT_NE(r.err.find("environment " + environment + " is protected"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find(variable), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << r.err;
}

TEST_F(ProtectedEnvironment, MovingAProtectedAliasByHandNeedsThatEnvironmentsToken) {
    ASSERT_EQ(sluice({"run", "--only", "gate"}).exit_code, 0);  // candidate version 1
    std::string production = protect("production");
    std::string staging = protect("staging");

    auto none = sluice({"registry", "alias", "churn", "production", "1", "--reason", "x"});
    expect_refusal(none, "production", "SLUICE_ENV_TOKEN_PRODUCTION");
    EXPECT_EQ(alias("production"), "");
    auto other = sluice({"registry", "alias", "churn", "production", "1", "--reason", "x"},
                        {{"SLUICE_ENV_TOKEN_PRODUCTION", staging}});
    expect_refusal(other, "production", "SLUICE_ENV_TOKEN_PRODUCTION");
    EXPECT_NE(other.err.find("is not production's"), std::string::npos) << other.err;
    EXPECT_EQ(alias("production"), "");
    // Staging's token in staging's variable does not open production either.
    auto crossed = sluice({"registry", "alias", "churn", "production", "1", "--reason", "x"},
                          {{"SLUICE_ENV_TOKEN_STAGING", staging}});
    expect_refusal(crossed, "production", "SLUICE_ENV_TOKEN_PRODUCTION");
    EXPECT_EQ(alias("production"), "");

    auto right = sluice({"registry", "alias", "churn", "production", "1", "--reason", "x"},
                        {{"SLUICE_ENV_TOKEN_PRODUCTION", production}});
    EXPECT_EQ(right.exit_code, 0) << right.err;
    EXPECT_EQ(right.err, "");
    EXPECT_EQ(alias("production"), "churn@production = version 1\n");

    // An alias named after no protected environment needs nothing.
    auto free = sluice({"registry", "alias", "churn", "experiment", "1"});
    EXPECT_EQ(free.exit_code, 0) << free.err;
}

TEST_F(ProtectedEnvironment, TheTokenMayComeFromAFileOrTheOldVariableForProductionOnly) {
    ASSERT_EQ(sluice({"run", "--only", "gate"}).exit_code, 0);
    std::string production = protect("production");
    std::string staging = protect("staging");
    auto file = dir_ / "production.token";
    std::ofstream(file) << production << "\n";
    auto from_file = sluice({"registry", "alias", "churn", "production", "1"},
                            {{"SLUICE_ENV_TOKEN_FILE_PRODUCTION", file.string()}});
    EXPECT_EQ(from_file.exit_code, 0) << from_file.err;
    EXPECT_EQ(alias("production"), "churn@production = version 1\n");
    auto missing = sluice({"registry", "alias", "churn", "production", "1"},
                          {{"SLUICE_ENV_TOKEN_FILE_PRODUCTION", (dir_ / "nope").string()}});
    EXPECT_EQ(missing.exit_code, 2);
    EXPECT_NE(missing.err.find("SLUICE_ENV_TOKEN_FILE_PRODUCTION"), std::string::npos)
        << missing.err;

    auto old = sluice({"registry", "alias", "churn", "production", "1"},
                      {{"SLUICE_PROD_TOKEN", production}});
    EXPECT_EQ(old.exit_code, 0) << old.err;
    EXPECT_EQ(old.err,
              "sluice: warning: SLUICE_PROD_TOKEN is deprecated; set "
              "SLUICE_ENV_TOKEN_PRODUCTION instead\n");
    // The old variable is production's only: staging's token there opens nothing.
    auto old_staging = sluice({"registry", "alias", "churn", "staging", "1"},
                              {{"SLUICE_PROD_TOKEN", staging}});
    expect_refusal(old_staging, "staging", "SLUICE_ENV_TOKEN_STAGING");
    EXPECT_EQ(alias("staging"), "");
}

TEST_F(ProtectedEnvironment, ADeployAndItsPromotionNeedTheEnvironmentsOwnToken) {
    // `protected:` is not even in sluice.yml: the access file's token is what protects.
    std::string production = protect("production");
    std::string staging = protect("staging");
    Env staging_ok = {{"SLUICE_ENV_TOKEN_STAGING", staging}};

    auto none = sluice({"run"}, staging_ok);
    EXPECT_EQ(none.exit_code, 1) << none.out << none.err;
    auto refused = stage(1, "deploy-production");
    EXPECT_EQ(refused["status"], "failed");
    EXPECT_NE(refused["reason"].get<std::string>().find("SLUICE_ENV_TOKEN_PRODUCTION"),
              std::string::npos)
        << refused["reason"];
    EXPECT_EQ(testing::read_file(log()), "staging 0.84\n");
    EXPECT_EQ(alias("production"), "");
    EXPECT_EQ(deployments("production"), 0);

    Env crossed = staging_ok;
    crossed["SLUICE_ENV_TOKEN_PRODUCTION"] = staging;
    EXPECT_EQ(sluice({"run"}, crossed).exit_code, 1);
    EXPECT_EQ(stage(2, "deploy-production")["status"], "failed");
    EXPECT_EQ(alias("production"), "");
    EXPECT_EQ(deployments("production"), 0);

    Env right = staging_ok;
    right["SLUICE_ENV_TOKEN_PRODUCTION"] = production;
    auto deployed = sluice({"run"}, right);
    EXPECT_EQ(deployed.exit_code, 0) << deployed.out << deployed.err;
    EXPECT_EQ(alias("production"), "churn@production = version 3\n");
    EXPECT_EQ(deployments("production"), 1);

    Env old = staging_ok;
    old["SLUICE_PROD_TOKEN"] = production;
    auto with_old = sluice({"run"}, old);
    EXPECT_EQ(with_old.exit_code, 0) << with_old.out << with_old.err;
    EXPECT_NE(with_old.err.find("SLUICE_PROD_TOKEN is deprecated"), std::string::npos)
        << with_old.err;
    EXPECT_EQ(deployments("production"), 2);
}

TEST_F(ProtectedEnvironment, AnotherEnvironmentsPromotionCannotMoveAProtectedAlias) {
    // Staging is free, but its promotion would move production's alias.
    std::string text = pipeline_text(log().string(), "  staging: {}\n  production: {}\n");
    auto at = text.find("    run: echo staging");
    text.insert(at, "    promote: {model: churn, alias: production}\n");
    repo_.write("sluice.yml", text);
    repo_.commit("staging promotes");
    std::string production = protect("production");

    auto r = sluice({"run", "--only", "deploy-staging"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    auto s = stage(1, "deploy-staging");
    EXPECT_EQ(s["status"], "failed");
    EXPECT_NE(s["reason"].get<std::string>().find("SLUICE_ENV_TOKEN_PRODUCTION"),
              std::string::npos)
        << s["reason"];
    EXPECT_EQ(testing::read_file(log()), "");  // refused before it deployed
    EXPECT_EQ(alias("production"), "");
    EXPECT_EQ(deployments("staging"), 0);

    auto allowed = sluice({"run", "--only", "deploy-staging"},
                          {{"SLUICE_ENV_TOKEN_PRODUCTION", production}});
    EXPECT_EQ(allowed.exit_code, 0) << allowed.out << allowed.err;
    EXPECT_EQ(alias("production"), "churn@production = version 2\n");
}

TEST_F(ProtectedEnvironment, ARollbackNeedsTheEnvironmentsToken) {
    std::string production = protect("production");
    std::string staging = protect("staging");
    Env both = {{"SLUICE_ENV_TOKEN_STAGING", staging}, {"SLUICE_ENV_TOKEN_PRODUCTION", production}};
    ASSERT_EQ(sluice({"run"}, both).exit_code, 0);
    repo_.write("f1.txt", "0.90");
    repo_.commit("better");
    ASSERT_EQ(sluice({"run"}, both).exit_code, 0);
    ASSERT_EQ(alias("production"), "churn@production = version 2\n");

    auto none = sluice({"env", "rollback", "production"});
    expect_refusal(none, "production", "SLUICE_ENV_TOKEN_PRODUCTION");
    auto other = sluice({"env", "rollback", "production"},
                        {{"SLUICE_ENV_TOKEN_PRODUCTION", staging}});
    expect_refusal(other, "production", "SLUICE_ENV_TOKEN_PRODUCTION");
    EXPECT_EQ(alias("production"), "churn@production = version 2\n");
    EXPECT_EQ(deployments("production"), 2);
    auto runs = sluice({"runs", "--json"}).out;  // one line per run
    EXPECT_EQ(std::count(runs.begin(), runs.end(), '\n'), 2) << runs;  // no run was started

    auto right = sluice({"env", "rollback", "production"},
                        {{"SLUICE_ENV_TOKEN_PRODUCTION", production}});
    EXPECT_EQ(right.exit_code, 0) << right.out << right.err;
    EXPECT_EQ(alias("production"), "churn@production = version 1\n");
    EXPECT_EQ(deployments("production"), 3);
}

// Item 3: branch rules check the commit.
class BranchRule : public ProtectedEnvironment {
protected:
    void SetUp() override {
        write("  staging: {}\n  production:\n    branches: [main]\n");
        repo_.write("f1.txt", "0.84");
        repo_.commit("first");
    }
};

TEST_F(BranchRule, ACommitOnlyOnAFeatureBranchIsNotDeployedWhateverBranchTheRunClaims) {
    git(repo_.dir(), {"checkout", "-q", "-b", "feature/x"});
    repo_.write("f1.txt", "0.91");
    std::string sha = repo_.commit("feature work");
    git(repo_.dir(), {"checkout", "-q", "main"});

    auto r = sluice({"run", "--commit", "feature/x", "--event", "push", "--branch", "main"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    auto refused = stage(1, "deploy-production");
    EXPECT_EQ(refused["status"], "failed");
    EXPECT_EQ(refused["reason"], "environment production takes deployments from main only; "
                                 "commit " + sha.substr(0, 8) + " is on none of them");
    EXPECT_EQ(testing::read_file(log()), "staging 0.91\n");  // production: nothing deployed
    EXPECT_EQ(deployments("production"), 0);
    EXPECT_EQ(alias("production"), "");

    // Once merged into main, the same commit may go to production.
    git(repo_.dir(), {"merge", "-q", "--no-ff", "-m", "merge feature/x", "feature/x"});
    auto merged = sluice({"run", "--commit", sha, "--event", "push", "--branch", "main"});
    EXPECT_EQ(merged.exit_code, 0) << merged.out << merged.err;
    EXPECT_EQ(testing::read_file(log()), "staging 0.91\nstaging 0.91\nproduction 0.91\n");
    EXPECT_EQ(deployments("production"), 1);
}

TEST_F(BranchRule, UncommittedChangesAreNotDeployedToABranchRestrictedEnvironment) {
    repo_.write("f1.txt", "0.99");  // not committed
    auto dirty = sluice({"run", "--worktree"});
    EXPECT_EQ(dirty.exit_code, 1) << dirty.out << dirty.err;
    auto refused = stage(1, "deploy-production");
    EXPECT_EQ(refused["status"], "failed");
    EXPECT_NE(refused["reason"].get<std::string>().find("uncommitted changes"), std::string::npos)
        << refused["reason"];
    EXPECT_EQ(testing::read_file(log()), "staging 0.99\n");
    EXPECT_EQ(deployments("production"), 0);

    repo_.commit("commit it");
    auto clean = sluice({"run", "--worktree"});
    EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
    EXPECT_EQ(deployments("production"), 1);
}

}  // namespace
}  // namespace sluice
