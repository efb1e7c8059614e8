// The HttpClient over libcurl: one easy handle per request (no shared state, so send() may
// run on several threads at once), no redirects followed, no signals (CURLOPT_NOSIGNAL),
// http and https only. libcurl itself is loaded by the first send() (curl_library.hpp).
#pragma once

#include "runner/http/http_client.hpp"

namespace sluice::http {

class CurlHttpClient final : public HttpClient {
public:
    Result<Response> send(const Request& request) override;
};

}  // namespace sluice::http
