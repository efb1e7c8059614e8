// The validated pipeline model as a compact binary record and back, field for field, so
// a pipeline read once can be remembered (pipeline_memo.hpp) and read back without YAML
// or a JSON tree. Not a user format: it follows the C++ model and changes with it.
#pragma once

#include <string>
#include <string_view>

#include "runner/pipeline/model.hpp"
#include "runner/util/error.hpp"

namespace sluice::pipeline {

std::string to_binary(const Pipeline& pipeline);

// bad_input when `bytes` are not what to_binary wrote (another version, a damaged file).
util::Result<Pipeline> pipeline_from_binary(std::string_view bytes);

}  // namespace sluice::pipeline
