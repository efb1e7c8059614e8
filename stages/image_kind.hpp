// `kind: image`: builds an OCI image without a daemon. The kind resolves the stage's
// keys into an oci::BuildSpec and runs `sluice internal image-build SPEC` as the stage's
// process (own process group, timeout, log, cancellation, like any stage: a slow base
// pull never blocks the runner's loop). That process writes the OCI layout into the
// stage's directory, its outputs (digest, image, layout, tag) to $SLUICE_OUTPUT and its
// report beside the spec; finish() turns the report into the stage's result.
#pragma once

#include "stages/stage_kind.hpp"

namespace sluice::stages {

class ImageKind final : public StageKind {
public:
    util::Result<std::optional<exec::ProcessSpec>> prepare(
        const StageContext& context) const override;
    StageResult finish(const StageContext& context,
                       const exec::ProcessOutcome* outcome) const override;
};

// Where an image stage's layout is: <scratch>/image.
std::filesystem::path image_layout_dir(const std::filesystem::path& scratch);

}  // namespace sluice::stages
