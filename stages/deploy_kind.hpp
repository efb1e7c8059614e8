// The deploy stage kind: checks that the run may deploy to the stage's environment
// (its branches; for a protected environment, the runner's SLUICE_PROD_TOKEN), then
// deploys to its `target:`: `command` (the default) runs the stage's `run:` as a script
// stage does; `local` runs the service under the state directory's supervisor and
// switches to it once healthy (deploy_local.hpp); `kubernetes` applies a manifest and
// waits for the rollout (deploy_kubernetes.hpp). The engine records the deployment (with
// the report's `image`) in the environment's history and performs `promote:`.
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
