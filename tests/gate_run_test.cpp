// Integration tests of metrics and gates through real pipelines: a training stage
// logs its metrics as a candidate in the builtin registry, a gate compares it with the
// rules and with the champion, and nothing after a failed gate runs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runner/testing/command.hpp"
#include "runner/testing/temp_dir.hpp"
#include "tests/run_json_support.hpp"

namespace sluice {
namespace {

using testing::CommandResult;
using testing::run_command;
using testing::sluice_binary;
using testing::stage_of;
using testing::TempDir;

class GateRun : public ::testing::Test {
protected:
    CommandResult sluice(std::vector<std::string> args) {
        std::vector<std::string> argv = {sluice_binary(), "--state", (dir_ / "state").string()};
        argv.insert(argv.end(), args.begin(), args.end());
        return run_command(argv, {dir_.path(), {}});
    }
    nlohmann::json show(int run) {
        auto r = sluice({"show", std::to_string(run), "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.err;
        return nlohmann::json::parse(r.out);
    }
    // A pipeline whose training stage reports `metrics` (a JSON text) and whose gate
    // checks `rules`; a deploy stage runs after the gate.
    void write_pipeline(const std::string& metrics, const std::vector<std::string>& rules,
                        const std::string& gate_extra = "") {
        std::string yml = "name: churn-model\nstages:\n  train:\n    run: |\n      printf '%s' '" +
                          metrics + "' > metrics.json\n    metrics: metrics.json\n" +
                          "  f1-gate:\n    kind: gate\n    needs: [train]\n    model: churn\n" +
                          gate_extra + "    require:\n";
        for (const auto& r : rules) yml += "      - \"" + r + "\"\n";
        yml += "  deploy:\n    needs: [f1-gate]\n    run: touch deployed\n";
        dir_.write("sluice.yml", yml);
    }
    TempDir dir_;
};

TEST_F(GateRun, AGoodModelPassesTheGateAndIsLoggedAsACandidate) {
    write_pipeline(R"({"f1": 0.84, "eval": {"auc": 0.9}})", {"f1 >= 0.80", "eval.auc > 0.5"});
    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("pass  f1 >= 0.80"), std::string::npos) << r.out;
    EXPECT_TRUE(std::filesystem::exists(dir_ / "deployed"));

    auto run = show(1);
    auto gate = stage_of(run, "f1-gate");
    EXPECT_EQ(gate["status"], "passed");
    const auto& report = gate["report"];
    EXPECT_EQ(report["passed"], true);
    EXPECT_EQ(report["model"], "churn");
    EXPECT_EQ(report["candidate"]["version"], "1");
    EXPECT_DOUBLE_EQ(report["candidate"]["metrics"]["f1"].get<double>(), 0.84);
    ASSERT_EQ(report["rules"].size(), 2u);
    EXPECT_EQ(report["rules"][0]["rule"], "f1 >= 0.80");
    EXPECT_DOUBLE_EQ(report["rules"][0]["left"].get<double>(), 0.84);
    EXPECT_DOUBLE_EQ(report["rules"][0]["right"].get<double>(), 0.80);
    EXPECT_EQ(stage_of(run, "train")["report"]["candidates"][0]["model"], "churn");

    auto versions = sluice({"registry", "versions", "churn", "--json"});
    ASSERT_EQ(versions.exit_code, 0) << versions.err;
    auto list = nlohmann::json::parse(versions.out);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0]["run_id"], "1");
    EXPECT_DOUBLE_EQ(list[0]["metrics"]["eval.auc"].get<double>(), 0.9);
    auto metrics = sluice({"registry", "metrics", "churn", "1"});
    EXPECT_NE(metrics.out.find("f1 = 0.84"), std::string::npos) << metrics.out;

    // `sluice show` prints the gate's report for people too.
    auto text = sluice({"show", "1"});
    EXPECT_NE(text.out.find("gate passed: all 2 rules passed"), std::string::npos) << text.out;
}

TEST_F(GateRun, AWorseModelFailsTheGateAndNothingAfterItRuns) {
    write_pipeline(R"({"f1": 0.62, "auc": 0.7})", {"f1 >= 0.80", "auc >= 0.75", "auc > 0.5"});
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir_ / "deployed"));
    auto run = show(1);
    auto gate = stage_of(run, "f1-gate");
    EXPECT_EQ(gate["status"], "failed");
    EXPECT_EQ(gate["reason"], "2 of 3 rules failed: f1 >= 0.80, ...");
    // Every rule is evaluated and reported, not only the first failure.
    const auto& rules = gate["report"]["rules"];
    ASSERT_EQ(rules.size(), 3u);
    EXPECT_EQ(rules[0]["passed"], false);
    EXPECT_EQ(rules[1]["passed"], false);
    EXPECT_EQ(rules[2]["passed"], true);
    EXPECT_DOUBLE_EQ(rules[1]["left"].get<double>(), 0.7);
    EXPECT_EQ(stage_of(run, "deploy")["status"], "skipped");
    EXPECT_EQ(stage_of(run, "deploy")["reason"], "needs f1-gate, which failed");
}

