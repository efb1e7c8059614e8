// Health polling of a service being deployed.
#include "runner/deploy/health_check.hpp"

#include <cctype>
#include <thread>

#include "runner/util/duration_format.hpp"

namespace sluice::deploy {

util::Status wait_until_healthy(http::HttpClient& client, const HealthPolicy& policy,
                                const LivenessProbe& alive) {
    using clock = std::chrono::steady_clock;
    auto start = clock::now();
    auto deadline = start + policy.timeout;
    std::string last = "no answer yet";
    auto within = util::format_duration(policy.timeout.count());
    while (true) {
        if (auto gone = alive(); gone) {
            return util::fail(util::ErrorCode::unavailable,
                              "the service " + *gone + " before it was healthy");
        }
        if (policy.url.empty()) {
            if (clock::now() - start >= policy.settle) return {};
        } else {
            http::Request request;
            request.url = policy.url;
            request.connect_timeout = policy.request_timeout;
            request.total_timeout = policy.request_timeout;
            request.max_body_bytes = 1 << 20;
            auto answer = client.send(request);
            if (answer && answer->status >= 200 && answer->status < 300) return {};
            if (answer) {
                last = "the last answer was HTTP " + std::to_string(answer->status);
            } else if (answer.error().code == util::ErrorCode::bad_input) {
                return util::fail(util::ErrorCode::bad_input,
                                  "health_url " + policy.url + ": " + answer.error().message);
            } else {
                last = "the last try: " + answer.error().message;
            }
        }
        if (clock::now() + policy.interval > deadline) {
            return util::fail(
                util::ErrorCode::unavailable,
                "not healthy within " + within + " (GET " + policy.url + ": " + last + ")");
        }
        std::this_thread::sleep_for(policy.interval);
    }
}

std::string substitute_port(std::string text, int port) {
    std::string value = std::to_string(port);
    for (std::string_view token : {std::string_view("${PORT}"), std::string_view("$PORT")}) {
        std::size_t at = 0;
        while ((at = text.find(token, at)) != std::string::npos) {
            // "$PORTS" is another variable: only a whole name is replaced.
            std::size_t after = at + token.size();
            bool braced = token[1] == '{';
            bool whole =
                braced || after >= text.size() ||
                !(std::isalnum(static_cast<unsigned char>(text[after])) || text[after] == '_');
            if (!whole) {
                at = after;
                continue;
            }
            text.replace(at, token.size(), value);
            at += value.size();
        }
    }
    return text;
}

}  // namespace sluice::deploy
