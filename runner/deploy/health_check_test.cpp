// Tests of health polling against a real HTTP server on loopback, and of what a local
// deployment runs for an image.
#include "runner/deploy/health_check.hpp"

#include <gtest/gtest.h>

#include <atomic>

#include "runner/deploy/image_command.hpp"
#include "runner/http/curl_http_client.hpp"
#include "runner/testing/loopback_http_server.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::deploy {
namespace {

using namespace std::chrono_literals;

auto running = []() -> std::optional<std::string> { return std::nullopt; };

TEST(HealthCheck, WaitsForA2xxAnswer) {
    std::atomic<int> calls = 0;
    testing::LoopbackHttpServer server([&](const testing::RecordedRequest&) {
        testing::CannedResponse r;
        if (++calls < 3) {
            r.status = 503;
            r.reason = "Service Unavailable";
        }
        return r;
    });
    http::CurlHttpClient client;
    HealthPolicy policy;
    policy.url = server.url("/health");
    policy.timeout = 5s;
    policy.interval = 10ms;
    auto healthy = wait_until_healthy(client, policy, running);
    EXPECT_TRUE(healthy) << healthy.error().message;
    EXPECT_EQ(calls.load(), 3);
    EXPECT_EQ(server.requests().back().target, "/health");
}

TEST(HealthCheck, NeverHealthyFailsAtTheDeadlineWithTheLastAnswer) {
    testing::LoopbackHttpServer server([](const testing::RecordedRequest&) {
        return testing::CannedResponse{500, "Internal Server Error", {}, "no", false, ""};
    });
    http::CurlHttpClient client;
    HealthPolicy policy;
    policy.url = server.url("/health");
    policy.timeout = 300ms;
    policy.interval = 20ms;
    auto start = std::chrono::steady_clock::now();
    auto healthy = wait_until_healthy(client, policy, running);
    ASSERT_FALSE(healthy);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
    EXPECT_EQ(healthy.error().code, util::ErrorCode::unavailable);
    EXPECT_EQ(healthy.error().message, "not healthy within 0.3s (GET " + server.url("/health") +
                                           ": the last answer was HTTP 500)");
}

TEST(HealthCheck, AServiceThatExitedIsNotWaitedFor) {
    testing::LoopbackHttpServer server([](const testing::RecordedRequest&) {
        return testing::CannedResponse{503, "No", {}, "", false, ""};
    });
    http::CurlHttpClient client;
    HealthPolicy policy;
    policy.url = server.url("/health");
    policy.timeout = 30s;
    int probes = 0;
    auto healthy = wait_until_healthy(client, policy, [&]() -> std::optional<std::string> {
        if (++probes < 2) return std::nullopt;
        return "exited with status 3";
    });
    ASSERT_FALSE(healthy);
    EXPECT_EQ(healthy.error().message, "the service exited with status 3 before it was healthy");
}

TEST(HealthCheck, NoAnswerAtAllIsUnhealthy) {
    http::CurlHttpClient client;
    HealthPolicy policy;
    policy.url = "http://127.0.0.1:1/health";  // nothing listens on port 1
    policy.timeout = 100ms;
    policy.interval = 20ms;
    auto healthy = wait_until_healthy(client, policy, running);
    ASSERT_FALSE(healthy);
    EXPECT_NE(healthy.error().message.find("the last try:"), std::string::npos)
        << healthy.error().message;
}

TEST(HealthCheck, PortIsSubstitutedAsAWholeName) {
    EXPECT_EQ(substitute_port("http://127.0.0.1:$PORT/health", 8123),
              "http://127.0.0.1:8123/health");
    EXPECT_EQ(substitute_port("http://localhost:${PORT}/", 80), "http://localhost:80/");
    EXPECT_EQ(substitute_port("$PORTS $PORT", 1), "$PORTS 1");
}

TEST(ImageCommand, PathsInsideTheImageAreMappedUnderItsRoot) {
    testing::TempDir dir;
    auto root = dir / "root";
    dir.write("root/app/server.py", "");
    dir.write("root/app/model.pkl", "");
    OciImage image;
    image.digest = "sha256:x";
    image.entrypoint = {"python3"};
    image.cmd = {"/app/server.py", "--flag", "/usr/bin/env"};
    image.env = {{"MODEL_PATH", "/app/model.pkl"}, {"PATH", "/usr/bin:/bin"}};
    image.working_dir = "/app";
    auto service = image_service(image, root, {}, {{"HOME", "/home/x"}, {"PATH", "/host"}});
    ASSERT_TRUE(service) << service.error().message;
    EXPECT_EQ(service->argv, (std::vector<std::string>{"python3", (root / "app/server.py").string(),
                                                       "--flag", "/usr/bin/env"}));
    EXPECT_EQ(service->cwd, root / "app");
    EnvironmentList expected = {{"HOME", "/home/x"},
                                {"PATH", "/usr/bin:/bin"},
                                {"MODEL_PATH", (root / "app/model.pkl").string()},
                                {"SLUICE_IMAGE_ROOT", root.string()}};
    EXPECT_EQ(service->env, expected);

    auto overridden = image_service(image, root, {"sh", "-c", "exec ./serve"}, {});
    ASSERT_TRUE(overridden);
    EXPECT_EQ(overridden->argv, (std::vector<std::string>{"sh", "-c", "exec ./serve"}));

    OciImage bare;
    auto none = image_service(bare, root, {}, {});
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().code, util::ErrorCode::bad_input);
}

}  // namespace
}  // namespace sluice::deploy
