// A tiny scripted HTTP/1.1 server on 127.0.0.1 for tests: it records every request and
// answers each with what the test's handler returns (or never answers, or sends raw
// bytes), one connection at a time, on its own thread. For testing HTTP clients over real
// sockets without any server software.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "runner/util/unique_fd.hpp"

namespace sluice::testing {

struct RecordedRequest {
    std::string method;
    std::string target;                                        // "/path?query" as sent
    std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
    std::string body;

    std::optional<std::string> header(std::string_view name) const;  // case-insensitive
};

struct CannedResponse {
    int status = 200;
    std::string reason = "OK";
    std::vector<std::pair<std::string, std::string>> headers;  // Content-Length is added
    std::string body;
    bool hang = false;  // keep the connection open and never answer
    std::string raw;    // when not empty: sent as is instead of a built answer
};

class LoopbackHttpServer {
public:
    using Handler = std::function<CannedResponse(const RecordedRequest&)>;

    // Listens on 127.0.0.1 at a port the kernel picks; throws when it cannot.
    explicit LoopbackHttpServer(Handler handler);
    // Stops the thread and closes every connection, hung ones included.
    ~LoopbackHttpServer();
    LoopbackHttpServer(const LoopbackHttpServer&) = delete;
    LoopbackHttpServer& operator=(const LoopbackHttpServer&) = delete;

    int port() const { return port_; }
    // "http://127.0.0.1:PORT" + path
    std::string url(std::string_view path = "/") const;
    std::vector<RecordedRequest> requests() const;

private:
    void serve();
    void handle(util::UniqueFd connection);

    Handler handler_;
    util::UniqueFd listener_;
    util::UniqueFd stop_read_;
    util::UniqueFd stop_write_;
    int port_ = 0;
    mutable std::mutex mutex_;
    std::vector<RecordedRequest> requests_;
    std::vector<util::UniqueFd> hung_;
    std::thread thread_;
};

}  // namespace sluice::testing
