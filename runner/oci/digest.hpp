// Content digests of OCI blobs: "sha256:" + 64 lowercase hex digits. Only SHA-256 is
// produced; a digest of another algorithm is refused when read (fail closed).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "runner/util/error.hpp"

namespace sluice::oci {

struct Digest {
    std::string hex;  // 64 lowercase hex digits

    std::string to_string() const { return "sha256:" + hex; }
    bool operator==(const Digest&) const = default;
    auto operator<=>(const Digest&) const = default;
};

// "sha256:<64 hex>" (hex of either case, kept lowercase); bad_input otherwise.
util::Result<Digest> parse_digest(std::string_view text);

Digest digest_of(std::string_view bytes);

// The digest of a file's content, read in pieces; io error when it cannot be read.
util::Result<Digest> digest_of_file(const std::filesystem::path& path);

}  // namespace sluice::oci
