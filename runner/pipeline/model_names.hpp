// Which registered model a stage's numbers belong to. A gate names its model
// (`model:`, else the pipeline's name); a stage with `metrics:` logs a candidate of
// every model whose gates need it, directly or through other stages, and of the
// pipeline's name when no gate does.
#pragma once

#include <string>
#include <vector>

#include "runner/pipeline/model.hpp"

namespace sluice::pipeline {

// A gate's model: its `model:` key, else the pipeline's name.
std::string gate_model(const Pipeline& pipeline, const Stage& gate);

// The models a stage with `metrics:` logs its candidate under (sorted, no duplicates).
std::vector<std::string> metrics_models(const Pipeline& pipeline, const Stage& stage);

// The stages `stage` needs, directly or through others, in file order.
std::vector<const Stage*> upstream_stages(const Pipeline& pipeline, const Stage& stage);

}  // namespace sluice::pipeline
