// The names the access file holds (users, groups, protected environments) and the
// small free-text fields beside them, checked before anything is stored so that a
// name is always safe to print, to put in an approvers list and to match exactly.
#pragma once

#include <string_view>

#include "runner/util/error.hpp"

namespace sluice::access {

// Longest user, group or environment name (an email address fits).
inline constexpr std::size_t k_max_name_length = 128;

// A user, group or environment name: letters, digits, `.`, `_`, `-` and `@`, starting
// with a letter or digit, at most k_max_name_length characters. `what` names the kind
// in the error ("user name", "group name", "environment name"). bad_input otherwise.
util::Status check_name(std::string_view what, std::string_view name);

// A user name: check_name, and not shaped like a token id (`tok_...`), so that
// `sluice access revoke X` is never ambiguous.
util::Status check_user_name(std::string_view name);

// An email address: one `@` with text on both sides, no spaces or control characters.
util::Status check_email(std::string_view email);

// A token label or a display name: printable text (UTF-8 allowed), no control
// characters, at most 200 bytes. `what` names the field in the error.
util::Status check_free_text(std::string_view what, std::string_view text);

}  // namespace sluice::access
