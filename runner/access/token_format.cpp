// Making and taking apart token text.
#include "runner/access/token_format.hpp"

#include "runner/access/secret_hash.hpp"

namespace sluice::access {

namespace {

constexpr std::string_view k_id_prefix = "tok_";
constexpr std::size_t k_id_hex_digits = 6;
constexpr std::size_t k_secret_bytes = 32;

bool all_lower_hex(std::string_view text) {
    for (char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

}  // namespace

bool is_token_id(std::string_view text) {
    return text.size() == k_id_prefix.size() + k_id_hex_digits && text.starts_with(k_id_prefix) &&
           all_lower_hex(text.substr(k_id_prefix.size()));
}

std::optional<std::string> token_id_of(std::string_view token) {
    if (!token.starts_with(k_token_prefix)) return std::nullopt;
    token.remove_prefix(k_token_prefix.size());
    std::size_t id_size = k_id_prefix.size() + k_id_hex_digits;
    if (token.size() != id_size + 1 + 2 * k_secret_bytes) return std::nullopt;
    std::string_view id = token.substr(0, id_size);
    if (!is_token_id(id) || token[id_size] != '_') return std::nullopt;
    if (!all_lower_hex(token.substr(id_size + 1))) return std::nullopt;
    return std::string(id);
}

util::Result<std::string> new_token_id() {
    auto hex = random_hex(k_id_hex_digits / 2);
    if (!hex) return std::unexpected(hex.error());
    return std::string(k_id_prefix) + *hex;
}

util::Result<std::string> new_user_token(std::string_view id) {
    auto secret = random_hex(k_secret_bytes);
    if (!secret) return std::unexpected(secret.error());
    return std::string(k_token_prefix) + std::string(id) + "_" + *secret;
}

util::Result<std::string> new_environment_token() {
    auto secret = random_hex(k_secret_bytes);
    if (!secret) return std::unexpected(secret.error());
    return std::string(k_environment_token_prefix) + *secret;
}

}  // namespace sluice::access
