// Checking user, group and environment names and the free-text fields of the access
// file.
#include "runner/access/names.hpp"

#include <string>

namespace sluice::access {

namespace {

bool is_letter_or_digit(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_name_char(char c) {
    return is_letter_or_digit(c) || c == '.' || c == '_' || c == '-' || c == '@';
}

// The character as the user would recognise it in an error message.
std::string shown(char c) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte >= 0x7f) {
        static constexpr char k_hex[] = "0123456789abcdef";
        return std::string("byte 0x") + k_hex[byte >> 4] + k_hex[byte & 0xf];
    }
    return "`" + std::string(1, c) + "`";
}

}  // namespace

util::Status check_name(std::string_view what, std::string_view name) {
    if (name.empty())
        return util::fail(util::ErrorCode::bad_input, std::string(what) + " is empty");
    std::string quoted = std::string(what) + " `" + std::string(name) + "`";
    if (name.size() > k_max_name_length) {
        return util::fail(util::ErrorCode::bad_input, std::string(what) + " is longer than " +
                                                          std::to_string(k_max_name_length) +
                                                          " characters");
    }
    for (char c : name) {
        if (!is_name_char(c)) {
            return util::fail(util::ErrorCode::bad_input,
                              quoted + " has " + shown(c) +
                                  "; names may hold only letters, digits, `.`, `_`, `-` and `@`");
        }
    }
    if (!is_letter_or_digit(name.front())) {
        return util::fail(util::ErrorCode::bad_input,
                          quoted + " must start with a letter or a digit");
    }
    return {};
}

util::Status check_user_name(std::string_view name) {
    if (auto ok = check_name("user name", name); !ok) return ok;
    if (name.starts_with("tok_")) {
        return util::fail(util::ErrorCode::bad_input,
                          "user name `" + std::string(name) +
                              "` starts with `tok_`, which is kept for token ids");
    }
    return {};
}

util::Status check_email(std::string_view email) {
    auto at = email.find('@');
    bool shaped = at != std::string_view::npos && at > 0 && at + 1 < email.size() &&
                  email.find('@', at + 1) == std::string_view::npos && email.size() <= 254;
    for (char c : email) {
        auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte == 0x7f) shaped = false;
    }
    if (!shaped) {
        return util::fail(util::ErrorCode::bad_input,
                          "`" + std::string(email) + "` is not an email address");
    }
    return {};
}

util::Status check_free_text(std::string_view what, std::string_view text) {
    if (text.size() > 200) {
        return util::fail(util::ErrorCode::bad_input,
                          std::string(what) + " is longer than 200 bytes");
    }
    for (char c : text) {
        auto byte = static_cast<unsigned char>(c);
        if (byte < 0x20 || byte == 0x7f) {
            return util::fail(util::ErrorCode::bad_input,
                              std::string(what) + " has a control character");
        }
    }
    return {};
}

}  // namespace sluice::access
