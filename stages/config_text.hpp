// Reading a stage kind's configuration (the stage's resolved keys, as JSON).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace sluice::stages {

// The string at `key`, or "" when it is missing or not a string (the loader has
// already reported a key of the wrong type).
std::string config_text(const nlohmann::json& config, const char* key);

}  // namespace sluice::stages
