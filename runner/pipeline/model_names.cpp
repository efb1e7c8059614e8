// Model names of gates and metrics stages, from the pipeline's needs.
#include "runner/pipeline/model_names.hpp"

#include <algorithm>

namespace sluice::pipeline {

std::string gate_model(const Pipeline& pipeline, const Stage& gate) {
    auto model = gate.config.find("model");
    if (model != gate.config.end() && model->is_string() && !model->get<std::string>().empty()) {
        return model->get<std::string>();
    }
    return pipeline.name;
}

std::vector<const Stage*> upstream_stages(const Pipeline& pipeline, const Stage& stage) {
    std::vector<bool> seen(pipeline.stages.size(), false);
    std::vector<int> todo;
    auto push_needs = [&](const Stage& s) {
        for (const auto& need : s.needs) {
            int i = pipeline.index_of(need);
            if (i >= 0 && !seen[static_cast<std::size_t>(i)]) {
                seen[static_cast<std::size_t>(i)] = true;
                todo.push_back(i);
            }
        }
    };
    push_needs(stage);
    while (!todo.empty()) {
        int i = todo.back();
        todo.pop_back();
        push_needs(pipeline.stages[static_cast<std::size_t>(i)]);
    }
    std::vector<const Stage*> out;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        if (seen[i]) out.push_back(&pipeline.stages[i]);
    }
    return out;
}

std::vector<std::string> metrics_models(const Pipeline& pipeline, const Stage& stage) {
    std::vector<std::string> models;
    for (const auto& other : pipeline.stages) {
        if (other.kind != StageKind::gate) continue;
        auto up = upstream_stages(pipeline, other);
        if (std::find(up.begin(), up.end(), &stage) != up.end()) {
            models.push_back(gate_model(pipeline, other));
        }
    }
    if (models.empty()) models.push_back(pipeline.name);
    std::sort(models.begin(), models.end());
    models.erase(std::unique(models.begin(), models.end()), models.end());
    return models;
}

}  // namespace sluice::pipeline
