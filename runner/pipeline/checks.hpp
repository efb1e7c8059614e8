// The checks that need the whole file read first: every `needs` names a stage, the
// stages form no cycle, and every `${{ }}` names something that exists where it is used
// (a stage's outputs only in stages that need it). Internal to the loader.
#pragma once

#include "runner/pipeline/model.hpp"
#include "runner/pipeline/yaml_reader.hpp"

namespace sluice::pipeline {

void check_needs_and_names(Reader& reader, const Pipeline& pipeline);

}  // namespace sluice::pipeline
