// How tokens look. A user's token is `slc_tok_3f9a2c_<64 hex digits>`: the public
// id `tok_3f9a2c` lets authenticate() find its record without trying every hash,
// and the 32 random bytes after it are the secret. An environment token is
// `slc_env_<64 hex digits>`. The `slc_` prefix makes both easy to spot in a leaked
// log or a secret scanner.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runner/util/error.hpp"

namespace sluice::access {

inline constexpr std::string_view k_token_prefix = "slc_";
inline constexpr std::string_view k_environment_token_prefix = "slc_env_";

// Where the runner finds a user's token (an environment's: environment_token.hpp).
inline constexpr std::string_view k_token_variable = "SLUICE_TOKEN";

// Whether `text` has the shape of a token id (`tok_` and 6 lowercase hex digits).
bool is_token_id(std::string_view text);

// The id inside a user's token, or nullopt when the text is not shaped like one.
std::optional<std::string> token_id_of(std::string_view token);

// A fresh random token id.
util::Result<std::string> new_token_id();

// A fresh user token for `id`, or a fresh environment token.
util::Result<std::string> new_user_token(std::string_view id);
util::Result<std::string> new_environment_token();

}  // namespace sluice::access
