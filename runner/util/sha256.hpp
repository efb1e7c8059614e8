// SHA-256 of bytes, through OpenSSL's EVP interface (which uses the CPU's SHA
// instructions where it has them): stable names for things keyed by text (a mirror
// directory per remote URL) and content hashes (the stage cache).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace sluice::util {

using Sha256Digest = std::array<std::uint8_t, 32>;

// Incremental SHA-256 (FIPS 180-4). Movable, not copyable; a moved-from object may
// only be destroyed or assigned to.
class Sha256 {
  public:
    Sha256();  // throws std::bad_alloc / std::runtime_error when OpenSSL cannot start one
    ~Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(std::string_view bytes);
    // The digest; the object must not be updated afterwards.
    std::array<std::uint8_t, 32> finish();

  private:
    struct ContextFree {
        void operator()(void* context) const noexcept;
    };
    std::unique_ptr<void, ContextFree> context_;  // an EVP_MD_CTX (kept out of this header)
};

// The SHA-256 of `bytes` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);

// A digest as 64 lowercase hex digits.
std::string digest_hex(const Sha256Digest& digest);

// The digest written as 64 hex digits (either case); false when `hex` is not one.
bool parse_digest_hex(std::string_view hex, Sha256Digest& digest);

}  // namespace sluice::util
