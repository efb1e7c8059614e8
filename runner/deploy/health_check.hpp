// Waiting for a freshly started service to become healthy: GET its health URL until an
// answer with a 2xx status, while checking that the service is still alive, up to a
// deadline. Fail closed: no answer, a non-2xx answer at the deadline, or a service that
// exited all mean "not healthy", with the last thing seen as the reason.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "runner/http/http_client.hpp"
#include "runner/util/error.hpp"

namespace sluice::deploy {

struct HealthPolicy {
    std::string url;                                   // empty: only "still running"
    std::chrono::milliseconds timeout{60'000};         // from the first poll
    std::chrono::milliseconds interval{200};           // between polls
    std::chrono::milliseconds request_timeout{2'000};  // one GET
    // Without a URL: healthy once the service has run this long.
    std::chrono::milliseconds settle{1'000};
};

// Returns why the service is gone (e.g. "exited with status 1"), nullopt while it runs.
using LivenessProbe = std::function<std::optional<std::string>()>;

// ok when healthy; ErrorCode::unavailable with the reason otherwise.
util::Status wait_until_healthy(http::HttpClient& client, const HealthPolicy& policy,
                                const LivenessProbe& alive);

// "$PORT" and "${PORT}" in text replaced by port.
std::string substitute_port(std::string text, int port);

}  // namespace sluice::deploy
