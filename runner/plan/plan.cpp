// Building the DAG from the pipeline, and the `--only` closure.
#include "runner/plan/plan.hpp"

#include <algorithm>
#include <map>

#include "runner/util/graph.hpp"
#include "runner/util/suggest.hpp"

namespace sluice::plan {

util::Result<Plan> Plan::build(const pipeline::Pipeline& pipeline) {
    Plan plan;
    plan.pipeline_name_ = pipeline.name;
    std::map<std::string, int, std::less<>> index;
    for (std::size_t i = 0; i < pipeline.stages.size(); ++i) {
        const auto& stage = pipeline.stages[i];
        if (!index.emplace(stage.name, static_cast<int>(i)).second) {
            return util::fail(util::ErrorCode::bad_input, "duplicate stage `" + stage.name + "`",
                              {pipeline.file, stage.pos.line, stage.pos.column});
        }
        plan.stages_.push_back(Node{stage.name, stage.kind, {}, {}});
    }

    util::DependencyLists deps(pipeline.stages.size());
    for (std::size_t i = 0; i < pipeline.stages.size(); ++i) {
        const auto& stage = pipeline.stages[i];
        for (const auto& need : stage.needs) {
            auto found = index.find(need);
            if (found == index.end()) {
                return util::fail(util::ErrorCode::bad_input,
                                  "stage `" + stage.name + "` needs unknown stage `" + need + "`",
                                  {pipeline.file, stage.pos.line, stage.pos.column});
            }
            // A repeated need is one edge: the scheduler counts unmet needs.
            auto& list = deps[i];
            if (std::find(list.begin(), list.end(), found->second) == list.end()) {
                list.push_back(found->second);
            }
        }
        plan.stages_[i].needs = deps[i];
    }

    auto order = util::topological_order(deps);
    if (!order) {
        auto cycles = util::find_cycles(deps);
        std::string text;
        if (!cycles.empty()) {
            for (int s : cycles.front()) text += plan.name(s) + " -> ";
            text += plan.name(cycles.front().front());
        }
        return util::fail(util::ErrorCode::bad_input, "dependency cycle: " + text,
                          {pipeline.file, 0, 0});
    }
    plan.order_ = std::move(*order);
    for (std::size_t i = 0; i < deps.size(); ++i) {
        for (int d : deps[i]) {
            plan.stages_[static_cast<std::size_t>(d)].dependents.push_back(static_cast<int>(i));
        }
    }
    return plan;
}

int Plan::index_of(std::string_view stage_name) const {
    for (std::size_t i = 0; i < stages_.size(); ++i) {
        if (stages_[i].name == stage_name) return static_cast<int>(i);
    }
    return -1;
}

util::Result<std::vector<bool>> Plan::select(const std::vector<std::string>& only) const {
    if (only.empty()) return std::vector<bool>(stages_.size(), true);
    std::vector<bool> included(stages_.size(), false);
    std::vector<int> todo;
    for (const auto& wanted : only) {
        int s = index_of(wanted);
        if (s < 0) {
            std::vector<std::string> names;
            for (const auto& n : stages_) names.push_back(n.name);
            return util::fail(
                util::ErrorCode::bad_input,
                "unknown stage `" + wanted + "` in --only" + util::did_you_mean(wanted, names));
        }
        todo.push_back(s);
    }
    while (!todo.empty()) {
        int s = todo.back();
        todo.pop_back();
        if (included[static_cast<std::size_t>(s)]) continue;
        included[static_cast<std::size_t>(s)] = true;
        for (int need : needs(s)) todo.push_back(need);
    }
    return included;
}

util::Result<std::vector<bool>> select_stages(const pipeline::Pipeline& pipeline,
                                              const std::vector<std::string>& only) {
    auto plan = Plan::build(pipeline);
    if (!plan) return std::unexpected(plan.error());
    return plan->select(only);
}

}  // namespace sluice::plan
