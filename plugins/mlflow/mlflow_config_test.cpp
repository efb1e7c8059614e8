// The `mlflow:` registry block: its keys onto the settings, durations, token_env, and
// mistakes reported as bad_input.
#include "plugins/mlflow/mlflow_config.hpp"

#include <gtest/gtest.h>

#include <map>

#include "runner/testing/mlflow_test_server.hpp"

namespace sluice::mlflow {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using util::ErrorCode;

Environment fake(std::map<std::string, std::string> values) {
    return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
        auto it = values.find(std::string(name));
        if (it == values.end()) return std::nullopt;
        return it->second;
    };
}

TEST(MlflowConfigTest, KeysMapOntoSettings) {
    auto s = settings_from_config(
        json::parse(R"({"uri": "http://mlflow:5000/", "token_env": "CI_MLFLOW_TOKEN",
                        "timeout": "1m30s", "connect_timeout": "500ms", "retries": 1})"),
        fake({{"CI_MLFLOW_TOKEN", "t0k"}, {"MLFLOW_TRACKING_URI", "http://other"}}));
    ASSERT_TRUE(s.has_value()) << s.error().message;
    EXPECT_EQ(s->tracking_uri, "http://mlflow:5000");
    EXPECT_EQ(s->token, "t0k");
    EXPECT_EQ(s->timeout, 90s);
    EXPECT_EQ(s->connect_timeout, 500ms);
    EXPECT_EQ(s->retries, 1);
}

TEST(MlflowConfigTest, NothingGivenMeansTheEnvironment) {
    for (const json& block : {json(nullptr), json::object()}) {
        auto s = settings_from_config(block, fake({{"MLFLOW_TRACKING_URI", "http://m"},
                                                   {"MLFLOW_TRACKING_USERNAME", "u"},
                                                   {"MLFLOW_TRACKING_PASSWORD", "p"}}));
        ASSERT_TRUE(s.has_value()) << s.error().message;
        EXPECT_EQ(s->tracking_uri, "http://m");
        EXPECT_EQ(s->username, "u");
        EXPECT_EQ(s->timeout, 30s);
        EXPECT_EQ(s->retries, 3);
    }
}

TEST(MlflowConfigTest, BareNumbersAreSeconds) {
    auto s = settings_from_config(json::parse(R"({"uri": "http://m", "timeout": 10})"), fake({}));
    ASSERT_TRUE(s.has_value()) << s.error().message;
    EXPECT_EQ(s->timeout, 10s);
}

TEST(MlflowConfigTest, MistakesAreBadInput) {
    std::map<std::string, std::string> env = {{"MLFLOW_TRACKING_URI", "http://m"}};
    for (const char* text : {
             R"("http://m")",
             R"({"url": "http://m"})",
             R"({"uri": 5})",
             R"({"timeout": "soon"})",
             R"({"timeout": "30m1h"})",
             R"({"timeout": -1})",
             R"({"retries": "three"})",
             R"({"retries": 11})",
             R"({"token_env": "NOT_SET"})",
             R"({"token": "inline-secret"})",
         }) {
        auto s = settings_from_config(json::parse(text), fake(env));
        ASSERT_FALSE(s.has_value()) << text;
        EXPECT_EQ(s.error().code, ErrorCode::bad_input) << text;
    }
}

TEST(MlflowConfigTest, RetriesWrittenInSluiceYmlArriveAsText) {
    // The loader keeps a registry's settings as strings: `retries: 2` is "2".
    std::map<std::string, std::string> env = {{"MLFLOW_TRACKING_URI", "http://m"}};
    auto s = settings_from_config(json::parse(R"({"retries": "2"})"), fake(env));
    ASSERT_TRUE(s) << s.error().message;
    EXPECT_EQ(s->retries, 2);
}

TEST(MlflowConfigTest, OpensARegistry) {
    testing::MlflowTestServer server;
    if (!server.ok()) GTEST_SKIP() << server.error();
    auto registry = open_mlflow_registry({{"uri", server.uri()}, {"timeout", "5s"}}, fake({}));
    ASSERT_TRUE(registry.has_value()) << registry.error().message;
    auto models = (*registry)->models();
    ASSERT_TRUE(models.has_value()) << models.error().message;
    EXPECT_TRUE(models->empty());
    auto metrics = (*registry)->run_metrics("nope");
    ASSERT_FALSE(metrics.has_value());
    EXPECT_EQ(metrics.error().code, ErrorCode::not_found);
}

}  // namespace
}  // namespace sluice::mlflow
