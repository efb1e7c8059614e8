// Running a run in this process.
#include "runner/cli/run_driver.hpp"

#include <signal.h>

#include <iostream>

#include "runner/exec/executor.hpp"

namespace sluice::cli {

namespace {

// Who may approve what the run waits for, and the exact command (on stderr when stdout
// carries JSON events).
void print_waiting(Session& session, store::RunId id, bool json) {
    std::ostream& out = json ? std::cerr : std::cout;
    auto stages = session.store.stages(id);
    if (!stages) return;
    for (const auto& stage : *stages) {
        if (stage.status != "waiting") continue;
        auto request = session.store.approval_request(id, stage.stage);
        if (!request || !*request) continue;
        const auto& r = **request;
        std::string who;
        for (const auto& a : r.approvers) who += (who.empty() ? "" : ", ") + a;
        out << "run " << id << " waits for " << r.required
            << (r.required == 1 ? " approval" : " approvals") << " of " << stage.stage;
        if (!r.environment.empty()) out << " (environment " << r.environment << ")";
        out << " from " << (who.empty() ? "nobody (no approvers are named)" : who)
            << (r.self_approval ? "" : ", not by whoever triggered or wrote the change") << ".\n";
        out << "  approve: sluice approve " << id << " " << stage.stage
            << "   (your token in SLUICE_TOKEN or --token)\n";
        out << "  reject:  sluice reject " << id << " " << stage.stage << " --reason TEXT\n";
    }
}

}  // namespace

int drive_run(const GlobalOptions& global, Session& session, bool json,
              const std::function<util::Result<engine::RunEnd>(engine::Engine&)>& start) {
    auto shim = exec::find_shim();
    if (!shim) return report_error(shim.error());
    // A reader that goes away (`sluice run --json | head -3`) must not end the run: a
    // write to the closed pipe fails with EPIPE and the reporter stops printing. Stages
    // still start with SIGPIPE at its default (the shim resets every signal).
    ::signal(SIGPIPE, SIG_IGN);
    exec::Executor executor(*shim);
    auto style = report::choose_style(json, STDOUT_FILENO);
    auto reporter = report::make_reporter(style, std::cout, use_color(global, STDOUT_FILENO));
    util::SystemClock clock;
    auto kinds = stages::default_kinds();
    engine::Engine engine({session.store, executor, *reporter, clock, kinds, session.state,
                           engine::current_environment()});
    auto end = start(engine);
    if (!end) return report_error(end.error());
    if (end->status == "passed") return util::exit_status::k_ok;
    if (end->status == "waiting") {
        print_waiting(session, end->id, json);
        return util::exit_status::k_waiting;
    }
    if (end->status == "cancelled") return util::exit_status::k_cancelled;
    return util::exit_status::k_failed;
}

}  // namespace sluice::cli
