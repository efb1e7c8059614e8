// Small lookups on the pipeline model.
#include "runner/pipeline/model.hpp"

namespace sluice::pipeline {

const char* to_string(StageKind kind) {
    switch (kind) {
        case StageKind::script: return "script";
        case StageKind::gate: return "gate";
        case StageKind::image: return "image";
        case StageKind::push: return "push";
        case StageKind::deploy: return "deploy";
    }
    return "script";
}

const Environment* Pipeline::environment(const std::string& env_name) const {
    for (const auto& e : environments) {
        if (e.name == env_name) return &e;
    }
    return nullptr;
}

const Stage* Pipeline::find(const std::string& stage_name) const {
    int i = index_of(stage_name);
    return i < 0 ? nullptr : &stages[static_cast<std::size_t>(i)];
}

int Pipeline::index_of(const std::string& stage_name) const {
    for (std::size_t i = 0; i < stages.size(); ++i) {
        if (stages[i].name == stage_name) return static_cast<int>(i);
    }
    return -1;
}

}  // namespace sluice::pipeline
