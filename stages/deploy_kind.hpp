// The deploy stage kind: checks that the run may deploy to the stage's environment
// (its branches; for a protected environment, the runner's SLUICE_PROD_TOKEN), then
// runs the stage's `run:` as a script stage does. The engine records the deployment
// in the environment's history and performs `promote:`. Richer targets (local,
// kubernetes) come with the image issue.
#pragma once

#include "stages/stage_kind.hpp"

namespace sluice::stages {

class DeployKind final : public StageKind {
public:
    util::Result<std::optional<exec::ProcessSpec>> prepare(
        const StageContext& context) const override;
    StageResult finish(const StageContext& context,
                       const exec::ProcessOutcome* outcome) const override;
};

// Whether this run may write to `environment` (deploy, promote): its branches and, when
// protected, the token in SLUICE_PROD_TOKEN of this process. bad_input saying why not.
util::Status check_environment_write(const pipeline::Pipeline& pipeline,
                                     const std::string& environment, const std::string& branch,
                                     const std::filesystem::path& state_dir);

}  // namespace sluice::stages
