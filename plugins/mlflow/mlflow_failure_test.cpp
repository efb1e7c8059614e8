// The MLflow client fails closed: a server that is down, hangs, answers HTML or other
// garbage, or wants credentials gives an error (never a value), retries happen only where
// they can help (connection errors, timeouts, 5xx; never 4xx), and errors map by MLflow's
// error_code, never by its message.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>

#include "plugins/mlflow/mlflow_client.hpp"
#include "plugins/mlflow/mlflow_test_support.hpp"
#include "runner/testing/loopback_http_server.hpp"
#include "runner/testing/mlflow_test_server.hpp"

namespace sluice::mlflow {
namespace {

using namespace std::chrono_literals;
using test_support::CountingHttpClient;
using test_support::RecordedSleeps;
using test_support::test_settings;
using testing::CannedResponse;
using testing::LoopbackHttpServer;
using testing::MlflowServerOptions;
using testing::MlflowTestServer;
using testing::RecordedRequest;
using util::ErrorCode;

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

#define START_OR_SKIP(server) \
    if (!(server).ok()) GTEST_SKIP() << (server).error()

TEST(MlflowFailureTest, DownServerIsUnavailableFastAfterBackedOffRetries) {
    std::string uri = testing::down_uri();
    CountingHttpClient http;
    RecordedSleeps sleeps;
    MlflowClient client(test_settings(uri, 3), http, sleeps.sleep());
    auto start = std::chrono::steady_clock::now();
    auto version = client.get_model_version_by_alias("churn", "production");
    ASSERT_FALSE(version.has_value());
    EXPECT_EQ(version.error().code, ErrorCode::unavailable);
    EXPECT_TRUE(contains(version.error().message,
                         "mlflow: GET " + uri + "/api/2.0/mlflow/registered-models/alias"))
        << version.error().message;
    EXPECT_TRUE(contains(version.error().message, "(after 4 attempts)")) << version.error().message;
    EXPECT_EQ(http.count(), 4u);
    EXPECT_EQ(sleeps.waits, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms}));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(MlflowFailureTest, BackoffStopsGrowingAtItsMaximum) {
    CountingHttpClient http;
    RecordedSleeps sleeps;
    Settings settings = test_settings(testing::down_uri(), 5);
    settings.max_backoff = 300ms;
    MlflowClient client(settings, http, sleeps.sleep());
    EXPECT_FALSE(client.get_run("r").has_value());
    EXPECT_EQ(sleeps.waits,
              (std::vector<std::chrono::milliseconds>{100ms, 200ms, 300ms, 300ms, 300ms}));
}

TEST(MlflowFailureTest, HungServerIsUnavailableWithinTheTotalTimeout) {
    MlflowServerOptions options;
    options.hang = true;
    MlflowTestServer server(options);
    START_OR_SKIP(server);
    CountingHttpClient http;
    Settings settings = test_settings(server.uri(), 0);
    settings.timeout = 300ms;
    MlflowClient client(settings, http);
    auto start = std::chrono::steady_clock::now();
    auto model = client.get_registered_model("churn");
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(model.has_value());
    EXPECT_EQ(model.error().code, ErrorCode::unavailable);
    EXPECT_TRUE(contains(model.error().message, "no answer in time")) << model.error().message;
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 1'500ms);
}

TEST(MlflowFailureTest, HungServerRetriesStayBounded) {
    MlflowServerOptions options;
    options.hang = true;
    MlflowTestServer server(options);
    START_OR_SKIP(server);
    CountingHttpClient http;
    RecordedSleeps sleeps;
    Settings settings = test_settings(server.uri(), 2);
    settings.timeout = 200ms;
    MlflowClient client(settings, http, sleeps.sleep());
    auto start = std::chrono::steady_clock::now();
    auto model = client.get_registered_model("churn");
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(model.has_value());
    EXPECT_EQ(model.error().code, ErrorCode::unavailable);
    EXPECT_EQ(http.count(), 3u);
    EXPECT_EQ(sleeps.waits.size(), 2u);
    EXPECT_LT(took, 3 * 200ms + 1'000ms);
}

TEST(MlflowFailureTest, HtmlAnswerIsUnavailable) {
    MlflowServerOptions options;
    options.html = true;
    MlflowTestServer server(options);
    START_OR_SKIP(server);
    CountingHttpClient http;
    MlflowClient client(test_settings(server.uri(), 3), http);
    auto version = client.get_model_version_by_alias("churn", "production");
    ASSERT_FALSE(version.has_value());
    EXPECT_EQ(version.error().code, ErrorCode::unavailable);
    EXPECT_TRUE(
        contains(version.error().message, "mlflow answered HTML, not JSON (GET " + server.uri()))
        << version.error().message;
    EXPECT_TRUE(contains(version.error().message, "→ 200: \"Sign in\") (is the URI right?)"))
        << version.error().message;
    EXPECT_EQ(http.count(), 1u);  // a 200 is not retried, whatever it holds
}

TEST(MlflowFailureTest, WrongUriPrefixMeetsHtmlRoutingErrors) {
    MlflowTestServer server;
    START_OR_SKIP(server);
    CountingHttpClient http;
    MlflowClient client(test_settings(server.uri() + "/mlflow", 0), http);
    auto model = client.get_registered_model("churn");
    ASSERT_FALSE(model.has_value());
    EXPECT_EQ(model.error().code, ErrorCode::unavailable);
    EXPECT_TRUE(contains(model.error().message, "→ 404: \"404 Not Found\") (is the URI right?)"))
        << model.error().message;
}

TEST(MlflowFailureTest, RetriesFiveHundredsThenSucceeds) {
    MlflowServerOptions options;
    options.fail_first = 2;
    options.seed_json = R"({"models": [{"name": "churn", "versions": [{"source": "s3://m"}]}]})";
    MlflowTestServer server(options);
    START_OR_SKIP(server);
    CountingHttpClient http;
    RecordedSleeps sleeps;
    MlflowClient client(test_settings(server.uri(), 3), http, sleeps.sleep());
    auto version = client.get_model_version("churn", "1");
    ASSERT_TRUE(version.has_value()) << version.error().message;
    EXPECT_EQ(version->version, "1");
    EXPECT_EQ(http.count(), 3u);
    EXPECT_EQ(sleeps.waits, (std::vector<std::chrono::milliseconds>{100ms, 200ms}));
}

TEST(MlflowFailureTest, FiveHundredsBeyondTheRetriesAreUnavailable) {
    MlflowServerOptions options;
    options.fail_first = 10;
    MlflowTestServer server(options);
    START_OR_SKIP(server);
    CountingHttpClient http;
    RecordedSleeps sleeps;
    MlflowClient client(test_settings(server.uri(), 2), http, sleeps.sleep());
    auto model = client.get_registered_model("churn");
    ASSERT_FALSE(model.has_value());
    EXPECT_EQ(model.error().code, ErrorCode::unavailable);
    EXPECT_TRUE(contains(model.error().message, "mlflow: TEMPORARILY_UNAVAILABLE: "))
        << model.error().message;
    EXPECT_TRUE(contains(model.error().message, "→ 503, after 3 attempts)"))
        << model.error().message;
    EXPECT_EQ(http.count(), 3u);
}

TEST(MlflowFailureTest, FourHundredsAreNeverRetried) {
    MlflowTestServer server;
    START_OR_SKIP(server);
    CountingHttpClient http;
    RecordedSleeps sleeps;
    MlflowClient client(test_settings(server.uri(), 3), http, sleeps.sleep());
    auto run = client.get_run("missing");
    ASSERT_FALSE(run.has_value());
    EXPECT_EQ(run.error().code, ErrorCode::not_found);
    auto reserved = client.set_registered_model_alias({"churn", "v1", "1"});
    ASSERT_FALSE(reserved.has_value());
    EXPECT_EQ(http.count(), 2u);
    EXPECT_TRUE(sleeps.waits.empty());
}

TEST(MlflowFailureTest, TokenAuthIsSentAndRequired) {
    MlflowServerOptions options;
    options.require_token = "s3cret";
    options.seed_json = R"({"models": [{"name": "churn"}]})";
    MlflowTestServer server(options);
    START_OR_SKIP(server);
    CountingHttpClient http;

    MlflowClient anonymous(test_settings(server.uri(), 3), http);
    auto refused = anonymous.get_registered_model("churn");
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ErrorCode::bad_input);
    EXPECT_TRUE(contains(refused.error().message, "mlflow: 401 Unauthorized (GET "))
        << refused.error().message;
    EXPECT_TRUE(contains(refused.error().message, "MLFLOW_TRACKING_TOKEN"))
        << refused.error().message;
    EXPECT_EQ(http.count(), 1u);

    Settings wrong = test_settings(server.uri());
    wrong.token = "guess";
    auto wrong_token = MlflowClient(wrong, http).get_registered_model("churn");
    ASSERT_FALSE(wrong_token.has_value());
    EXPECT_TRUE(contains(wrong_token.error().message, "refused the credentials"))
        << wrong_token.error().message;
    EXPECT_FALSE(contains(wrong_token.error().message, "guess"));  // secrets stay out of messages

    Settings settings = test_settings(server.uri());
    settings.token = "s3cret";
    auto model = MlflowClient(settings, http).get_registered_model("churn");
    ASSERT_TRUE(model.has_value()) << model.error().message;
}

TEST(MlflowFailureTest, BasicAuthIsSentAndRequired) {
    MlflowServerOptions options;
    options.require_basic = "ci:pa55";
    options.seed_json = R"({"models": [{"name": "churn"}]})";
    MlflowTestServer server(options);
    START_OR_SKIP(server);
    CountingHttpClient http;

    auto anonymous = MlflowClient(test_settings(server.uri()), http).get_registered_model("churn");
    ASSERT_FALSE(anonymous.has_value());
    EXPECT_EQ(anonymous.error().code, ErrorCode::bad_input);

    Settings wrong = test_settings(server.uri());
    wrong.username = "ci";
    wrong.password = "nope";
    EXPECT_FALSE(MlflowClient(wrong, http).get_registered_model("churn").has_value());

    Settings settings = test_settings(server.uri());
    settings.username = "ci";
    settings.password = "pa55";
    settings.token = "ignored";  // as in MLflow, basic auth wins over a token
    auto model = MlflowClient(settings, http).get_registered_model("churn");
    ASSERT_TRUE(model.has_value()) << model.error().message;
}

// Answers every request with the same canned response.
CannedResponse canned(int status, std::string content_type, std::string body) {
    CannedResponse r;
    r.status = status;
    r.reason = "Whatever";
    if (!content_type.empty()) r.headers = {{"Content-Type", std::move(content_type)}};
    r.body = std::move(body);
    return r;
}

util::Error error_for(const CannedResponse& response) {
    LoopbackHttpServer server([&](const RecordedRequest&) { return response; });
    CountingHttpClient http;
    MlflowClient client(test_settings(server.url(""), 0), http);
    auto version = client.get_model_version("churn", "1");
    EXPECT_FALSE(version.has_value());
    return version ? util::Error{} : version.error();
}

TEST(MlflowFailureTest, JsonWithoutRequiredFieldsIsGarbage) {
    auto missing =
        error_for(canned(200, "application/json", R"({"model_version": {"name": "churn"}})"));
    EXPECT_EQ(missing.code, ErrorCode::unavailable);
    EXPECT_TRUE(contains(missing.message, "model_version.version is missing")) << missing.message;

    auto number = error_for(
        canned(200, "application/json", R"({"model_version": {"name": "churn", "version": 1}})"));
    EXPECT_EQ(number.code, ErrorCode::unavailable);
    EXPECT_TRUE(contains(number.message, "model_version.version is not a string"))
        << number.message;

    auto empty = error_for(canned(200, "application/json", "{}"));
    EXPECT_EQ(empty.code, ErrorCode::unavailable);
    EXPECT_TRUE(contains(empty.message, "model_version is missing")) << empty.message;
}

TEST(MlflowFailureTest, NonJsonAnswersAreGarbage) {
    auto list = error_for(canned(200, "application/json", "[1, 2]"));
    EXPECT_EQ(list.code, ErrorCode::unavailable);
    EXPECT_TRUE(contains(list.message, "not a JSON object")) << list.message;

    auto text = error_for(canned(200, "text/plain", "OK"));
    EXPECT_EQ(text.code, ErrorCode::unavailable);
    EXPECT_TRUE(contains(text.message, "(is the URI right?)")) << text.message;

    auto nothing = error_for(canned(200, "", ""));
    EXPECT_EQ(nothing.code, ErrorCode::unavailable);

    auto untyped_html = error_for(canned(502, "", "<html><title>502 Bad Gateway</title></html>"));
    EXPECT_EQ(untyped_html.code, ErrorCode::unavailable);
    EXPECT_TRUE(contains(untyped_html.message, "answered HTML")) << untyped_html.message;

    auto not_mlflow = error_for(canned(400, "application/json", R"({"detail": "bad"})"));
    EXPECT_EQ(not_mlflow.code, ErrorCode::unavailable);
    EXPECT_TRUE(contains(not_mlflow.message, "without an error_code")) << not_mlflow.message;

    CannedResponse redirect = canned(302, "", "");
    redirect.headers.push_back({"Location", "https://sso.example.com/login"});
    auto moved = error_for(redirect);
    EXPECT_EQ(moved.code, ErrorCode::unavailable);
    EXPECT_TRUE(contains(moved.message, "redirected to https://sso.example.com/login"))
        << moved.message;
}

TEST(MlflowFailureTest, ErrorsMapByErrorCodeNeverByMessage) {
    auto not_found = error_for(canned(
        404, "application/json",
        R"({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "INVALID_PARAMETER_VALUE in SELECT * FROM model_versions"})"));
    EXPECT_EQ(not_found.code, ErrorCode::not_found);
    EXPECT_TRUE(contains(not_found.message,
                         "mlflow: RESOURCE_DOES_NOT_EXIST: INVALID_PARAMETER_VALUE in SELECT"))
        << not_found.message;

    auto invalid = error_for(canned(
        400, "application/json",
        R"({"error_code": "INVALID_PARAMETER_VALUE", "message": "Model Version not found, already exists"})"));
    EXPECT_EQ(invalid.code, ErrorCode::bad_input);

    auto exists = error_for(canned(400, "application/json",
                                   R"({"error_code": "RESOURCE_ALREADY_EXISTS", "message": "x"})"));
    EXPECT_EQ(exists.code, ErrorCode::conflict);

    auto internal = error_for(
        canned(500, "application/json", R"({"error_code": "INTERNAL_ERROR", "message": "boom"})"));
    EXPECT_EQ(internal.code, ErrorCode::unavailable);
    EXPECT_TRUE(contains(internal.message, "mlflow: INTERNAL_ERROR: boom (GET "))
        << internal.message;
}

TEST(MlflowFailureTest, AliasAnswerOtherThanInvalidParameterIsNotNoAlias) {
    // Only 400 INVALID_PARAMETER_VALUE means "not set"; anything else stays an error.
    LoopbackHttpServer server([](const RecordedRequest&) {
        return canned(404, "application/json",
                      R"({"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "x"})");
    });
    CountingHttpClient http;
    MlflowClient client(test_settings(server.url(""), 0), http);
    auto alias = client.get_model_version_by_alias("churn", "champion");
    ASSERT_FALSE(alias.has_value());
    EXPECT_EQ(alias.error().code, ErrorCode::not_found);
}

}  // namespace
}  // namespace sluice::mlflow
