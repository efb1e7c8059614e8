// Integration tests of gates on an MLflow registry: the real sluice binary, a pipeline
// whose gate reads the champion (and a candidate run) over MLflow's REST API from the
// test server in tests/mlflow_server/, and the outages that must fail the gate closed:
// a server that is down, one that hangs, one that answers HTML, one that wants a token.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "runner/testing/command.hpp"
#include "runner/testing/mlflow_test_server.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice {
namespace {

using testing::CommandResult;
using testing::MlflowServerOptions;
using testing::MlflowTestServer;
using testing::TempDir;

// Version 1 of churn (f1 0.85) is in production; run cand-run has f1 0.86.
constexpr const char* k_seed = R"({
  "experiments": ["training"],
  "runs": [
    {"run_id": "champ-run", "experiment": "training", "status": "FINISHED",
     "metrics": [{"key": "f1", "value": 0.85, "step": 0, "timestamp": 1}]},
    {"run_id": "cand-run", "experiment": "training", "status": "FINISHED",
     "metrics": [{"key": "f1", "value": 0.86, "step": 0, "timestamp": 1}]}],
  "models": [{"name": "churn",
              "versions": [{"source": "runs:/champ-run/model", "run_id": "champ-run",
                            "aliases": ["production"]}]}]
})";

MlflowServerOptions options(const std::string& seed) {
    MlflowServerOptions o;
    o.seed_json = seed;
    return o;
}