TEST_F(GateRun, TheChampionIsComparedWithATolerance) {
    std::vector<std::string> rules = {"f1 >= champion.f1 - 0.01"};
    write_pipeline(R"({"f1": 0.84})", rules);
    ASSERT_EQ(sluice({"run"}).exit_code, 0);  // no champion yet: passes, and says so
    auto first = stage_of(show(1), "f1-gate")["report"];
    EXPECT_TRUE(first["champion"].is_null());
    EXPECT_EQ(first["rules"][0]["note"], "no champion yet: passes (if_no_champion: pass)");
    auto promoted = sluice({"registry", "alias", "churn", "production", "1"});
    ASSERT_EQ(promoted.exit_code, 0) << promoted.err;

    write_pipeline(R"({"f1": 0.835})", rules);  // within the tolerance
    auto second = sluice({"run"});
    EXPECT_EQ(second.exit_code, 0) << second.out << second.err;
    auto report = stage_of(show(2), "f1-gate")["report"];
    EXPECT_EQ(report["champion"]["version"], "1");
    EXPECT_DOUBLE_EQ(report["rules"][0]["right"].get<double>(), 0.83);

    write_pipeline(R"({"f1": 0.82})", rules);  // dropped by more than 0.01
    auto third = sluice({"run"});
    EXPECT_EQ(third.exit_code, 1) << third.out;
    auto failed = stage_of(show(3), "f1-gate");
    EXPECT_EQ(failed["status"], "failed");
    EXPECT_EQ(failed["report"]["candidate"]["version"], "3");
    EXPECT_DOUBLE_EQ(failed["report"]["rules"][0]["left"].get<double>(), 0.82);

    auto alias = sluice({"registry", "alias", "churn", "production"});
    EXPECT_EQ(alias.out, "churn@production = version 1\n");
}

TEST_F(GateRun, NoChampionFailsWhenThePipelineSaysSo) {
    write_pipeline(R"({"f1": 0.9})", {"f1 >= champion.f1"}, "    if_no_champion: fail\n");
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 1) << r.out;
    auto gate = stage_of(show(1), "f1-gate");
    EXPECT_EQ(gate["report"]["rules"][0]["note"], "no champion yet: fails (if_no_champion: fail)");
}

TEST_F(GateRun, AMissingMetricFailsClosedAndSaysWhich) {
    write_pipeline(R"({"f1": 0.9})", {"f1 >= 0.8", "roc_auc >= 0.7"});
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 1) << r.out;
    auto gate = stage_of(show(1), "f1-gate");
    EXPECT_EQ(gate["report"]["rules"][0]["passed"], true);
    std::string error = gate["report"]["rules"][1]["error"];
    EXPECT_NE(error.find("no metric `roc_auc` in the candidate"), std::string::npos) << error;
    EXPECT_NE(error.find("it has f1"), std::string::npos) << error;
}

TEST_F(GateRun, AnUnreadableMetricsFileFailsTheTrainingStage) {
    write_pipeline(R"({"f1": "high"})", {"f1 >= 0.8"});
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 1) << r.out;
    auto run = show(1);
    auto train = stage_of(run, "train");
    EXPECT_EQ(train["status"], "failed");
    EXPECT_NE(train["reason"].get<std::string>().find("metrics"), std::string::npos)
        << train["reason"];
    EXPECT_EQ(stage_of(run, "f1-gate")["status"], "skipped");
    auto models = sluice({"registry", "models", "--json"});
    EXPECT_EQ(models.out, "[]\n");  // nothing half-logged
}

TEST_F(GateRun, AFileSourceComparesWithABaselineFile) {
    dir_.write("baseline.json", R"({"f1": 0.80})");
    write_pipeline(R"({"f1": 0.84})", {"f1 >= champion.f1", "f1 > 0.5"},
                   "    registry: file\n    champion: baseline.json\n");
    auto r = sluice({"run"});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
    auto report = stage_of(show(1), "f1-gate")["report"];
    EXPECT_EQ(report["candidate"]["label"], "metrics.json");
    EXPECT_EQ(report["champion"]["label"], "baseline.json");
    EXPECT_DOUBLE_EQ(report["rules"][0]["right"].get<double>(), 0.80);

    dir_.write("baseline.json", "{ not json");
    auto broken = sluice({"run"});
    EXPECT_EQ(broken.exit_code, 1) << broken.out;
    auto failed = stage_of(show(2), "f1-gate");
    EXPECT_NE(failed["reason"].get<std::string>().find("cannot read the champion's metrics"),
              std::string::npos)
        << failed["reason"];
}

TEST_F(GateRun, AnExplicitCandidateVersionIsJudged) {
    write_pipeline(R"({"f1": 0.9})", {"f1 >= 0.8"});
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    write_pipeline(R"({"f1": 0.1})", {"f1 >= 0.8"}, "    candidate: \"1\"\n");
    auto r = sluice({"run"});
    EXPECT_EQ(r.exit_code, 0) << r.out;  // version 1 is judged, not this run's 0.1
    write_pipeline(R"({"f1": 0.1})", {"f1 >= 0.8"}, "    candidate: \"9\"\n");
    auto missing = sluice({"run"});
    EXPECT_EQ(missing.exit_code, 1);
    auto gate = stage_of(show(3), "f1-gate");
    EXPECT_NE(gate["reason"].get<std::string>().find("no version 9 of model `churn`"),
              std::string::npos)
        << gate["reason"];
}

TEST_F(GateRun, RegistryCommandsSayWhatIsMissing) {
    auto none = sluice({"registry", "versions", "churn"});
    EXPECT_EQ(none.exit_code, 2);
    EXPECT_EQ(none.err, "sluice: no model `churn` in the builtin registry\n");
    write_pipeline(R"({"f1": 0.9})", {"f1 >= 0.8"});
    ASSERT_EQ(sluice({"run"}).exit_code, 0);
    auto unset = sluice({"registry", "alias", "churn", "production"});
    EXPECT_EQ(unset.exit_code, 2);
    auto bad = sluice({"registry", "alias", "churn", "production", "7"});
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.err.find("no version 7"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace sluice
