// The OCI Distribution API (distribution-spec 1.1) for one registry over http::HttpClient:
// blobs (HEAD, GET, cross-repository mount, monolithic PUT and chunked PATCH uploads) and
// manifests (GET, PUT). Authentication follows the registry's 401 challenges (Basic, or a
// Bearer token fetched from the realm with the credentials, if any). Connection errors,
// 5xx and 429 answers are retried with a doubling delay, a bounded number of times;
// anything else that is not what the API promises is an error that says what happened.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runner/http/http_client.hpp"
#include "runner/oci/descriptor.hpp"
#include "runner/oci/image_layout.hpp"
#include "runner/oci/registry_auth.hpp"
#include "runner/util/error.hpp"

namespace sluice::oci {

struct RetryPolicy {
    int attempts = 5;                                 // tries per request, the first included
    std::chrono::milliseconds first_delay{200};       // doubled after each failure
    std::chrono::milliseconds max_delay{3'000};
};

struct ClientOptions {
    std::vector<std::string> insecure;                // registries spoken to over http
    std::optional<Credentials> credentials;
    RetryPolicy retry;
    std::uint64_t chunk_threshold = 16 * 1024 * 1024;  // larger blobs go up in chunks
    std::uint64_t chunk_size = 8 * 1024 * 1024;
    std::function<void(const std::string&)> log;        // progress, one line each
    std::function<void(std::chrono::milliseconds)> sleep;  // default: sleep_for
};

struct FetchedManifest {
    std::string bytes;
    std::string media_type;
    Digest digest;
};

class DistributionClient {
public:
    DistributionClient(http::HttpClient& http, std::string registry, ClientOptions options);

    const std::string& registry() const { return registry_; }

    util::Result<bool> has_blob(const std::string& repository, const Digest& digest);
    // true when the registry mounted the blob from `from` (201); false when it did not
    // (202: the blob must be uploaded).
    util::Result<bool> mount_blob(const std::string& repository, const Digest& digest,
                                  const std::string& from);
    // Uploads a file as the blob `blob` (chunked above options.chunk_threshold).
    util::Status upload_blob(const std::string& repository, const std::filesystem::path& file,
                             const Descriptor& blob);
    util::Status upload_monolithic(const std::string& repository,
                                   const std::filesystem::path& file, const Descriptor& blob);
    util::Status upload_chunked(const std::string& repository, const std::filesystem::path& file,
                                const Descriptor& blob);
    // PUT of a manifest under a tag or digest; its digest as the registry computed it
    // (must equal ours: a mismatch is an error).
    util::Result<Digest> put_manifest(const std::string& repository, const std::string& reference,
                                      const std::string& bytes, const std::string& media_type);
    // GET of a manifest or index by tag or digest; verified against the digest asked for,
    // or the one the registry announces.
    util::Result<FetchedManifest> get_manifest(const std::string& repository,
                                               const std::string& reference);
    // Downloads a blob into the layout (verified before it is stored).
    util::Status get_blob(const std::string& repository, const Descriptor& blob,
                          ImageLayout& layout);

    // Requests sent so far (retries and token requests included).
    int requests_sent() const { return requests_; }

private:
    util::Result<http::Response> send(http::Request request, const std::string& scope);
    util::Status authenticate(const http::Response& challenge_answer, const std::string& scope);
    std::string url(const std::string& path) const;
    std::string absolute(const std::string& location) const;
    util::Result<std::string> start_upload(const std::string& repository);
    void log(const std::string& line) const;

    http::HttpClient& http_;
    std::string registry_;
    std::string base_;  // "http://host:port"
    ClientOptions options_;
    bool basic_ = false;                          // the registry asked for Basic
    std::map<std::string, std::string> tokens_;   // scope -> bearer token
    int requests_ = 0;
};

// "repository:NAME:pull" / "repository:NAME:pull,push"
std::string pull_scope(const std::string& repository);
std::string push_scope(const std::string& repository);

// The message of a distribution error answer ({"errors": [{"code", "message"}]}), or the
// start of the body.
std::string error_text(const http::Response& response);

}  // namespace sluice::oci
