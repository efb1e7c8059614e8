// The JSON mappings: requests leave out empty fields; answers tolerate the fields MLflow
// leaves out and refuse the ones with the wrong type; latest metrics pick by step, then
// timestamp.
#include "plugins/mlflow/mlflow_json.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "plugins/mlflow/mlflow_registry.hpp"

namespace sluice::mlflow {
namespace {

using nlohmann::json;
using util::ErrorCode;

TEST(MlflowJsonTest, RequestsLeaveOutEmptyFields) {
    EXPECT_EQ(to_json(CreateRunRequest{"0", "", 0, {}}).dump(), R"({"experiment_id":"0"})");
    EXPECT_EQ(to_json(SearchModelVersionsRequest{"name='churn'", 0, {}, ""}).dump(),
              R"({"filter":"name='churn'"})");
    EXPECT_EQ(to_json(GetLatestVersionsRequest{"churn", {"Production"}}).dump(),
              R"({"name":"churn","stages":["Production"]})");
    EXPECT_EQ(
        to_json(CreateModelVersionRequest{"churn", "runs:/r/model", "r", {{"k", "v"}}, "", ""})
            .dump(),
        R"({"name":"churn","run_id":"r","source":"runs:/r/model","tags":[{"key":"k","value":"v"}]})");
    EXPECT_EQ(
        to_json(TransitionModelVersionStageRequest{"churn", "1", "Production", false}).dump(),
        R"({"archive_existing_versions":false,"name":"churn","stage":"Production","version":"1"})");
}

TEST(MlflowJsonTest, NonFiniteMetricsAreSpelledAsProto3Json) {
    LogBatchRequest batch{
        "r", {{"a", NAN, 1, 0}, {"b", INFINITY, 1, 0}, {"c", -INFINITY, 1, 0}}, {}, {}};
    json out = to_json(batch);
    EXPECT_EQ(out["metrics"][0]["value"], "NaN");
    EXPECT_EQ(out["metrics"][1]["value"], "Infinity");
    EXPECT_EQ(out["metrics"][2]["value"], "-Infinity");
}

TEST(MlflowJsonTest, RunToleratesLeftOutFields) {
    auto run = parse_run_response(json::parse(R"({"run": {
        "info": {"run_uuid": "abc", "experiment_id": "3", "status": "RUNNING", "start_time": "17"},
        "data": {"metrics": [{"key": "loss", "timestamp": 5}, {"key": "f1", "value": "NaN"}]}}})"));
    ASSERT_TRUE(run.has_value()) << run.error().message;
    EXPECT_EQ(run->info.run_id, "abc");   // run_uuid when run_id is absent
    EXPECT_EQ(run->info.start_time, 17);  // int64 as a string, as proto3 JSON allows
    EXPECT_FALSE(run->info.end_time.has_value());
    ASSERT_EQ(run->data.metrics.size(), 2u);
    EXPECT_EQ(run->data.metrics[0].value, 0.0);
    EXPECT_EQ(run->data.metrics[0].step, 0);
    EXPECT_TRUE(std::isnan(run->data.metrics[1].value));
    EXPECT_TRUE(run->data.params.empty());
    EXPECT_TRUE(run->data.tags.empty());
}

TEST(MlflowJsonTest, WrongTypesAndMissingKeysAreGarbageNamingTheField) {
    struct Case {
        const char* answer;
        const char* says;
    };
    for (
        const auto& c : std::vector<Case>{
            {R"({})", "run is missing"},
            {R"({"run": []})", "run is not an object"},
            {R"({"run": {"data": {}}})", "run.info is missing"},
            {R"({"run": {"info": {}}})", "run.info.run_id is missing"},
            {R"({"run": {"info": {"run_id": "r", "start_time": "soon"}}})",
             "run.info.start_time is not an integer"},
            {R"({"run": {"info": {"run_id": "r"}, "data": {"metrics": [{"value": 1}]}}})",
             "run.data.metrics[0].key is missing"},
            {R"({"run": {"info": {"run_id": "r"}, "data": {"metrics": [{"key": "a", "value": "high"}]}}})",
             "run.data.metrics[0].value is not a number"},
            {R"({"run": {"info": {"run_id": "r"}, "data": {"tags": {"k": "v"}}}})",
             "run.data.tags is not a list"},
        }) {
        auto run = parse_run_response(json::parse(c.answer));
        ASSERT_FALSE(run.has_value()) << c.answer;
        EXPECT_EQ(run.error().code, ErrorCode::unavailable);
        EXPECT_EQ(run.error().message, c.says);
    }
}

TEST(MlflowJsonTest, ModelVersionsAndSearches) {
    auto v = parse_model_version_response(json::parse(
        R"({"model_version": {"name": "churn", "version": "3", "creation_timestamp": 10,
            "current_stage": "Production", "aliases": ["champion"],
            "tags": [{"key": "mlflow.source.git.commit", "value": "abc"}]}})"));
    ASSERT_TRUE(v.has_value()) << v.error().message;
    EXPECT_EQ(v->version, "3");
    EXPECT_EQ(v->aliases, std::vector<std::string>{"champion"});
    EXPECT_EQ(v->tags.at("mlflow.source.git.commit"), "abc");
    EXPECT_TRUE(v->run_id.empty());

    auto empty = parse_search_model_versions_response(json::object());
    ASSERT_TRUE(empty.has_value());
    EXPECT_TRUE(empty->model_versions.empty());
    EXPECT_TRUE(empty->next_page_token.empty());

    auto model = parse_registered_model_response(json::parse(
        R"({"registered_model": {"name": "churn", "aliases": [{"alias": "a", "version": "1"}]}})"));
    ASSERT_TRUE(model.has_value());
    ASSERT_EQ(model->aliases.size(), 1u);
    EXPECT_EQ(model->aliases[0].version, "1");

    auto bad_alias = parse_registered_model_response(
        json::parse(R"({"registered_model": {"name": "churn", "aliases": [{"alias": "a"}]}})"));
    ASSERT_FALSE(bad_alias.has_value());
    EXPECT_EQ(bad_alias.error().message, "registered_model.aliases[0].version is missing");
}

TEST(MlflowJsonTest, LatestMetricsPickHighestStepThenTimestampThenValue) {
    std::vector<Metric> metrics = {
        {"f1", 0.5, 300, 1},  {"f1", 0.7, 100, 2},  {"f1", 0.6, 200, 2},  // step 2, latest time
        {"auc", 0.8, 100, 0}, {"auc", 0.9, 100, 0},                       // a tie: the larger
        {"loss", 0.0, 0, 0},
    };
    auto latest = latest_metrics(metrics);
    EXPECT_EQ(latest, (registry::Metrics{{"auc", 0.9}, {"f1", 0.6}, {"loss", 0.0}}));
}

TEST(MlflowJsonTest, OnlyStagingAndProductionFallBackToStages) {
    EXPECT_EQ(fallback_stage("production"), "Production");
    EXPECT_EQ(fallback_stage("Staging"), "Staging");
    EXPECT_EQ(fallback_stage("champion"), std::nullopt);
    EXPECT_EQ(fallback_stage("none"), std::nullopt);
    EXPECT_EQ(fallback_stage("archived"), std::nullopt);
}

}  // namespace
}  // namespace sluice::mlflow
