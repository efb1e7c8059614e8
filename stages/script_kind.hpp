// `kind: script` (the default): run the stage's lines as a process.
#pragma once

#include "stages/stage_kind.hpp"

namespace sluice::stages {

class ScriptKind final : public StageKind {
public:
    util::Result<std::optional<exec::ProcessSpec>> prepare(
        const StageContext& context) const override;
    StageResult finish(const StageContext& context,
                       const exec::ProcessOutcome* outcome) const override;
};

// The process of the stage's `run:` lines (shell or direct exec), its environment,
// workspace and timeout: what a script stage runs, and a deploy stage too.
exec::ProcessSpec script_process(const StageContext& context);

// The result of a stage that ran one process: passed on exit 0, else why not.
StageResult result_of_process(const exec::ProcessOutcome& outcome, exec::Millis timeout);

}  // namespace sluice::stages
