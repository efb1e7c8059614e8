// DistributionClient: every request goes through send(), which adds the authorization
// the registry asked for, follows one challenge per request and retries what may pass
// on a second try.
#include "runner/oci/distribution_client.hpp"

#include <algorithm>
#include <thread>

#include "runner/http/auth.hpp"
#include "runner/oci/media_types.hpp"
#include "runner/oci/reference.hpp"

namespace sluice::oci {

namespace {

bool retryable(int status) { return status == 429 || (status >= 500 && status <= 599); }

std::string with_query(const std::string& url, const std::string& param) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") + param;
}

std::string status_text(const http::Response& r) {
    std::string text = "HTTP " + std::to_string(r.status);
    std::string detail = error_text(r);
    return detail.empty() ? text : text + ": " + detail;
}

}  // namespace

std::string pull_scope(const std::string& repository) { return "repository:" + repository + ":pull"; }
std::string push_scope(const std::string& repository) {
    return "repository:" + repository + ":pull,push";
}

std::string error_text(const http::Response& response) {
    auto json = nlohmann::json::parse(response.body, nullptr, false);
    if (json.is_object() && json.contains("errors") && json["errors"].is_array()) {
        std::string out;
        for (const auto& e : json["errors"]) {
            if (!e.is_object()) continue;
            std::string one = e.value("code", std::string());
            std::string message = e.value("message", std::string());
            if (!message.empty()) one += (one.empty() ? "" : ": ") + message;
            out += (out.empty() ? "" : "; ") + one;
        }
        if (!out.empty()) return out;
    }
    std::string body = response.body.substr(0, 200);
    std::replace(body.begin(), body.end(), '\n', ' ');
    return body;
}

