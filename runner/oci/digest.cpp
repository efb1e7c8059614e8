// Digests over util::Sha256.
#include "runner/oci/digest.hpp"

#include <fstream>
#include <vector>

#include "runner/util/sha256.hpp"

namespace sluice::oci {

util::Result<Digest> parse_digest(std::string_view text) {
    constexpr std::string_view k_prefix = "sha256:";
    if (!text.starts_with(k_prefix)) {
        return util::fail(util::ErrorCode::bad_input,
                          "unsupported digest " + std::string(text) + " (only sha256:... is)");
    }
    util::Sha256Digest bytes{};
    if (!util::parse_digest_hex(text.substr(k_prefix.size()), bytes)) {
        return util::fail(util::ErrorCode::bad_input, "not a sha256 digest: " + std::string(text));
    }
    return Digest{util::digest_hex(bytes)};
}

Digest digest_of(std::string_view bytes) { return Digest{util::sha256_hex(bytes)}; }

util::Result<Digest> digest_of_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return util::fail(util::ErrorCode::io, "cannot read " + path.string());
    util::Sha256 sha;
    std::vector<char> buffer(1 << 16);
    while (in) {
        in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
        sha.update(std::string_view(buffer.data(), static_cast<std::size_t>(in.gcount())));
    }
    if (in.bad()) return util::fail(util::ErrorCode::io, "cannot read " + path.string());
    return Digest{util::digest_hex(sha.finish())};
}

}  // namespace sluice::oci