class MlflowGate : public ::testing::Test {
protected:
    CommandResult sluice(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
        std::vector<std::string> argv = {testing::sluice_binary(), "--state",
                                         (dir_ / "state").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        return testing::run_command(argv, {dir_.path(), std::move(env)});
    }
    nlohmann::json gate_of_run(int run) {
        auto r = sluice({"show", std::to_string(run), "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        auto shown = nlohmann::json::parse(r.out);
        for (const auto& s : shown["stages"]) {
            if (s["stage"] == "gate") return s;
        }
        ADD_FAILURE() << "no gate stage";
        return {};
    }
    // train writes `metrics` and the MLflow run id `run`; the gate reads MLflow at
    // `registry` (a flow map) with `extra` keys.
    void write_pipeline(const std::string& registry, const std::string& extra,
                        const std::string& metrics = R"({"f1": 0.80})",
                        const std::string& run = "cand-run") {
        dir_.write("sluice.yml",
                   "name: churn-model\nstages:\n  train:\n    run: |\n      printf '%s' '" +
                       metrics + "' > metrics.json\n      echo run_id=" + run +
                       " >> \"$SLUICE_OUTPUT\"\n    metrics: metrics.json\n"
                       "  gate:\n    kind: gate\n    needs: [train]\n    model: churn\n"
                       "    registry: {mlflow: " + registry + "}\n" + extra +
                       "    require:\n      - f1 >= champion.f1 - 0.01\n");
    }
    static void expect_failed_closed(const nlohmann::json& gate, const std::string& needle) {
        EXPECT_EQ(gate["status"], "failed");
        std::string reason = gate["reason"];
        EXPECT_NE(reason.find("failed closed"), std::string::npos) << reason;
        EXPECT_NE(reason.find(needle), std::string::npos) << reason;
        EXPECT_EQ(gate["report"]["passed"], false);
    }
    TempDir dir_;
};

TEST_F(MlflowGate, ACandidateRunIsComparedWithTheChampionAlias) {
    MlflowTestServer server(options(k_seed));
    if (!server.ok()) GTEST_SKIP() << server.error();
    write_pipeline("{uri: \"" + server.uri() + "\"}",
                   "    candidate: ${{ stages.train.outputs.run_id }}\n");
    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto gate = gate_of_run(1);
    EXPECT_EQ(gate["report"]["candidate"]["label"], "run cand-run");
    EXPECT_EQ(gate["report"]["champion"]["version"], "1");
    EXPECT_DOUBLE_EQ(gate["report"]["rules"][0]["left"].get<double>(), 0.86);
    EXPECT_DOUBLE_EQ(gate["report"]["rules"][0]["right"].get<double>(), 0.84);

    // `sluice registry` reads the same registry.
    auto alias = sluice({"registry", "alias", "churn", "production", "--registry", "mlflow",
                         "--uri", server.uri()});
    EXPECT_EQ(alias.out, "churn@production = version 1\n") << alias.err;
    auto metrics = sluice({"registry", "metrics", "churn", "1", "--registry", "mlflow", "--uri",
                           server.uri()});
    EXPECT_EQ(metrics.out, "f1 = 0.85\n") << metrics.err;
}

TEST_F(MlflowGate, ThisRunsMetricsAreTheCandidateWhenNoneIsNamed) {
    MlflowTestServer server(options(k_seed));
    if (!server.ok()) GTEST_SKIP() << server.error();
    write_pipeline("{uri: \"" + server.uri() + "\"}", "");  // f1 0.80 < 0.85 - 0.01
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    auto gate = gate_of_run(1);
    EXPECT_EQ(gate["status"], "failed");
    EXPECT_EQ(gate["report"]["candidate"]["version"], "1");  // of the local registry
    EXPECT_DOUBLE_EQ(gate["report"]["rules"][0]["left"].get<double>(), 0.80);
    EXPECT_EQ(gate["report"]["champion"]["version"], "1");
}

TEST_F(MlflowGate, ADownServerFailsTheGateClosed) {
    write_pipeline("{uri: \"" + testing::down_uri() + "\", retries: 1, timeout: 2s}", "");
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    expect_failed_closed(gate_of_run(1), "cannot read the champion");
}

TEST_F(MlflowGate, AServerThatHangsFailsTheGateClosedInItsTimeout) {
    auto o = options("");
    o.hang = true;
    MlflowTestServer server(o);
    if (!server.ok()) GTEST_SKIP() << server.error();
    write_pipeline("{uri: \"" + server.uri() + "\", retries: 0, timeout: 500ms}", "");
    auto start = std::chrono::steady_clock::now();
    auto r = sluice({"run"});
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    expect_failed_closed(gate_of_run(1), "cannot read the champion");
    EXPECT_LT(took, std::chrono::seconds(20));  // bounded by the timeout, not the stage's 1h
}

TEST_F(MlflowGate, AServerThatAnswersHtmlFailsTheGateClosed) {
    auto o = options("");
    o.html = true;
    MlflowTestServer server(o);
    if (!server.ok()) GTEST_SKIP() << server.error();
    write_pipeline("{uri: \"" + server.uri() + "\", retries: 0}", "");
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    expect_failed_closed(gate_of_run(1), "HTML");
}

TEST_F(MlflowGate, TheTokenComesFromTheStagesEnvironment) {
    auto o = options(k_seed);
    o.require_token = "s3cret";
    MlflowTestServer server(o);
    if (!server.ok()) GTEST_SKIP() << server.error();
    // Without the token in the gate's environment the server refuses: fail closed.
    write_pipeline("{uri: \"" + server.uri() + "\", retries: 0}",
                   "    candidate: ${{ stages.train.outputs.run_id }}\n");
    EXPECT_EQ(sluice({"run"}).exit_code, 1);
    expect_failed_closed(gate_of_run(1), "401");
    // The runner's MLFLOW_TRACKING_TOKEN reaches the gate only when the stage asks.
    write_pipeline("{uri: \"" + server.uri() + "\", retries: 0}",
                   "    candidate: ${{ stages.train.outputs.run_id }}\n"
                   "    inherit_env: [MLFLOW_TRACKING_TOKEN]\n");
    auto r = sluice({"run"}, {{"MLFLOW_TRACKING_TOKEN", "s3cret"}});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(gate_of_run(2)["status"], "passed");
}

}  // namespace
}  // namespace sluice
