// Reads `on:` (which events start the pipeline) into Triggers. Internal to the loader.
#pragma once

#include <optional>

#include "runner/pipeline/model.hpp"
#include "runner/pipeline/yaml_reader.hpp"

namespace sluice::pipeline {

// `on: push`, `on: [push, merge_request]`, or the map form
// `on: { push: { branches: [...], tags: [...] }, merge_request: { target_branches: [...] },
//        manual: false }`.
std::optional<Triggers> read_triggers(Reader& reader, const Entry& on);

}  // namespace sluice::pipeline
