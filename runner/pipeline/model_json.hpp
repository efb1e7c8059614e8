// The validated pipeline model as JSON and back, field for field, so a pipeline read
// once can be remembered (pipeline_memo.hpp) and read back without YAML. Not a user
// format: the JSON follows the C++ model and changes with it.
#pragma once

#include <nlohmann/json.hpp>

#include "runner/pipeline/model.hpp"
#include "runner/util/error.hpp"

namespace sluice::pipeline {

nlohmann::json to_json(const Pipeline& pipeline);

// bad_input when `json` is not what to_json wrote (another version, a damaged file).
util::Result<Pipeline> pipeline_from_json(const nlohmann::json& json);

}  // namespace sluice::pipeline
