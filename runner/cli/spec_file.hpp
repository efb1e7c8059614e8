// Reading the JSON spec a stage kind wrote for the `sluice` process it runs
// (`sluice gate-eval SPEC`, `sluice internal image-build|push|deploy-local SPEC`).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "runner/util/error.hpp"

namespace sluice::cli {

// The spec at `path`; bad_input "cannot read WHAT PATH" when it is missing or not JSON.
util::Result<nlohmann::json> read_spec_file(const std::string& path, std::string_view what);

}  // namespace sluice::cli
