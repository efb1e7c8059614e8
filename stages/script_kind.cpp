// The script stage kind.
#include "stages/script_kind.hpp"

#include <csignal>
#include <cstring>

#include "runner/util/duration_format.hpp"
#include "stages/shell_command.hpp"

namespace sluice::stages {

exec::ProcessSpec script_process(const StageContext& context) {
    exec::ProcessSpec spec;
    spec.argv = command_argv(context.run, context.pipeline.shell_of(context.stage));
    spec.env = context.env;
    spec.cwd = context.workspace;
    spec.timeout = context.timeout;
    return spec;
}

util::Result<std::optional<exec::ProcessSpec>> ScriptKind::prepare(
    const StageContext& context) const {
    return script_process(context);
}

StageResult ScriptKind::finish(const StageContext& context,
                               const exec::ProcessOutcome* outcome) const {
    if (outcome == nullptr) return {false, "no process ran", {}};
    return result_of_process(*outcome, context.timeout);
}

StageResult result_of_process(const exec::ProcessOutcome& outcome, exec::Millis timeout) {
    StageResult r;
    r.ok = outcome.ok();
    if (r.ok) return r;
    if (outcome.start_failed) {
        r.reason = outcome.message.empty() ? "could not start" : outcome.message;
    } else if (outcome.timed_out) {
        r.reason = "timed out after " + util::format_duration(timeout.count());
    } else if (outcome.cancelled) {
        r.reason = "cancelled";
    } else if (outcome.signal != 0) {
        r.reason = std::string("killed by signal ") + std::to_string(outcome.signal) + " (" +
                   (sigabbrev_np(outcome.signal) ? std::string("SIG") + sigabbrev_np(outcome.signal)
                                                 : std::string("?")) +
                   ")";
    } else {
        r.reason = "exit status " + std::to_string(outcome.exit_code);
        if (outcome.exit_code == 127) r.reason += " (command not found?)";
    }
    return r;
}

}  // namespace sluice::stages
