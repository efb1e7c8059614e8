// The keys only some stage kinds take (gate's `require`, image's `context`, ...): which
// kind owns which key, its type, and its conversion into Stage::config (JSON) for the
// stage kind to read later. Internal to the loader.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runner/pipeline/model.hpp"
#include "runner/pipeline/yaml_reader.hpp"

namespace sluice::pipeline {

// Kind-specific key names of `kind` (empty for script).
std::vector<std::string_view> kind_key_names(StageKind kind);

// The kinds that take `key` as a kind-specific key (empty when none does).
std::vector<StageKind> kinds_with_key(std::string_view key);

// Keys `kind` cannot do without.
std::vector<std::string_view> required_kind_keys(StageKind kind);

// Checks `entry` (a key of `kind`) and stores it under config[entry.key]. Strings are
// scanned for `${{ }}` as part of stage `stage`.
void read_kind_key(Reader& reader, const Entry& entry, StageKind kind, int stage,
                   nlohmann::json& config);

}  // namespace sluice::pipeline
