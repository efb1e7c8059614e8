// Image references as users write them: `[host[:port]/]repo[:tag][@sha256:...]`, with
// Docker's defaults (no host: docker.io; a one-part Docker Hub name: library/NAME; no tag
// and no digest: latest), and the registry's API endpoint (scheme and host).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runner/util/error.hpp"

namespace sluice::oci {

struct Reference {
    std::string registry;    // "docker.io", "127.0.0.1:5000", "ghcr.io"
    std::string repository;  // "library/alpine", "team/churn"
    std::string tag;         // empty when only a digest is given
    std::string digest;      // "sha256:..." or empty

    // "registry/repository:tag" (and "@digest" when given).
    std::string to_string() const;
    // "registry/repository" without tag or digest.
    std::string name() const;
    // The tag, else the digest: what the manifest is fetched by.
    std::string tag_or_digest() const { return digest.empty() ? tag : digest; }
};

// Parses a reference; bad_input (saying what is wrong) for anything else.
util::Result<Reference> parse_reference(std::string_view text);

// The host the registry API answers on ("docker.io" is "registry-1.docker.io").
std::string api_host(const std::string& registry);

// "http" for loopback registries (localhost, 127.x, [::1]) and for the hosts listed in
// `insecure` (host or host:port), "https" for every other one.
std::string api_scheme(const std::string& registry, const std::vector<std::string>& insecure);

// "scheme://api_host/v2/"
std::string api_base(const std::string& registry, const std::vector<std::string>& insecure);

}  // namespace sluice::oci
