// The run plan: the DAG of a validated pipeline by stage index (the index of the stage
// in Pipeline::stages): what each stage needs, what needs it, a stable topological order,
// and the selection `--only` makes. Pure data; the scheduler decides, the engine runs.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "runner/pipeline/model.hpp"
#include "runner/util/error.hpp"

namespace sluice::plan {

class Plan {
  public:
    // The DAG of `pipeline`. A pipeline from the loader always builds; one made by hand
    // (tests) can fail with bad_input for a `needs` naming no stage or a cycle.
    static util::Result<Plan> build(const pipeline::Pipeline& pipeline);

    std::size_t size() const { return stages_.size(); }
    const std::string& pipeline_name() const { return pipeline_name_; }
    const std::string& name(int stage) const { return at(stage).name; }
    pipeline::StageKind kind(int stage) const { return at(stage).kind; }
    int index_of(std::string_view stage_name) const;  // -1 when there is no such stage

    // Direct needs, in the order `needs:` lists them.
    const std::vector<int>& needs(int stage) const { return at(stage).needs; }
    // Stages that need this one directly, in file order.
    const std::vector<int>& dependents(int stage) const { return at(stage).dependents; }
    // Every stage after all it needs; among stages ready together, file order.
    const std::vector<int>& order() const { return order_; }

    // For `--only`: included[i] is true for the named stages and every stage they need,
    // directly or transitively. No names selects every stage. An unknown name is a
    // bad_input error with a suggestion.
    util::Result<std::vector<bool>> select(const std::vector<std::string>& only) const;

  private:
    struct Node {
        std::string name;
        pipeline::StageKind kind = pipeline::StageKind::script;
        std::vector<int> needs;
        std::vector<int> dependents;
    };

    const Node& at(int stage) const { return stages_[static_cast<std::size_t>(stage)]; }

    std::string pipeline_name_;
    std::vector<Node> stages_;
    std::vector<int> order_;
};

// Plan::build(pipeline) then select(only): what the engine needs for `sluice run --only`.
util::Result<std::vector<bool>> select_stages(const pipeline::Pipeline& pipeline,
                                              const std::vector<std::string>& only);

}  // namespace sluice::plan
