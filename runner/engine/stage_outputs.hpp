// A stage passes values on by writing `key=value` lines to the file named by
// $SLUICE_OUTPUT; later stages read them as ${{ stages.NAME.outputs.KEY }}.
#pragma once

#include <filesystem>

#include <nlohmann/json.hpp>

#include "runner/util/error.hpp"

namespace sluice::engine {

// Parses the file (absent or empty: no outputs; unreadable: ErrorCode::io). Blank lines and lines starting with
// '#' are ignored; anything else must be KEY=VALUE with KEY a name ([A-Za-z_][\w-]*).
util::Result<nlohmann::json> read_stage_outputs(const std::filesystem::path& file);

}  // namespace sluice::engine
