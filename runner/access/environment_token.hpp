// The token a runner presents for an environment, and the one check every write to an
// environment goes through (a deploy, its promotion and record, a rollback, moving a
// registry alias by hand). An environment is protected when the access file holds a
// token for it (`sluice access protect ENV`) or sluice.yml says `protected: true`; a
// write to it needs that environment's own token, from (first set wins):
//   SLUICE_ENV_TOKEN_<ENV>       the token itself
//   SLUICE_ENV_TOKEN_FILE_<ENV>  the path of a file holding it (trailing space ignored)
//   SLUICE_PROD_TOKEN            deprecated, and for `production` only
// where <ENV> is the environment's name upper-cased, anything but A-Z and 0-9 as `_`.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runner/access/access_model.hpp"
#include "runner/util/error.hpp"

namespace sluice::access {

// The value of an environment variable, nullopt when unset. Callers pass the process's
// (process_variables) or a runner environment of their own; tests pass a map.
using VariableLookup = std::function<std::optional<std::string>(const std::string& name)>;

// getenv().
VariableLookup process_variables();

// SLUICE_ENV_TOKEN_<ENV> and SLUICE_ENV_TOKEN_FILE_<ENV> for `environment`.
std::string environment_token_variable(std::string_view environment);
std::string environment_token_file_variable(std::string_view environment);

// The variable that was deprecated in favour of the ones above (production only).
inline constexpr std::string_view k_deprecated_token_variable = "SLUICE_PROD_TOKEN";

struct PresentedToken {
    std::string token;    // empty when none was presented
    std::string source;   // where it came from ("SLUICE_ENV_TOKEN_PRODUCTION", ...)
    std::string warning;  // for the person when non-empty (the deprecated variable)
};

// The token presented for `environment`. An empty variable counts as unset. bad_input
// when the file a SLUICE_ENV_TOKEN_FILE_<ENV> names cannot be read or is empty.
util::Result<PresentedToken> presented_environment_token(const std::string& environment,
                                                         const VariableLookup& variables);

// Whether this runner may write to `environment`: ok (with the warnings to show, e.g.
// the deprecated variable) when it is not protected (neither in the access file nor
// `declared_protected`) or its own token is presented. bad_input otherwise, saying which
// environment, which variable to set, and that nothing was changed; a protected
// environment without a token in the access file yet refuses every write.
util::Result<std::vector<std::string>> check_environment_write(const AccessSnapshot& snapshot,
                                                               const std::string& environment,
                                                               bool declared_protected,
                                                               const VariableLookup& variables);

}  // namespace sluice::access
