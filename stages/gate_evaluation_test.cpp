// Tests of the gate's decision: judge() on numbers, and evaluate_gate()'s fail-closed
// behaviour when the numbers cannot be had (registry errors, missing candidates,
// unreadable files), with a registry that fails on purpose.
#include "stages/gate_evaluation.hpp"

#include <gtest/gtest.h>

#include "plugins/registry/builtin_registry.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::stages {
namespace {

using registry::Metrics;
using registry::ModelVersion;

GateSide side(Metrics metrics, std::string label = "version 2") {
    return {std::move(label), "2", std::move(metrics)};
}

TEST(Judge, EveryRuleIsEvaluatedAndReportedWithBothSides) {
    auto report = judge({"f1 >= 0.9", "f1 >= champion.f1 - 0.01", "auc > 0.5"},
                        side({{"f1", 0.85}, {"auc", 0.7}}), side({{"f1", 0.855}}), true);
    EXPECT_EQ(report["passed"], false);
    EXPECT_EQ(report["summary"], "1 of 3 rules failed: f1 >= 0.9");
    const auto& rules = report["rules"];
    ASSERT_EQ(rules.size(), 3u);
    EXPECT_EQ(rules[0]["passed"], false);
    EXPECT_EQ(rules[1]["passed"], true);
    EXPECT_DOUBLE_EQ(rules[1]["left"].get<double>(), 0.85);
    EXPECT_DOUBLE_EQ(rules[1]["right"].get<double>(), 0.845);
    EXPECT_EQ(rules[1]["op"], ">=");
    EXPECT_DOUBLE_EQ(rules[1]["values"]["champion.f1"].get<double>(), 0.855);
    EXPECT_EQ(rules[2]["passed"], true);
}

TEST(Judge, WithoutAChampionTheChampionRulesFollowThePolicy) {
    auto pass = judge({"f1 >= champion.f1", "f1 > 0.5"}, side({{"f1", 0.8}}), std::nullopt, true);
    EXPECT_EQ(pass["passed"], true);
    EXPECT_EQ(pass["rules"][0]["note"], "no champion yet: passes (if_no_champion: pass)");
    auto fail = judge({"f1 >= champion.f1", "f1 > 0.5"}, side({{"f1", 0.8}}), std::nullopt, false);
    EXPECT_EQ(fail["passed"], false);
    EXPECT_EQ(fail["rules"][1]["passed"], true);
}

TEST(Judge, MissingMetricsAndBadRulesFailClosed) {
    auto report = judge({"recall > 0.5", "f1 >= champion.auc", "f1 >=", "f1 / zero > 1"},
                        side({{"f1", 0.8}, {"zero", 0.0}}), side({{"f1", 0.7}}), true);
    EXPECT_EQ(report["passed"], false);
    const auto& rules = report["rules"];
    EXPECT_EQ(rules[0]["error"],
              "no metric `recall` in the candidate (version 2; it has f1, zero)");
    EXPECT_EQ(rules[1]["error"], "no metric `auc` in the champion (version 2; it has f1)");
    EXPECT_NE(rules[2]["error"].get<std::string>().find("column 6"), std::string::npos)
        << rules[2]["error"];
    EXPECT_NE(rules[3]["error"].get<std::string>().find("division by zero"), std::string::npos)
        << rules[3]["error"];
    for (const auto& r : rules) EXPECT_EQ(r["passed"], false) << r.dump();
}

TEST(Judge, NoRulesNeverPass) {
    EXPECT_EQ(judge({}, side({{"f1", 1}}), std::nullopt, true)["passed"], false);
}

// A registry whose every call fails the way a broken backend does.
class BrokenRegistry : public registry::Registry {
public:
    explicit BrokenRegistry(util::Error error) : error_(std::move(error)) {}
    std::string describe() const override { return "a broken registry"; }
    registry::Result<std::vector<std::string>> models() override { return err(); }
    registry::Result<std::vector<ModelVersion>> versions(const std::string&) override {
        return err();
    }
    registry::Result<ModelVersion> version(const std::string&, const std::string&) override {
        return err();
    }
    registry::Result<std::optional<ModelVersion>> by_alias(const std::string&,
                                                           const std::string&) override {
        return err();
    }
    registry::Result<ModelVersion> create_version(const registry::NewVersion&) override {
        return err();
    }
    registry::Status set_alias(const std::string&, const std::string&, const std::string&,
                               const std::string&, const std::string&) override {
        return err();
    }
    registry::Result<std::vector<registry::AliasMove>> alias_history(const std::string&,
                                                                     const std::string&) override {
        return err();
    }

private:
    std::unexpected<util::Error> err() const { return std::unexpected(error_); }
    util::Error error_;
};

class EvaluateGate : public ::testing::Test {
protected:
    GateSpec spec(nlohmann::json registry = "builtin") {
        GateSpec s;
        s.stage = "gate";
        s.registry = std::move(registry);
        s.model = "churn";
        s.rules = {"f1 >= 0.8", "f1 >= champion.f1"};
        s.run_id = "7";
        s.state_dir = dir_.path();
        s.workspace = dir_.path();
        return s;
    }
    RegistryOpener opener() {
        return [this](const nlohmann::json& config, const std::filesystem::path& state)
                   -> util::Result<std::unique_ptr<registry::Registry>> {
            if (config == "builtin") {
                auto r = registry::BuiltinRegistry::open(state / "registry.db");
                if (!r) return std::unexpected(r.error());
                return std::unique_ptr<registry::Registry>(std::move(*r));
            }
            if (remote_error_) {
                return std::unique_ptr<registry::Registry>(new BrokenRegistry(*remote_error_));
            }
            return util::fail(util::ErrorCode::unavailable, "connection refused");
        };
    }
    void log_candidate(double f1) {
        auto r = registry::BuiltinRegistry::open(dir_ / "registry.db");
        ASSERT_TRUE(r);
        ASSERT_TRUE((*r)->create_version({"churn", "7", "abc", "", {{"f1", f1}}}));
    }
    static void expect_closed(const nlohmann::json& report, const std::string& needle) {
        EXPECT_EQ(report["passed"], false);
        std::string summary = report["summary"];
        EXPECT_NE(summary.find("failed closed"), std::string::npos) << summary;
        EXPECT_NE(summary.find(needle), std::string::npos) << summary;
        for (const auto& r : report["rules"]) EXPECT_EQ(r["passed"], false);
    }
    testing::TempDir dir_;
    std::optional<util::Error> remote_error_;
};

TEST_F(EvaluateGate, ThisRunsCandidateIsJudged) {
    log_candidate(0.9);
    auto report = evaluate_gate(spec(), opener());
    EXPECT_EQ(report["passed"], true) << report.dump(2);
    EXPECT_EQ(report["candidate"]["version"], "1");
    EXPECT_EQ(report["no_champion"], "alias `production` is not set");
}

TEST_F(EvaluateGate, NoCandidateFailsClosed) {
    expect_closed(evaluate_gate(spec(), opener()), "no candidate: no stage of run 7 logged metrics");
}

TEST_F(EvaluateGate, ARegistryThatIsDownFailsClosed) {
    log_candidate(0.9);
    expect_closed(evaluate_gate(spec({{"mlflow", {{"uri", "http://127.0.0.1:9"}}}}), opener()),
                  "the mlflow registry is unavailable: connection refused");
}

TEST_F(EvaluateGate, ARegistryThatAnswersGarbageFailsClosed) {
    log_candidate(0.9);
    remote_error_ = util::Error{util::ErrorCode::unavailable, "mlflow answered HTML, not JSON", {}};
    auto report = evaluate_gate(spec({{"mlflow", nlohmann::json::object()}}), opener());
    expect_closed(report, "cannot read the champion");
    EXPECT_NE(report["summary"].get<std::string>().find("HTML"), std::string::npos);
}

TEST_F(EvaluateGate, AnUnknownCandidateVersionFailsClosed) {
    log_candidate(0.9);
    auto s = spec();
    s.candidate = "5";
    expect_closed(evaluate_gate(s, opener()), "no version 5 of model `churn`");
}

TEST_F(EvaluateGate, FileSourceFailsClosedOnAMissingFile) {
    auto s = spec("file");
    s.metrics_files = {"metrics.json"};
    expect_closed(evaluate_gate(s, opener()), "cannot read the candidate's metrics");
    s.metrics_files = {};
    expect_closed(evaluate_gate(s, opener()), "no candidate metrics");
}

}  // namespace
}  // namespace sluice::stages
