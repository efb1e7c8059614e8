// The MLflow test server itself answers as MLflow 2.x does where a client could trip
// (mlflow-rest-facts.md): Content-Type on POST, malformed bodies, HTML routing errors,
// /health, and a seed that the REST API reads back.
#include "runner/testing/mlflow_test_server.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "runner/http/curl_http_client.hpp"

namespace sluice::testing {
namespace {

using http::Method;

class MlflowTestServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        if (!server_.ok()) GTEST_SKIP() << server_.error();
    }
    http::Response send(Method method, const std::string& path, const std::string& body = "",
                        const std::string& content_type = "application/json") {
        http::Request request;
        request.method = method;
        request.url = server_.uri() + path;
        request.body = body;
        request.headers = {{"Content-Type", content_type}};
        auto response = client_.send(request);
        EXPECT_TRUE(response.has_value()) << response.error().message;
        return response ? *response : http::Response{};
    }
    static std::string error_code(const http::Response& r) {
        return nlohmann::json::parse(r.body).value("error_code", "");
    }

    MlflowTestServer server_;
    http::CurlHttpClient client_;
};

TEST_F(MlflowTestServerTest, HealthAndVersion) {
    auto health = send(Method::get, "/health");
    EXPECT_EQ(health.status, 200);
    EXPECT_EQ(health.body, "OK");
    auto version = send(Method::get, "/version");
    EXPECT_EQ(version.status, 200);
    EXPECT_EQ(version.body.substr(0, 2), "2.");
}

TEST_F(MlflowTestServerTest, PostNeedsJsonContentType) {
    auto missing =
        send(Method::post, "/api/2.0/mlflow/registered-models/create", R"({"name":"m"})", "");
    EXPECT_EQ(missing.status, 400);
    EXPECT_EQ(error_code(missing), "INVALID_PARAMETER_VALUE");
    auto form = send(Method::post, "/api/2.0/mlflow/registered-models/create", R"({"name":"m"})",
                     "application/x-www-form-urlencoded");
    EXPECT_EQ(form.status, 400);
    auto charset = send(Method::post, "/api/2.0/mlflow/registered-models/create", R"({"name":"m"})",
                        "application/json; charset=utf-8");
    EXPECT_EQ(charset.status, 200);
}

TEST_F(MlflowTestServerTest, MalformedBodyReadsAsEmpty) {
    auto r = send(Method::post, "/api/2.0/mlflow/registered-models/create", "{not json");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(error_code(r), "INVALID_PARAMETER_VALUE");
    EXPECT_NE(r.body.find("Missing value for required parameter 'name'"), std::string::npos);
}

TEST_F(MlflowTestServerTest, RoutingErrorsAreHtml) {
    auto unknown = send(Method::get, "/api/2.0/mlflow/no-such-thing");
    EXPECT_EQ(unknown.status, 404);
    EXPECT_EQ(unknown.media_type(), "text/html");
    auto wrong_method = send(Method::get, "/api/2.0/mlflow/runs/search");
    EXPECT_EQ(wrong_method.status, 405);
    EXPECT_EQ(wrong_method.media_type(), "text/html");
}

TEST_F(MlflowTestServerTest, WritesAnswerEmptyObjects) {
    send(Method::post, "/api/2.0/mlflow/registered-models/create", R"({"name":"m"})");
    send(Method::post, "/api/2.0/mlflow/model-versions/create",
         R"({"name":"m","source":"s3://x"})");
    auto set = send(Method::post, "/api/2.0/mlflow/registered-models/alias",
                    R"({"name":"m","alias":"a","version":"1"})");
    EXPECT_EQ(set.status, 200);
    EXPECT_EQ(set.body, "{}");
    auto unset = send(Method::get, "/api/2.0/mlflow/registered-models/alias?name=m&alias=b");
    EXPECT_EQ(unset.status, 400);
    EXPECT_EQ(error_code(unset), "INVALID_PARAMETER_VALUE");
    auto removed = send(Method::del, "/api/2.0/mlflow/registered-models/alias",
                        R"({"name":"m","alias":"zz"})");
    EXPECT_EQ(removed.status, 200);
    EXPECT_EQ(removed.body, "{}");
}

TEST(MlflowTestServerDownTest, DownUriRefusesConnections) {
    http::CurlHttpClient client;
    http::Request request;
    request.url = down_uri() + "/health";
    auto r = client.send(request);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code, util::ErrorCode::unavailable);
}

}  // namespace
}  // namespace sluice::testing
