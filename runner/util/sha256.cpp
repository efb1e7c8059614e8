// SHA-256 through OpenSSL's EVP digests (EVP_MD_CTX, EVP_sha256).
#include "runner/util/sha256.hpp"

#include <openssl/evp.h>

#include <new>
#include <stdexcept>

namespace sluice::util {

namespace {

constexpr char k_hex_digits[] = "0123456789abcdef";

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace

void Sha256::ContextFree::operator()(void* context) const noexcept {
    EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(context));
}

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
    if (!context_) throw std::bad_alloc();
    if (EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(context_.get()), EVP_sha256(), nullptr) != 1) {
        throw std::runtime_error("OpenSSL cannot start a SHA-256 digest");
    }
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::string_view bytes) {
    // EVP_DigestUpdate only fails for a finished context (a bug).
    auto* context = static_cast<EVP_MD_CTX*>(context_.get());
    if (context == nullptr || EVP_DigestUpdate(context, bytes.data(), bytes.size()) != 1) {
        throw std::logic_error("SHA-256 update on a finished or moved-from digest");
    }
}

std::array<std::uint8_t, 32> Sha256::finish() {
    std::array<std::uint8_t, 32> out{};
    unsigned int length = 0;
    auto* context = static_cast<EVP_MD_CTX*>(context_.get());
    if (context == nullptr || EVP_DigestFinal_ex(context, out.data(), &length) != 1 ||
        length != out.size()) {
        throw std::logic_error("SHA-256 finish on a finished or moved-from digest");
    }
    return out;
}

std::string sha256_hex(std::string_view bytes) {
    Sha256 h;
    h.update(bytes);
    return digest_hex(h.finish());
}

std::string digest_hex(const Sha256Digest& digest) {
    std::string out(digest.size() * 2, '\0');
    for (std::size_t i = 0; i < digest.size(); ++i) {
        out[2 * i] = k_hex_digits[digest[i] >> 4];
        out[2 * i + 1] = k_hex_digits[digest[i] & 0xf];
    }
    return out;
}

bool parse_digest_hex(std::string_view hex, Sha256Digest& digest) {
    if (hex.size() != digest.size() * 2) return false;
    Sha256Digest parsed{};
    for (std::size_t i = 0; i < parsed.size(); ++i) {
        int high = hex_value(hex[2 * i]);
        int low = hex_value(hex[2 * i + 1]);
        if (high < 0 || low < 0) return false;
        parsed[i] = static_cast<std::uint8_t>(high << 4 | low);
    }
    digest = parsed;
    return true;
}

}  // namespace sluice::util