DistributionClient::DistributionClient(http::HttpClient& http, std::string registry,
                                       ClientOptions options)
    : http_(http), registry_(std::move(registry)), options_(std::move(options)) {
    base_ = api_scheme(registry_, options_.insecure) + "://" + api_host(registry_);
    if (!options_.sleep) options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

void DistributionClient::log(const std::string& line) const {
    if (options_.log) options_.log(line);
}

std::string DistributionClient::url(const std::string& path) const { return base_ + path; }

std::string DistributionClient::absolute(const std::string& location) const {
    if (location.starts_with("http://") || location.starts_with("https://")) return location;
    if (location.starts_with("/")) return base_ + location;
    return base_ + "/" + location;
}

util::Status DistributionClient::authenticate(const http::Response& answer,
                                              const std::string& scope) {
    auto header = answer.header("www-authenticate");
    if (!header) {
        return util::fail(util::ErrorCode::unavailable,
                          "registry " + registry_ + " answered 401 without a challenge");
    }
    auto challenge = parse_challenge(*header);
    if (!challenge) return std::unexpected(challenge.error());
    if (challenge->scheme == "basic") {
        if (!options_.credentials) {
            return util::fail(util::ErrorCode::unavailable,
                              "registry " + registry_ +
                                  " requires authentication and no credentials were given for it "
                                  "(credentials:, or auths in ~/.docker/config.json)");
        }
        basic_ = true;
        return {};
    }
    if (challenge->scheme != "bearer") {
        return util::fail(util::ErrorCode::unavailable, "registry " + registry_ +
                                                            " asks for unsupported authentication " +
                                                            challenge->scheme);
    }
    if (!challenge->params.count("realm")) {
        return util::fail(util::ErrorCode::unavailable,
                          "registry " + registry_ + " sent a Bearer challenge without a realm");
    }
    http::Request token_request;
    token_request.url = token_url(*challenge, scope);
    if (options_.credentials) {
        token_request.headers.push_back({"Authorization",
                                         http::basic_authorization(options_.credentials->username,
                                                                   options_.credentials->password)});
    }
    util::Result<http::Response> answer_of_token = util::fail(util::ErrorCode::unavailable, "");
    auto delay = options_.retry.first_delay;
    for (int attempt = 1;; ++attempt) {
        ++requests_;
        answer_of_token = http_.send(token_request);
        bool again = !answer_of_token || retryable(answer_of_token->status);
        if (!again || attempt >= options_.retry.attempts) break;
        options_.sleep(delay);
        delay = std::min(delay * 2, options_.retry.max_delay);
    }
    if (!answer_of_token) return std::unexpected(answer_of_token.error());
    if (answer_of_token->status == 401 || answer_of_token->status == 403) {
        return util::fail(util::ErrorCode::unavailable,
                          "the token server of " + registry_ + " refused " +
                              (options_.credentials ? "the credentials of " +
                                                          options_.credentials->username
                                                    : std::string("anonymous access")) +
                              " (" + status_text(*answer_of_token) + ")");
    }
    if (answer_of_token->status != 200) {
        return util::fail(util::ErrorCode::unavailable, "the token server of " + registry_ +
                                                            " answered " +
                                                            status_text(*answer_of_token));
    }
    auto token = token_from_answer(answer_of_token->body);
    if (!token) return std::unexpected(token.error());
    tokens_[scope] = *token;
    return {};
}

util::Result<http::Response> DistributionClient::send(http::Request request,
                                                      const std::string& scope) {
    std::string what = std::string(http::to_string(request.method)) + " " + request.url;
    bool challenged = false;
    auto delay = options_.retry.first_delay;
    int attempt = 1;
    for (;;) {
        http::Request r = request;
        if (auto token = tokens_.find(scope); token != tokens_.end()) {
            r.headers.push_back({"Authorization", http::bearer_authorization(token->second)});
        } else if (basic_ && options_.credentials) {
            r.headers.push_back({"Authorization",
                                 http::basic_authorization(options_.credentials->username,
                                                           options_.credentials->password)});
        }
        ++requests_;
        auto answer = http_.send(r);
        if (answer && answer->status == 401) {
            if (challenged) {
                return util::fail(util::ErrorCode::unavailable,
                                  "registry " + registry_ + " refused " +
                                      (options_.credentials
                                           ? "the credentials of " + options_.credentials->username
                                           : std::string("anonymous access")) +
                                      " (" + what + ": " + status_text(*answer) + ")");
            }
            challenged = true;
            if (auto ok = authenticate(*answer, scope); !ok) return std::unexpected(ok.error());
            continue;  // the same request, now with the authorization asked for
        }
        bool again = !answer || retryable(answer->status);
        if (!again) return answer;
        if (attempt >= options_.retry.attempts) {
            if (!answer) {
                return util::fail(util::ErrorCode::unavailable,
                                  "registry " + registry_ + " cannot be reached after " +
                                      std::to_string(attempt) + " tries: " + answer.error().message);
            }
            return util::fail(util::ErrorCode::unavailable,
                              "registry " + registry_ + " still failing after " +
                                  std::to_string(attempt) + " tries (" + what + ": " +
                                  status_text(*answer) + ")");
        }
        log("  " + what + ": " + (answer ? status_text(*answer) : answer.error().message) +
            "; retrying in " + std::to_string(delay.count()) + " ms");
        options_.sleep(delay);
        delay = std::min(delay * 2, options_.retry.max_delay);
        ++attempt;
    }
}

util::Result<bool> DistributionClient::has_blob(const std::string& repository,
                                                const Digest& digest) {
    http::Request r;
    r.method = http::Method::head;
    r.url = url("/v2/" + repository + "/blobs/" + digest.to_string());
    auto answer = send(r, push_scope(repository));
    if (!answer) return std::unexpected(answer.error());
    if (answer->status == 200) return true;
    if (answer->status == 404) return false;
    return util::fail(util::ErrorCode::unavailable, "HEAD " + r.url + ": " + status_text(*answer));
}

util::Result<bool> DistributionClient::mount_blob(const std::string& repository,
                                                  const Digest& digest, const std::string& from) {
    http::Request r;
    r.method = http::Method::post;
    r.url = url("/v2/" + repository + "/blobs/uploads/?mount=" + digest.to_string() +
                "&from=" + from);
    auto answer = send(r, push_scope(repository));
    if (!answer) return std::unexpected(answer.error());
    if (answer->status == 201) return true;
    if (answer->status == 202) {
        // The registry started an upload instead; cancel it, the caller uploads anew.
        if (auto location = answer->header("location")) {
            http::Request cancel;
            cancel.method = http::Method::del;
            cancel.url = absolute(std::string(*location));
            (void)send(cancel, push_scope(repository));
        }
        return false;
    }
    return util::fail(util::ErrorCode::unavailable, "POST " + r.url + ": " + status_text(*answer));
}

util::Result<std::string> DistributionClient::start_upload(const std::string& repository) {
    http::Request r;
    r.method = http::Method::post;
    r.url = url("/v2/" + repository + "/blobs/uploads/");
    auto answer = send(r, push_scope(repository));
    if (!answer) return std::unexpected(answer.error());
    auto location = answer->header("location");
    if (answer->status != 202 || !location) {
        return util::fail(util::ErrorCode::unavailable,
                          "POST " + r.url + ": " + status_text(*answer) +
                              (answer->status == 202 ? " (no Location)" : ""));
    }
    return absolute(std::string(*location));
}

util::Status DistributionClient::upload_blob(const std::string& repository,
                                             const std::filesystem::path& file,
                                             const Descriptor& blob) {
    if (static_cast<std::uint64_t>(blob.size) > options_.chunk_threshold) {
        return upload_chunked(repository, file, blob);
    }
    return upload_monolithic(repository, file, blob);
}

namespace {

util::Status check_created(const http::Response& answer, const std::string& what,
                           const Descriptor& blob) {
    if (answer.status != 201) {
        return util::fail(util::ErrorCode::unavailable, what + ": " + status_text(answer));
    }
    auto digest = answer.header("docker-content-digest");
    if (digest && *digest != blob.digest.to_string()) {
        return util::fail(util::ErrorCode::unavailable,
                          "digest mismatch: the registry stored " + std::string(*digest) +
                              " for blob " + blob.digest.to_string());
    }
    return {};
}

}  // namespace

util::Status DistributionClient::upload_monolithic(const std::string& repository,
                                                   const std::filesystem::path& file,
                                                   const Descriptor& blob) {
    auto location = start_upload(repository);
    if (!location) return std::unexpected(location.error());
    http::Request r;
    r.method = http::Method::put;
    r.url = with_query(*location, "digest=" + blob.digest.to_string());
    r.headers.push_back({"Content-Type", "application/octet-stream"});
    r.body_file = file;
    r.body_length = static_cast<std::uint64_t>(blob.size);
    r.total_timeout = std::chrono::minutes(30);
    auto answer = send(r, push_scope(repository));
    if (!answer) return std::unexpected(answer.error());
    return check_created(*answer, "PUT " + r.url, blob);
}

util::Status DistributionClient::upload_chunked(const std::string& repository,
                                                const std::filesystem::path& file,
                                                const Descriptor& blob) {
    auto location = start_upload(repository);
    if (!location) return std::unexpected(location.error());
    std::string at = *location;
    auto total = static_cast<std::uint64_t>(blob.size);
    std::uint64_t chunk = std::max<std::uint64_t>(options_.chunk_size, 1);
    for (std::uint64_t offset = 0; offset < total; offset += chunk) {
        std::uint64_t length = std::min(chunk, total - offset);
        http::Request r;
        r.method = http::Method::patch;
        r.url = at;
        r.headers.push_back({"Content-Type", "application/octet-stream"});
        r.headers.push_back({"Content-Range", std::to_string(offset) + "-" +
                                                  std::to_string(offset + length - 1)});
        r.body_file = file;
        r.body_offset = offset;
        r.body_length = length;
        r.total_timeout = std::chrono::minutes(10);
        auto answer = send(r, push_scope(repository));
        if (!answer) return std::unexpected(answer.error());
        auto next = answer->header("location");
        if (answer->status != 202 || !next) {
            return util::fail(util::ErrorCode::unavailable,
                              "PATCH " + r.url + " (bytes " + std::to_string(offset) + "-" +
                                  std::to_string(offset + length - 1) +
                                  "): " + status_text(*answer));
        }
        at = absolute(std::string(*next));
    }
    http::Request done;
    done.method = http::Method::put;
    done.url = with_query(at, "digest=" + blob.digest.to_string());
    done.headers.push_back({"Content-Type", "application/octet-stream"});
    auto answer = send(done, push_scope(repository));
    if (!answer) return std::unexpected(answer.error());
    return check_created(*answer, "PUT " + done.url, blob);
}

util::Result<Digest> DistributionClient::put_manifest(const std::string& repository,
                                                      const std::string& reference,
                                                      const std::string& bytes,
                                                      const std::string& media_type) {
    http::Request r;
    r.method = http::Method::put;
    r.url = url("/v2/" + repository + "/manifests/" + reference);
    r.headers.push_back({"Content-Type", media_type});
    r.body = bytes;
    auto answer = send(r, push_scope(repository));
    if (!answer) return std::unexpected(answer.error());
    if (answer->status != 201) {
        return util::fail(util::ErrorCode::unavailable, "PUT " + r.url + ": " + status_text(*answer));
    }
    Digest ours = digest_of(bytes);
    if (auto theirs = answer->header("docker-content-digest"); theirs && *theirs != ours.to_string()) {
        return util::fail(util::ErrorCode::unavailable,
                          "digest mismatch: the registry stored the manifest as " +
                              std::string(*theirs) + ", sluice sent " + ours.to_string());
    }
    return ours;
}

util::Result<FetchedManifest> DistributionClient::get_manifest(const std::string& repository,
                                                               const std::string& reference) {
    http::Request r;
    r.url = url("/v2/" + repository + "/manifests/" + reference);
    r.headers.push_back({"Accept", std::string(media::k_oci_index) + ", " +
                                       std::string(media::k_oci_manifest) + ", " +
                                       std::string(media::k_docker_list) + ", " +
                                       std::string(media::k_docker_manifest)});
    auto answer = send(r, pull_scope(repository));
    if (!answer) return std::unexpected(answer.error());
    if (answer->status == 404) {
        return util::fail(util::ErrorCode::not_found,
                          "no image " + registry_ + "/" + repository + ":" + reference +
                              " (" + status_text(*answer) + ")");
    }
    if (answer->status != 200) {
        return util::fail(util::ErrorCode::unavailable, "GET " + r.url + ": " + status_text(*answer));
    }
    FetchedManifest m;
    m.bytes = answer->body;
    m.digest = digest_of(m.bytes);
    std::string expected;
    if (reference.starts_with("sha256:")) {
        expected = reference;
    } else if (auto header = answer->header("docker-content-digest")) {
        expected = std::string(*header);
    }
    if (!expected.empty() && expected != m.digest.to_string()) {
        return util::fail(util::ErrorCode::unavailable, "digest mismatch: " + r.url + " is " +
                                                            m.digest.to_string() +
                                                            ", expected " + expected);
    }
    m.media_type = answer->media_type();
    auto json = nlohmann::json::parse(m.bytes, nullptr, false);
    if (json.is_discarded() || !json.is_object()) {
        return util::fail(util::ErrorCode::unavailable, "GET " + r.url + ": not a JSON manifest");
    }
    if (m.media_type.empty() || m.media_type == "application/json") {
        m.media_type = json.value("mediaType", std::string(media::k_oci_manifest));
    }
    return m;
}

util::Status DistributionClient::get_blob(const std::string& repository, const Descriptor& blob,
                                          ImageLayout& layout) {
    if (layout.has_blob(blob.digest)) return {};
    auto temp = layout.temp_path();
    auto drop = [&] {
        std::error_code ec;
        std::filesystem::remove(temp, ec);
    };
    http::Request r;
    r.url = url("/v2/" + repository + "/blobs/" + blob.digest.to_string());
    r.download_file = temp;
    r.total_timeout = std::chrono::minutes(30);
    auto answer = send(r, pull_scope(repository));
    // Storage behind a redirect (S3, a CDN) gets no registry authorization.
    for (int hops = 0; answer && answer->status >= 300 && answer->status < 400 && hops < 3; ++hops) {
        auto location = answer->header("location");
        if (!location) break;
        http::Request follow;
        follow.url = absolute(std::string(*location));
        follow.download_file = temp;
        follow.total_timeout = r.total_timeout;
        ++requests_;
        answer = http_.send(follow);
    }
    if (!answer) {
        drop();
        return std::unexpected(answer.error());
    }
    if (answer->status != 200) {
        drop();
        return util::fail(util::ErrorCode::unavailable, "GET " + r.url + ": " + status_text(*answer));
    }
    auto adopted = layout.adopt_file(temp, blob.media_type, blob.digest, blob.size);
    if (!adopted) {
        return util::fail(adopted.error().code, "blob " + blob.digest.to_string() + " of " +
                                                    registry_ + "/" + repository + ": " +
                                                    adopted.error().message);
    }
    return {};
}

}  // namespace sluice::oci
