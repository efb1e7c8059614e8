// `sluice graph`: the plan's DAG as text for a terminal, Graphviz DOT, or Mermaid. Each
// takes an optional selection (Plan::select) and then shows only the selected stages.
#pragma once

#include <string>
#include <vector>

#include "runner/plan/plan.hpp"

namespace sluice::plan {

// One line per stage in topological order, names and kinds in aligned columns, then what
// the stage needs:
//   unit-tests  script
//   train       script  <- unit-tests
//   f1-gate     gate    <- train
std::string render_text(const Plan& plan, const std::vector<bool>& included = {});

// A `digraph` whose edges run from a stage to the stages that need it.
std::string render_dot(const Plan& plan, const std::vector<bool>& included = {});

// A `graph TD` with one node per stage (ids s0, s1, ... by stage index, names as quoted
// labels, so names with dashes or Mermaid keywords are safe).
std::string render_mermaid(const Plan& plan, const std::vector<bool>& included = {});

}  // namespace sluice::plan
