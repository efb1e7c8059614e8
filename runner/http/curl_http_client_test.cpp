// CurlHttpClient over real sockets: what it sends (method, headers, body), what it reads
// back (status, content type, headers, body), and that no answer at all (refused, hung,
// malformed URL, oversized) is an error naming the URL.
#include "runner/http/curl_http_client.hpp"
#include "runner/http/auth.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <string>

#include "runner/testing/temp_dir.hpp"

#include "runner/testing/loopback_http_server.hpp"
#include "runner/testing/mlflow_test_server.hpp"

namespace sluice::http {
namespace {

using testing::CannedResponse;
using testing::LoopbackHttpServer;
using testing::RecordedRequest;

CannedResponse json_answer(int status, std::string body) {
    CannedResponse r;
    r.status = status;
    r.reason = status == 200 ? "OK" : "Other";
    r.headers = {{"Content-Type", "application/json; charset=utf-8"}, {"X-Request-Id", "abc"}};
    r.body = std::move(body);
    return r;
}

bool libcurl_mapped() {
    std::ifstream maps("/proc/self/maps");
    std::string line;
    while (std::getline(maps, line)) {
        if (line.find("/libcurl.so") != std::string::npos) return true;
    }
    return false;
}

// First in this file, and ctest runs every test in a process of its own: nothing in this
// process has sent a request before it.
TEST(CurlHttpClientTest, LibcurlIsLoadedByTheFirstRequestNotAtStartup) {
    EXPECT_FALSE(libcurl_mapped());
    CurlHttpClient client;
    EXPECT_FALSE(libcurl_mapped());
    LoopbackHttpServer server([](const RecordedRequest&) { return json_answer(200, "{}"); });
    Request request;
    request.url = server.url("/");
    auto response = client.send(request);
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(libcurl_mapped());
}

TEST(CurlHttpClientTest, SendsMethodHeadersAndBody) {
    LoopbackHttpServer server([](const RecordedRequest&) { return json_answer(200, "{}"); });
    CurlHttpClient client;
    for (Method method : {Method::post, Method::put, Method::patch, Method::del}) {
        Request request;
        request.method = method;
        request.url = server.url("/api/thing?x=1");
        request.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer t"}};
        request.body = R"({"name":"churn"})";
        auto response = client.send(request);
        ASSERT_TRUE(response.has_value()) << response.error().message;
        EXPECT_EQ(response->status, 200);
    }
    auto seen = server.requests();
    ASSERT_EQ(seen.size(), 4u);
    EXPECT_EQ(seen[0].method, "POST");
    EXPECT_EQ(seen[1].method, "PUT");
    EXPECT_EQ(seen[2].method, "PATCH");
    EXPECT_EQ(seen[3].method, "DELETE");
    for (const auto& r : seen) {
        EXPECT_EQ(r.target, "/api/thing?x=1");
        EXPECT_EQ(r.body, R"({"name":"churn"})");
        EXPECT_EQ(r.header("content-type"), "application/json");
        EXPECT_EQ(r.header("authorization"), "Bearer t");
        EXPECT_FALSE(r.header("expect").has_value());
    }
}

TEST(CurlHttpClientTest, GetSendsNoBody) {
    LoopbackHttpServer server([](const RecordedRequest&) { return json_answer(200, "{}"); });
    CurlHttpClient client;
    Request request;
    request.url = server.url("/x");
    request.body = "ignored";
    ASSERT_TRUE(client.send(request).has_value());
    auto seen = server.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].method, "GET");
    EXPECT_EQ(seen[0].body, "");
}

TEST(CurlHttpClientTest, ReadsStatusContentTypeHeadersAndBody) {
    LoopbackHttpServer server([](const RecordedRequest&) {
        return json_answer(404, R"({"error_code":"RESOURCE_DOES_NOT_EXIST"})");
    });
    CurlHttpClient client;
    Request request;
    request.url = server.url("/x");
    auto response = client.send(request);
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->status, 404);  // an answer, whatever its status, is a value
    EXPECT_EQ(response->content_type, "application/json; charset=utf-8");
    EXPECT_EQ(response->media_type(), "application/json");
    EXPECT_EQ(response->header("x-request-id"), "abc");
    EXPECT_EQ(response->header("X-REQUEST-ID"), "abc");
    EXPECT_EQ(response->body, R"({"error_code":"RESOURCE_DOES_NOT_EXIST"})");
}

TEST(CurlHttpClientTest, DoesNotFollowRedirects) {
    LoopbackHttpServer server([](const RecordedRequest&) {
        CannedResponse r;
        r.status = 302;
        r.reason = "Found";
        r.headers = {{"Location", "http://127.0.0.1:1/elsewhere"}};
        return r;
    });
    CurlHttpClient client;
    Request request;
    request.url = server.url("/x");
    auto response = client.send(request);
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->status, 302);
    EXPECT_EQ(response->header("location"), "http://127.0.0.1:1/elsewhere");
    EXPECT_EQ(server.requests().size(), 1u);
}

