// PBKDF2-HMAC-SHA256 hashing, random bytes and constant-time comparison through
// OpenSSL's libcrypto.
#include "runner/access/secret_hash.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <optional>
#include <vector>

namespace sluice::access {

namespace {

constexpr std::size_t k_salt_bytes = 16;
constexpr std::size_t k_hash_bytes = 32;

std::string to_hex(const unsigned char* data, std::size_t size) {
    static constexpr char k_digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out += k_digits[data[i] >> 4];
        out += k_digits[data[i] & 0xf];
    }
    return out;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::vector<unsigned char>> from_hex(std::string_view hex) {
    if (hex.size() % 2 != 0) return std::nullopt;
    std::vector<unsigned char> out(hex.size() / 2);
    for (std::size_t i = 0; i < out.size(); ++i) {
        int high = hex_value(hex[2 * i]);
        int low = hex_value(hex[2 * i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        out[i] = static_cast<unsigned char>(high * 16 + low);
    }
    return out;
}

std::optional<std::array<unsigned char, k_hash_bytes>> derive(
    std::string_view secret, const std::vector<unsigned char>& salt, int iterations) {
    std::array<unsigned char, k_hash_bytes> out{};
    int ok = PKCS5_PBKDF2_HMAC(secret.data(), static_cast<int>(secret.size()), salt.data(),
                               static_cast<int>(salt.size()), iterations, EVP_sha256(),
                               static_cast<int>(out.size()), out.data());
    if (ok != 1) return std::nullopt;
    return out;
}

}  // namespace

util::Result<std::string> random_hex(std::size_t bytes) {
    std::vector<unsigned char> buffer(bytes);
    if (RAND_bytes(buffer.data(), static_cast<int>(buffer.size())) != 1) {
        return util::fail(util::ErrorCode::internal,
                          "the system's random number generator (OpenSSL RAND_bytes) failed");
    }
    std::string hex = to_hex(buffer.data(), buffer.size());
    OPENSSL_cleanse(buffer.data(), buffer.size());
    return hex;
}

util::Result<SecretHash> hash_secret(std::string_view secret, int iterations) {
    if (iterations < k_min_iterations || iterations > k_max_iterations) {
        return util::fail(
            util::ErrorCode::internal,
            "PBKDF2 iteration count " + std::to_string(iterations) + " is out of range");
    }
    auto salt_hex = random_hex(k_salt_bytes);
    if (!salt_hex) return std::unexpected(salt_hex.error());
    auto salt = from_hex(*salt_hex);
    auto hash = derive(secret, *salt, iterations);
    if (!hash) return util::fail(util::ErrorCode::internal, "PBKDF2 (OpenSSL) failed");
    return SecretHash{std::string(k_kdf_pbkdf2_sha256), iterations, *salt_hex,
                      to_hex(hash->data(), hash->size())};
}

bool verify_secret(const SecretHash& stored, std::string_view secret) {
    if (stored.kdf != k_kdf_pbkdf2_sha256) return false;
    if (stored.iterations < k_min_iterations || stored.iterations > k_max_iterations) return false;
    auto salt = from_hex(stored.salt_hex);
    auto expected = from_hex(stored.hash_hex);
    if (!salt || salt->empty() || !expected || expected->size() != k_hash_bytes) return false;
    auto actual = derive(secret, *salt, stored.iterations);
    if (!actual) return false;
    return CRYPTO_memcmp(actual->data(), expected->data(), k_hash_bytes) == 0;
}

}  // namespace sluice::access
