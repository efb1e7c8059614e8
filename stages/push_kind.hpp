// `kind: push`: pushes an image to a registry over the OCI Distribution API. The kind
// finds the image (the image stage it needs, a named image stage, or an OCI layout),
// the destination and the credentials, and runs `sluice internal push SPEC` as the
// stage's process; that process leaves the pushed digest as outputs and as its report.
#pragma once

#include "stages/stage_kind.hpp"

namespace sluice::stages {

class PushKind final : public StageKind {
public:
    util::Result<std::optional<exec::ProcessSpec>> prepare(
        const StageContext& context) const override;
    StageResult finish(const StageContext& context,
                       const exec::ProcessOutcome* outcome) const override;
};

}  // namespace sluice::stages
