// Secrets (tokens) as the access file keeps them: never the secret, only a salted
// PBKDF2-HMAC-SHA256 hash with its salt and iteration count, compared in constant
// time. Random bytes come from OpenSSL's CSPRNG.
#pragma once

#include <string>
#include <string_view>

#include "runner/util/error.hpp"

namespace sluice::access {

// The only key derivation the access file knows today (its records name it, so a
// later one can be added beside it).
inline constexpr std::string_view k_kdf_pbkdf2_sha256 = "pbkdf2-sha256";

// Iterations for new hashes: one check takes about 2.5 ms on a 2-core Xeon (measured
// with OpenSSL 3). Every record keeps its own count, so raising this later leaves old
// records valid. The secrets are 256 random bits, so the stretching is a second line
// of defence, not what keeps them unguessable.
inline constexpr int k_default_iterations = 5000;

// Counts a record may hold: fewer is too weak to accept, more would let a tampered
// file make each check take minutes.
inline constexpr int k_min_iterations = 1000;
inline constexpr int k_max_iterations = 10'000'000;

struct SecretHash {
    std::string kdf = std::string(k_kdf_pbkdf2_sha256);
    int iterations = k_default_iterations;
    std::string salt_hex;  // 16 random bytes
    std::string hash_hex;  // 32 bytes of PBKDF2 output
};

// `bytes` random bytes from RAND_bytes as lowercase hex; internal error when the
// CSPRNG fails.
util::Result<std::string> random_hex(std::size_t bytes);

// A new random salt, then the hash of `secret` with it.
util::Result<SecretHash> hash_secret(std::string_view secret,
                                     int iterations = k_default_iterations);

// Whether `secret` hashes to `stored` (same salt and count), compared with
// CRYPTO_memcmp. False for a record it cannot use (unknown kdf, bad hex).
bool verify_secret(const SecretHash& stored, std::string_view secret);

}  // namespace sluice::access