TEST(CurlHttpClientTest, RefusedConnectionIsUnavailableAndNamesTheUrl) {
    std::string url = testing::down_uri() + "/api/x";
    CurlHttpClient client;
    Request request;
    request.url = url;
    auto start = std::chrono::steady_clock::now();
    auto response = client.send(request);
    ASSERT_FALSE(response.has_value());
    EXPECT_EQ(response.error().code, util::ErrorCode::unavailable);
    EXPECT_NE(response.error().message.find("GET " + url), std::string::npos)
        << response.error().message;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(CurlHttpClientTest, HungServerTimesOutWithinTheTotalTimeout) {
    LoopbackHttpServer server([](const RecordedRequest&) {
        CannedResponse r;
        r.hang = true;
        return r;
    });
    CurlHttpClient client;
    Request request;
    request.url = server.url("/slow");
    request.total_timeout = std::chrono::milliseconds(300);
    auto start = std::chrono::steady_clock::now();
    auto response = client.send(request);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(response.has_value());
    EXPECT_EQ(response.error().code, util::ErrorCode::unavailable);
    EXPECT_NE(response.error().message.find("no answer in time"), std::string::npos)
        << response.error().message;
    EXPECT_GE(took, std::chrono::milliseconds(250));
    EXPECT_LT(took, std::chrono::milliseconds(2'000));
}

TEST(CurlHttpClientTest, GarbageInsteadOfHttpIsUnavailable) {
    LoopbackHttpServer server([](const RecordedRequest&) {
        CannedResponse r;
        r.raw = "SSH-2.0-OpenSSH_9.2\r\nthis is not http\r\n";
        return r;
    });
    CurlHttpClient client;
    Request request;
    request.url = server.url("/x");
    auto response = client.send(request);
    ASSERT_FALSE(response.has_value());
    EXPECT_EQ(response.error().code, util::ErrorCode::unavailable);
}

TEST(CurlHttpClientTest, OversizedAnswerIsUnavailable) {
    LoopbackHttpServer server(
        [](const RecordedRequest&) { return json_answer(200, std::string(10'000, 'x')); });
    CurlHttpClient client;
    Request request;
    request.url = server.url("/x");
    request.max_body_bytes = 1'000;
    auto response = client.send(request);
    ASSERT_FALSE(response.has_value());
    EXPECT_EQ(response.error().code, util::ErrorCode::unavailable);
    EXPECT_NE(response.error().message.find("longer than 1000 bytes"), std::string::npos)
        << response.error().message;
}

TEST(CurlHttpClientTest, MalformedOrForeignUrlIsBadInput) {
    CurlHttpClient client;
    for (std::string url : {"http://[::1", "ftp://127.0.0.1/x", "file:///etc/passwd"}) {
        Request request;
        request.url = url;
        auto response = client.send(request);
        ASSERT_FALSE(response.has_value()) << url;
        EXPECT_EQ(response.error().code, util::ErrorCode::bad_input) << url;
        EXPECT_NE(response.error().message.find(url), std::string::npos);
    }
}

TEST(CurlHttpClientTest, TalksToThePythonMlflowTestServer) {
    testing::MlflowTestServer server;
    if (!server.ok()) GTEST_SKIP() << server.error();
    CurlHttpClient client;
    Request request;
    request.url = server.uri() + "/health";
    auto response = client.send(request);
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "OK");
}

TEST(CurlHttpClientTest, HeadFileBodiesAndDownloads) {
    LoopbackHttpServer server([](const RecordedRequest& r) {
        CannedResponse answer = json_answer(r.target == "/missing" ? 404 : 200, "downloaded body");
        if (r.target == "/missing") answer.body = "not here";
        return answer;
    });
    CurlHttpClient client;
    testing::TempDir dir;
    auto file = dir.write("blob", "0123456789");

    Request head;
    head.method = Method::head;
    head.url = server.url("/thing");
    auto headed = client.send(head);
    ASSERT_TRUE(headed.has_value()) << headed.error().message;
    EXPECT_EQ(headed->status, 200);
    EXPECT_TRUE(headed->body.empty());

    Request patch;
    patch.method = Method::patch;
    patch.url = server.url("/upload");
    patch.body_file = file;
    patch.body_offset = 3;
    patch.body_length = 4;
    ASSERT_TRUE(client.send(patch).has_value());
    Request put;
    put.method = Method::put;
    put.url = server.url("/upload");
    put.body_file = file;
    ASSERT_TRUE(client.send(put).has_value());
    Request too_long = put;
    too_long.body_offset = 8;
    too_long.body_length = 5;
    auto refused = client.send(too_long);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, util::ErrorCode::io);

    Request get;
    get.url = server.url("/thing");
    get.download_file = dir / "out";
    auto got = client.send(get);
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->downloaded_bytes, 15u);
    EXPECT_TRUE(got->body.empty());
    EXPECT_EQ(testing::read_file(dir / "out"), "downloaded body");
    get.url = server.url("/missing");
    auto missing = client.send(get);
    ASSERT_TRUE(missing.has_value());
    EXPECT_EQ(missing->status, 404);
    EXPECT_EQ(missing->body, "not here");  // not a 2xx: kept in memory, not in the file

    auto seen = server.requests();
    ASSERT_GE(seen.size(), 3u);
    EXPECT_EQ(seen[0].method, "HEAD");
    EXPECT_EQ(seen[1].method, "PATCH");
    EXPECT_EQ(seen[1].body, "3456");
    EXPECT_EQ(seen[2].method, "PUT");
    EXPECT_EQ(seen[2].body, "0123456789");
}

TEST(HttpAuthTest, Base64DecodeRoundTrips) {
    for (const std::string& text : std::vector<std::string>{"", "f", "fo", "foo", "user:pa:ss", std::string("\0\xff", 2)}) {
        auto decoded = base64_decode(base64_encode(text));
        ASSERT_TRUE(decoded.has_value()) << text;
        EXPECT_EQ(*decoded, text);
    }
    EXPECT_FALSE(base64_decode("a$b=").has_value());
    EXPECT_FALSE(base64_decode("Zg==Zg").has_value());
}

}  // namespace
}  // namespace sluice::http
