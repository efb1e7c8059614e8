// Running a run in this process.
#include "runner/cli/run_driver.hpp"

#include <iostream>

#include "runner/exec/executor.hpp"

namespace sluice::cli {

int drive_run(const GlobalOptions& global, Session& session, bool json,
              const std::function<util::Result<engine::RunEnd>(engine::Engine&)>& start) {
    auto shim = exec::find_shim();
    if (!shim) return report_error(shim.error());
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
    if (end->status == "waiting") return util::exit_status::k_waiting;
    if (end->status == "cancelled") return util::exit_status::k_cancelled;
    return util::exit_status::k_failed;
}

}  // namespace sluice::cli
