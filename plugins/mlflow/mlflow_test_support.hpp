// What the MLflow tests share: an HttpClient that counts the requests it passes on to
// libcurl, a sleep that records instead of waiting, and settings for a test server with
// short timeouts.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "plugins/mlflow/mlflow_client.hpp"
#include "plugins/mlflow/mlflow_settings.hpp"
#include "runner/http/curl_http_client.hpp"

namespace sluice::mlflow::test_support {

class CountingHttpClient final : public http::HttpClient {
public:
    util::Result<http::Response> send(const http::Request& request) override {
        {
            std::lock_guard lock(mutex_);
            sent_.push_back(request);
        }
        return real_.send(request);
    }
    std::vector<http::Request> sent() const {
        std::lock_guard lock(mutex_);
        return sent_;
    }
    std::size_t count() const { return sent().size(); }

private:
    http::CurlHttpClient real_;
    mutable std::mutex mutex_;
    std::vector<http::Request> sent_;
};

struct RecordedSleeps {
    std::vector<std::chrono::milliseconds> waits;
    MlflowClient::Sleep sleep() {
        return [this](std::chrono::milliseconds d) { waits.push_back(d); };
    }
};

inline Settings test_settings(const std::string& uri, int retries = 0) {
    Settings s;
    s.tracking_uri = uri;
    s.connect_timeout = std::chrono::milliseconds(1'000);
    s.timeout = std::chrono::milliseconds(3'000);
    s.retries = retries;
    s.initial_backoff = std::chrono::milliseconds(100);
    s.max_backoff = std::chrono::milliseconds(1'000);
    return s;
}

}  // namespace sluice::mlflow::test_support
