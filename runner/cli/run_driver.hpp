// What `sluice run` and `sluice resume` share: the executor, the reporter, the engine,
// and the mapping of a run's end to the exit status.
#pragma once

#include <functional>

#include "runner/cli/session.hpp"
#include "runner/engine/engine.hpp"

namespace sluice::cli {

// Builds the engine for this process and calls `start` with it; returns the exit status.
int drive_run(const GlobalOptions& global, Session& session, bool json,
              const std::function<util::Result<engine::RunEnd>(engine::Engine&)>& start);

// Resumes run `id` in this process (a fresh checkout for a run of a commit): what
// `sluice resume` does, and what `sluice approve` does once the last approval is in.
int continue_run(const GlobalOptions& global, Session& session, store::RunId id, int jobs,
                 bool json);

}  // namespace sluice::cli
