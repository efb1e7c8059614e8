// Integration tests of deployments on real git repositories: `kind: deploy` stages
// to declared environments (branch rules, approval policy, protected environments),
// the environments' history, and `promote:` moving the registry alias to the run's
// candidate once the approved deploy passed.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "runner/git/repo_fixture_test_support.hpp"
#include "runner/testing/command.hpp"
#include "tests/run_json_support.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice {
namespace {

using git::test_support::FixtureRepo;
using git::test_support::git;
using testing::CommandResult;

constexpr const char* k_pipeline = R"yml(name: churn-model
stages:
  train:
    run: |
      printf '{"f1": %s}' "$(cat f1.txt)" > metrics.json
    metrics: metrics.json
  gate:
    kind: gate
    needs: [train]
    model: churn
    require: ["f1 >= champion.f1 - 0.01"]
  deploy-staging:
    kind: deploy
    environment: staging
    needs: [gate]
    run: echo staging >> )yml";

class Deploy : public ::testing::Test {
protected:
    Deploy() : repo_(dir_ / "project") {}
    void SetUp() override {
        write(false);
        repo_.write("f1.txt", "0.84");
        repo_.commit("first");
        ASSERT_EQ(sluice({"access", "add-user", "ann", "--group", "release-managers"}).exit_code, 0);
        auto t = sluice({"access", "add-token", "ann"});
        token_ = t.out.substr(0, t.out.find('\n'));
    }
    void write(bool protect) {
        std::string log = (dir_ / "deployed.log").string();
        repo_.write("sluice.yml",
                    std::string(k_pipeline) + log + "\n" +
                        "  deploy-production:\n    kind: deploy\n    environment: production\n"
                        "    needs: [deploy-staging]\n    promote: {model: churn, alias: production}\n"
                        "    run: echo production $(cat f1.txt) >> " + log + "\n" +
                        "environments:\n  staging: {}\n  production:\n    branches: [main]\n" +
                        (protect ? "    protected: true\n" : "") +
                        "    approval: {approvers: [release-managers]}\n");
    }
    CommandResult sluice(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
        std::vector<std::string> argv = {testing::sluice_binary(), "--state",
                                         (dir_ / "state").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        auto e = git::test_support::git_env();
        e["USER"] = "carol";
        e["SLUICE_PROD_TOKEN"] = "";
        for (auto& [k, v] : env) e[k] = v;
        return testing::run_command(argv, {repo_.dir(), e});
    }
    CommandResult approve(int run, std::map<std::string, std::string> env = {}) {
        return sluice({"approve", std::to_string(run), "deploy-production", "--token", token_},
                      std::move(env));
    }
    nlohmann::json stage(int run, const std::string& name) {
        return testing::stage_in_show(sluice({"show", std::to_string(run), "--json"}).out, name);
    }
    testing::TempDir dir_;
    FixtureRepo repo_;
    std::string token_;
};

TEST_F(Deploy, AnApprovedDeployIsRecordedAndPromotesTheCandidate) {
    auto first = sluice({"run"});
    ASSERT_EQ(first.exit_code, 3) << first.out << first.err;  // production waits (its policy)
    EXPECT_EQ(testing::read_file(dir_ / "deployed.log"), "staging\n");
    auto approved = approve(1);
    ASSERT_EQ(approved.exit_code, 0) << approved.out << approved.err;
    EXPECT_EQ(testing::read_file(dir_ / "deployed.log"), "staging\nproduction 0.84\n");
    auto promotion = stage(1, "deploy-production")["report"]["promotion"];
    EXPECT_EQ(promotion["version"], "1");
    EXPECT_FALSE(promotion.contains("from"));
    EXPECT_EQ(sluice({"registry", "alias", "churn", "production"}).out,
              "churn@production = version 1\n");

    auto history = sluice({"env", "history", "production", "--json"});
    ASSERT_EQ(history.exit_code, 0) << history.err;
    auto h = nlohmann::json::parse(history.out);
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0]["run"], 1);
    EXPECT_EQ(h[0]["model_version"], "1");
    EXPECT_EQ(h[0]["approved_by"], nlohmann::json::array({"ann"}));
    EXPECT_EQ(h[0]["branch"], "main");
    EXPECT_EQ(h[0]["commit"].get<std::string>().size(), 40u);
    // Staging promotes nothing, yet its history names the model version the run logged.
    auto staging = nlohmann::json::parse(sluice({"env", "history", "staging", "--json"}).out);
    ASSERT_EQ(staging.size(), 1u);
    EXPECT_EQ(staging[0]["model"], "churn");
    EXPECT_EQ(staging[0]["model_version"], "1");

    // The next candidate is compared with the champion production now serves.
    repo_.write("f1.txt", "0.80");
    repo_.commit("worse");
    auto worse = sluice({"run"});
    EXPECT_EQ(worse.exit_code, 1) << worse.out;
    EXPECT_EQ(stage(2, "gate")["report"]["champion"]["version"], "1");
    repo_.write("f1.txt", "0.90");
    repo_.commit("better");
    ASSERT_EQ(sluice({"run"}).exit_code, 3);
    ASSERT_EQ(approve(3).exit_code, 0);
    EXPECT_EQ(stage(3, "deploy-production")["report"]["promotion"]["from"], "1");
    EXPECT_EQ(sluice({"registry", "alias", "churn", "production"}).out,
              "churn@production = version 3\n");  // the previous champion stays in the history
    auto list = sluice({"env", "list", "--json"});
    auto envs = nlohmann::json::parse(list.out);
    ASSERT_EQ(envs.size(), 2u);
    EXPECT_EQ(envs[0]["environment"], "production");
    EXPECT_EQ(envs[0]["last"]["run"], 3);

    // Rollback: the previous good deployment (run 1) again, after the same approval.
    auto back = sluice({"env", "rollback", "production"});
    EXPECT_EQ(back.exit_code, 3) << back.out << back.err;
    EXPECT_NE(back.out.find("rolling production back to the deployment of run 1"),
              std::string::npos)
        << back.out;
    auto approved_back = approve(4);
    ASSERT_EQ(approved_back.exit_code, 0) << approved_back.out << approved_back.err;
    // Run 1's commit was deployed again (its f1.txt), and nothing before it re-ran.
    EXPECT_EQ(testing::read_file(dir_ / "deployed.log"),
              "staging\nproduction 0.84\nstaging\nproduction 0.90\nproduction 0.84\n");
    EXPECT_EQ(stage(4, "train")["status"], "skipped");
    EXPECT_EQ(sluice({"registry", "alias", "churn", "production"}).out,
              "churn@production = version 1\n");
    auto after = nlohmann::json::parse(sluice({"env", "history", "production", "--json"}).out);
    ASSERT_EQ(after.size(), 3u);
    EXPECT_EQ(after[0]["run"], 4);
    EXPECT_EQ(after[0]["model_version"], "1");
    EXPECT_EQ(after[0]["reason"], "rollback to the deployment of run 1");
    EXPECT_EQ(stage(4, "deploy-production")["report"]["promotion"]["from"], "3");
}

