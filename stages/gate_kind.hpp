// The gate stage kind: writes the gate's spec and runs `sluice gate-eval` on it as the
// stage's process; its result is the report that process leaves. No report, or a
// process that did not end well, is a failed gate: nothing passes on doubt.
#pragma once

#include "stages/stage_kind.hpp"

namespace sluice::stages {

class GateKind final : public StageKind {
public:
    util::Result<std::optional<exec::ProcessSpec>> prepare(
        const StageContext& context) const override;
    StageResult finish(const StageContext& context,
                       const exec::ProcessOutcome* outcome) const override;
};

}  // namespace sluice::stages
