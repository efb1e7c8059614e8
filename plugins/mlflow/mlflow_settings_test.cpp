// Settings: defaults, MLflow's environment variables, explicit overrides, and the checks.
#include "plugins/mlflow/mlflow_settings.hpp"

#include <gtest/gtest.h>

#include <map>

namespace sluice::mlflow {
namespace {

using namespace std::chrono_literals;
using util::ErrorCode;

Environment fake(std::map<std::string, std::string> values) {
    return [values = std::move(values)](std::string_view name) -> std::optional<std::string> {
        auto it = values.find(std::string(name));
        if (it == values.end()) return std::nullopt;
        return it->second;
    };
}

TEST(MlflowSettingsTest, EnvironmentFillsTheDefaults) {
    auto s = resolve_settings({}, fake({{"MLFLOW_TRACKING_URI", "http://mlflow:5000/"},
                                        {"MLFLOW_TRACKING_TOKEN", "t0k"},
                                        {"MLFLOW_HTTP_REQUEST_TIMEOUT", "12"},
                                        {"MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2"}}));
    ASSERT_TRUE(s.has_value()) << s.error().message;
    EXPECT_EQ(s->tracking_uri, "http://mlflow:5000");  // trailing slash trimmed
    EXPECT_EQ(s->token, "t0k");
    EXPECT_EQ(s->timeout, 12s);
    EXPECT_EQ(s->retries, 2);
    EXPECT_EQ(s->connect_timeout, 5s);
}

TEST(MlflowSettingsTest, ExplicitSettingsWin) {
    SettingsOverrides o;
    o.tracking_uri = "https://registry.example.com/mlflow";
    o.timeout = 2s;
    o.retries = 0;
    auto s = resolve_settings(o, fake({{"MLFLOW_TRACKING_URI", "http://mlflow:5000"},
                                       {"MLFLOW_HTTP_REQUEST_MAX_RETRIES", "5"}}));
    ASSERT_TRUE(s.has_value()) << s.error().message;
    EXPECT_EQ(s->tracking_uri, "https://registry.example.com/mlflow");
    EXPECT_EQ(s->timeout, 2s);
    EXPECT_EQ(s->retries, 0);
}

TEST(MlflowSettingsTest, ExplicitCredentialsReplaceAllOfTheEnvironments) {
    SettingsOverrides o;
    o.token = "mine";
    auto s = resolve_settings(o, fake({{"MLFLOW_TRACKING_URI", "http://m"},
                                       {"MLFLOW_TRACKING_USERNAME", "env-user"},
                                       {"MLFLOW_TRACKING_PASSWORD", "env-pass"}}));
    ASSERT_TRUE(s.has_value()) << s.error().message;
    EXPECT_EQ(s->token, "mine");
    EXPECT_TRUE(s->username.empty());
    EXPECT_TRUE(s->password.empty());

    auto from_env = resolve_settings({}, fake({{"MLFLOW_TRACKING_URI", "http://m"},
                                               {"MLFLOW_TRACKING_USERNAME", "u"},
                                               {"MLFLOW_TRACKING_PASSWORD", "p"}}));
    ASSERT_TRUE(from_env.has_value());
    EXPECT_EQ(from_env->username, "u");
    EXPECT_EQ(from_env->password, "p");
}

TEST(MlflowSettingsTest, EmptyVariablesCountAsUnset) {
    auto s = resolve_settings({}, fake({{"MLFLOW_TRACKING_URI", "http://m"},
                                        {"MLFLOW_TRACKING_TOKEN", ""},
                                        {"MLFLOW_HTTP_REQUEST_TIMEOUT", ""}}));
    ASSERT_TRUE(s.has_value()) << s.error().message;
    EXPECT_TRUE(s->token.empty());
    EXPECT_EQ(s->timeout, 30s);
}

TEST(MlflowSettingsTest, UnusableSettingsAreBadInput) {
    struct Case {
        std::map<std::string, std::string> env;
        std::string says;
    };
    std::vector<Case> cases = {
        {{}, "no MLflow tracking URI"},
        {{{"MLFLOW_TRACKING_URI", "file:///tmp/mlruns"}}, "not an http:// or https:// URL"},
        {{{"MLFLOW_TRACKING_URI", "databricks"}}, "not an http:// or https:// URL"},
        {{{"MLFLOW_TRACKING_URI", "http://"}}, "has no host"},
        {{{"MLFLOW_TRACKING_URI", "http://user:pw@mlflow:5000"}}, "must not hold credentials"},
        {{{"MLFLOW_TRACKING_URI", "http://m/?x=1"}}, "must not have a query"},
        {{{"MLFLOW_TRACKING_URI", "http://m"}, {"MLFLOW_TRACKING_USERNAME", "u"}}, "no password"},
        {{{"MLFLOW_TRACKING_URI", "http://m"}, {"MLFLOW_TRACKING_PASSWORD", "p"}}, "no username"},
        {{{"MLFLOW_TRACKING_URI", "http://m"}, {"MLFLOW_HTTP_REQUEST_TIMEOUT", "soon"}},
         "MLFLOW_HTTP_REQUEST_TIMEOUT=soon"},
        {{{"MLFLOW_TRACKING_URI", "http://m"}, {"MLFLOW_HTTP_REQUEST_TIMEOUT", "0"}},
         "timeouts must be longer than 0"},
    };
    for (const auto& c : cases) {
        auto s = resolve_settings({}, fake(c.env));
        ASSERT_FALSE(s.has_value()) << c.says;
        EXPECT_EQ(s.error().code, ErrorCode::bad_input);
        EXPECT_NE(s.error().message.find(c.says), std::string::npos) << s.error().message;
        EXPECT_EQ(s.error().message.find("pw@"), std::string::npos);
    }
    SettingsOverrides o;
    o.tracking_uri = "http://m";
    o.retries = 11;
    auto too_many = resolve_settings(o, fake({}));
    ASSERT_FALSE(too_many.has_value());
    EXPECT_EQ(too_many.error().code, ErrorCode::bad_input);
}

TEST(MlflowSettingsTest, EnvironmentRetriesAreCapped) {
    auto s = resolve_settings(
        {}, fake({{"MLFLOW_TRACKING_URI", "http://m"}, {"MLFLOW_HTTP_REQUEST_MAX_RETRIES", "50"}}));
    ASSERT_TRUE(s.has_value()) << s.error().message;
    EXPECT_EQ(s->retries, 10);
}

}  // namespace
}  // namespace sluice::mlflow