TEST_F(Deploy, NothingToRollBackToIsAClearError) {
    auto r = sluice({"env", "rollback", "production"});
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_EQ(r.err,
              "sluice: no earlier good deployment of production to roll back to (see `sluice env "
              "history production`)\n");
}

TEST_F(Deploy, ADeployFromAnotherBranchIsRefused) {
    git(repo_.dir(), {"checkout", "-q", "-b", "feature/x"});
    std::string sha = repo_.commit("on feature/x only");  // main's tip would qualify
    ASSERT_EQ(sluice({"run"}).exit_code, 3);
    auto r = approve(1);
    EXPECT_EQ(r.exit_code, 1) << r.out;
    auto deploy = stage(1, "deploy-production");
    EXPECT_EQ(deploy["status"], "failed");
    EXPECT_EQ(deploy["reason"],
              "environment production takes deployments from main only; commit " +
                  sha.substr(0, 8) + " is on none of them");
    EXPECT_EQ(testing::read_file(dir_ / "deployed.log"), "staging\n");
    EXPECT_EQ(sluice({"registry", "alias", "churn", "production"}).exit_code, 2);  // not moved
}

TEST_F(Deploy, AProtectedEnvironmentNeedsItsToken) {
    write(true);
    repo_.commit("protect production");
    ASSERT_EQ(sluice({"run"}).exit_code, 3);
    // Protected, but no token exists yet: nothing is written.
    auto none = approve(1);
    EXPECT_EQ(none.exit_code, 1);
    EXPECT_NE(stage(1, "deploy-production")["reason"].get<std::string>().find(
                  "is protected but has no token yet"),
              std::string::npos);

    auto protect = sluice({"access", "protect", "production"});
    ASSERT_EQ(protect.exit_code, 0) << protect.err;
    std::string prod_token = protect.out.substr(0, protect.out.find('\n'));
    ASSERT_EQ(sluice({"run"}).exit_code, 3);
    auto wrong = approve(2, {{"SLUICE_PROD_TOKEN", "slc_env_" + std::string(64, '0')}});
    EXPECT_EQ(wrong.exit_code, 1);
    EXPECT_EQ(stage(2, "deploy-production")["status"], "failed");
    ASSERT_EQ(sluice({"run"}).exit_code, 3);
    auto right = approve(3, {{"SLUICE_PROD_TOKEN", prod_token}});
    EXPECT_EQ(right.exit_code, 0) << right.out << right.err;
    EXPECT_EQ(testing::read_file(dir_ / "deployed.log"),
              "staging\nstaging\nstaging\nproduction 0.84\n");
}

}  // namespace
}  // namespace sluice
