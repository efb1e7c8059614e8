// SHA-256 of bytes, as lowercase hex: stable names for things keyed by text (a mirror
// directory per remote URL) and, later, content hashes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::util {

// Incremental SHA-256 (FIPS 180-4).
class Sha256 {
public:
    Sha256();
    void update(std::string_view bytes);
    // The digest; the object must not be updated afterwards.
    std::array<std::uint8_t, 32> finish();

private:
    void block(const std::uint8_t* p);

    std::array<std::uint32_t, 8> state_;
    std::array<std::uint8_t, 64> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t length_ = 0;
};

// The SHA-256 of `bytes` as 64 lowercase hex digits.
std::string sha256_hex(std::string_view bytes);

}  // namespace sluice::util
