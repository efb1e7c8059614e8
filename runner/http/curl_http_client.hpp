// The HttpClient over libcurl: one easy handle per request (no shared state, so send() may
// run on several threads at once), no redirects followed, no signals (CURLOPT_NOSIGNAL),
// http and https only.
#pragma once

#include "runner/http/http_client.hpp"

namespace sluice::http {

class CurlHttpClient final : public HttpClient {
public:
    // Initialises libcurl once per process (thread-safe); it is never torn down.
    CurlHttpClient();

    Result<Response> send(const Request& request) override;
};

}  // namespace sluice::http
