// `kind: deploy` with `target: local`: the stage's process is `sluice internal
// deploy-local SPEC` (runner/deploy/local_deploy.hpp), which starts the service under the
// state directory's supervisor, checks its health and switches the environment to it, or
// leaves the previous service running. prepare() writes the spec and makes sure the
// supervisor runs (from the runner's process: a daemon started inside the stage would be
// ended with the stage's process tree).
#pragma once

#include "stages/stage_kind.hpp"

namespace sluice::stages {

// The deploy-local process of a local deploy stage; bad_input for a stage that names
// neither an image nor a command, or an image that is not a layout directory.
util::Result<exec::ProcessSpec> local_deploy_process(const StageContext& context);

// The stage's result once that process ended: its failure reason from the result file,
// and the report {image, service: {deployment, url, port, pid, previous}}.
StageResult local_deploy_result(const StageContext& context, const exec::ProcessOutcome& outcome);

// How long to wait for health: `health_timeout`, else the stage's timeout less a margin,
// else 60 s. bad_input for a health_timeout that is no duration.
util::Result<exec::Millis> health_timeout_of(const StageContext& context);

}  // namespace sluice::stages
