// The HttpClient seam: one request in, one answer out. Code that talks to a service over
// HTTP (the MLflow registry, notifiers) holds an HttpClient&, so tests can hand it a real
// client pointed at a loopback server or a fake. An answer with any status (404, 503) is a
// value; only not getting an answer at all (refused, timed out, malformed URL) is an error.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runner/util/error.hpp"

namespace sluice::http {

using util::Result;

enum class Method { get, post, put, patch, del, head };

// "GET", "POST", ...
std::string_view to_string(Method method);

struct Header {
    std::string name;
    std::string value;
};

struct Request {
    Method method = Method::get;
    std::string url;
    std::vector<Header> headers;  // sent as given; a header with an empty value is removed
    std::string body;             // sent for every method but GET
    std::chrono::milliseconds connect_timeout{5'000};
    std::chrono::milliseconds total_timeout{30'000};  // the whole exchange, body included
    std::size_t max_body_bytes = 32 * 1024 * 1024;    // a longer answer is an error
    // When set, the body is streamed from this file instead of `body`: `body_length`
    // bytes (all that follow when nullopt) from `body_offset` (PUT, PATCH and POST).
    std::filesystem::path body_file;
    std::uint64_t body_offset = 0;
    std::optional<std::uint64_t> body_length;
    // When set, a 2xx answer's body is written to this file (created or truncated, no
    // max_body_bytes limit) instead of Response::body; other answers stay in memory.
    std::filesystem::path download_file;
};

struct Response {
    int status = 0;
    std::string content_type;     // as sent ("application/json; charset=utf-8"), or empty
    std::vector<Header> headers;  // of the final answer, names lower-cased
    std::string body;
    std::uint64_t downloaded_bytes = 0;  // written to Request::download_file

    // The first header of that name (case-insensitive), if any.
    std::optional<std::string_view> header(std::string_view name) const;
    // The media type without parameters, lower-cased: "application/json".
    std::string media_type() const;
};

// Errors: ErrorCode::unavailable when no answer came (connection refused or reset, DNS,
// TLS, timeout, an answer over max_body_bytes); ErrorCode::bad_input for a URL or request
// that cannot be sent. Implementations may be called from several threads at once.
class HttpClient {
public:
    virtual ~HttpClient() = default;
    virtual Result<Response> send(const Request& request) = 0;
};

// Percent-encodes everything but RFC 3986's unreserved characters.
std::string url_encode(std::string_view text);

// "a=1&b=x%20y" (keys and values encoded, in the order given).
std::string query_string(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace sluice::http
