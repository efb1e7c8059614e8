// `kind: deploy` with `target: kubernetes`: renders the Deployment + Service manifest (or
// fills the user's `manifest:` template) with the image pinned by digest, writes it to the
// stage's own directory, and runs, as the stage's process, a script of two commands:
// `kubectl apply -f MANIFEST` then `kubectl rollout status deployment/NAME --timeout=...`
// (`kubectl:` replaces the kubectl command, e.g. with a context, or a fake in tests). A
// failed apply or a rollout that does not finish in time fails the stage.
#pragma once

#include "stages/stage_kind.hpp"

namespace sluice::stages {

util::Result<exec::ProcessSpec> kubernetes_deploy_process(const StageContext& context);

}  // namespace sluice::stages
