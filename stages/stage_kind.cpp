// The registry of stage kinds.
#include "stages/stage_kind.hpp"

#include "stages/deploy_kind.hpp"
#include "stages/gate_kind.hpp"
#include "stages/image_kind.hpp"
#include "stages/push_kind.hpp"
#include "stages/script_kind.hpp"

namespace sluice::stages {

void KindRegistry::add(pipeline::StageKind kind, std::unique_ptr<StageKind> implementation) {
    kinds_[kind] = std::move(implementation);
}

const StageKind* KindRegistry::find(pipeline::StageKind kind) const {
    auto it = kinds_.find(kind);
    return it == kinds_.end() ? nullptr : it->second.get();
}

KindRegistry default_kinds() {
    KindRegistry kinds;
    kinds.add(pipeline::StageKind::script, std::make_unique<ScriptKind>());
    kinds.add(pipeline::StageKind::gate, std::make_unique<GateKind>());
    kinds.add(pipeline::StageKind::deploy, std::make_unique<DeployKind>());
    kinds.add(pipeline::StageKind::image, std::make_unique<ImageKind>());
    kinds.add(pipeline::StageKind::push, std::make_unique<PushKind>());
    return kinds;
}

}  // namespace sluice::stages
