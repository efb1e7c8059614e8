// The distribution client against a scripted server: the Bearer token flow, retries of
// 5xx answers, and the errors a registry's refusals become. (The real registry is
// exercised by tests/oci_test.cpp.)
#include "runner/oci/distribution_client.hpp"

#include <gtest/gtest.h>

#include "runner/http/curl_http_client.hpp"
#include "runner/testing/loopback_http_server.hpp"

namespace sluice::oci {
namespace {

using testing::CannedResponse;
using testing::RecordedRequest;

ClientOptions quick(std::optional<Credentials> creds = std::nullopt) {
    ClientOptions o;
    o.credentials = std::move(creds);
    o.retry.attempts = 3;
    o.sleep = [](std::chrono::milliseconds) {};
    return o;
}

TEST(DistributionClient, FollowsABearerChallenge) {
    int port = 0;
    testing::LoopbackHttpServer server([&](const RecordedRequest& r) -> CannedResponse {
        if (r.target.starts_with("/token")) {
            if (r.header("authorization") != "Basic Ym90OnB3") return {401, "Unauthorized", {}, "", false, ""};
            return {200, "OK", {{"Content-Type", "application/json"}}, R"({"token":"t0k"})", false, ""};
        }
        if (r.header("authorization") != "Bearer t0k") {
            return {401,
                    "Unauthorized",
                    {{"WWW-Authenticate", "Bearer realm=\"http://127.0.0.1:" + std::to_string(port) +
                                              "/token\",service=\"test\",scope=\"repository:ml/churn:pull,push\""}},
                    R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
                    false,
                    ""};
        }
        return {200, "OK", {}, "", false, ""};
    });
    port = server.port();
    http::CurlHttpClient http;
    std::string registry = "127.0.0.1:" + std::to_string(port);
    DistributionClient client(http, registry, quick(Credentials{"bot", "pw"}));
    auto has = client.has_blob("ml/churn", Digest{std::string(64, 'a')});
    ASSERT_TRUE(has) << has.error().message;
    EXPECT_TRUE(*has);
    auto requests = server.requests();
    ASSERT_EQ(requests.size(), 3u);  // challenged, token, retried
    EXPECT_EQ(requests[1].target, "/token?service=test&scope=repository%3Aml%2Fchurn%3Apull%2Cpush");
    // The token is kept for the next request of the same scope.
    ASSERT_TRUE(client.has_blob("ml/churn", Digest{std::string(64, 'b')}));
    EXPECT_EQ(server.requests().size(), 4u);

    DistributionClient wrong(http, registry, quick(Credentials{"bot", "nope"}));
    auto refused = wrong.has_blob("ml/churn", Digest{std::string(64, 'a')});
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().message.find("refused the credentials of bot"), std::string::npos)
        << refused.error().message;
}

TEST(DistributionClient, RetriesServerErrorsThenGivesUp) {
    int calls = 0;
    testing::LoopbackHttpServer server([&](const RecordedRequest&) -> CannedResponse {
        ++calls;
        if (calls <= 2) return {503, "Service Unavailable", {}, "busy", false, ""};
        return {404, "Not Found", {}, "", false, ""};
    });
    http::CurlHttpClient http;
    std::string registry = "127.0.0.1:" + std::to_string(server.port());
    std::vector<std::chrono::milliseconds> slept;
    auto options = quick();
    options.sleep = [&](std::chrono::milliseconds d) { slept.push_back(d); };
    DistributionClient client(http, registry, options);
    auto has = client.has_blob("r", Digest{std::string(64, 'a')});
    ASSERT_TRUE(has) << has.error().message;
    EXPECT_FALSE(*has);
    EXPECT_EQ(slept, (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(200),
                                                             std::chrono::milliseconds(400)}));

    calls = -100;  // always 503 now
    auto down = client.has_blob("r", Digest{std::string(64, 'a')});
    ASSERT_FALSE(down);
    EXPECT_NE(down.error().message.find("still failing after 3 tries"), std::string::npos)
        << down.error().message;
}

TEST(DistributionClient, BasicWithoutCredentialsSaysSo) {
    testing::LoopbackHttpServer server([&](const RecordedRequest&) -> CannedResponse {
        return {401, "Unauthorized", {{"WWW-Authenticate", "Basic realm=\"Registry\""}}, "", false, ""};
    });
    http::CurlHttpClient http;
    DistributionClient client(http, "127.0.0.1:" + std::to_string(server.port()), quick());
    auto has = client.has_blob("r", Digest{std::string(64, 'a')});
    ASSERT_FALSE(has);
    EXPECT_NE(has.error().message.find("requires authentication and no credentials"),
              std::string::npos);
}

TEST(DistributionClient, ManifestDigestMismatchFailsClosed) {
    testing::LoopbackHttpServer server([&](const RecordedRequest&) -> CannedResponse {
        return {200,
                "OK",
                {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"},
                 {"Docker-Content-Digest", "sha256:" + std::string(64, '0')}},
                R"({"schemaVersion":2})",
                false,
                ""};
    });
    http::CurlHttpClient http;
    DistributionClient client(http, "127.0.0.1:" + std::to_string(server.port()), quick());
    auto m = client.get_manifest("r", "v1");
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message.find("digest mismatch"), std::string::npos);
}

}  // namespace
}  // namespace sluice::oci
