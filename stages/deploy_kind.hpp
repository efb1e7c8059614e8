// The deploy stage kind: checks that the run's commit may go to the stage's environment
// (its `branches:`; the engine has already checked the tokens of protected
// environments, stages/environment_guard.hpp), then
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

// Whether the run's commit may go to `environment` by its `branches:` (none: any): only
// when one of `branches_with_commit` (the repository's branches that contain the commit,
// StageContext) matches one of its globs, and never with uncommitted changes or without
// a commit. What the run says its branch is (--branch) counts for nothing here.
// bad_input saying why not.
util::Status check_branch_rule(const pipeline::Pipeline& pipeline, const std::string& environment,
                               const std::vector<std::string>& branches_with_commit,
                               const std::string& commit, bool uncommitted);

}  // namespace sluice::stages
