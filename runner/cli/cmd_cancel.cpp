// `sluice cancel RUN`: stops a running run (its runner cancels every stage's process
// tree and records the run `cancelled`), or marks a waiting/interrupted run cancelled.
#include <signal.h>

#include <chrono>
#include <cstring>
#include <iostream>
#include <thread>

#include "runner/cli/commands.hpp"

namespace sluice::cli {

namespace {

bool is_final(const std::string& status) {
    return status == "passed" || status == "failed" || status == "cancelled";
}

int cancel_run(const GlobalOptions& global, const std::string& id_text) {
    auto id = parse_run_id(id_text);
    if (!id) {
        return report_error({util::ErrorCode::bad_input, "`" + id_text + "` is not a run id", {}});
    }
    auto session = open_session(global, std::filesystem::current_path());
    if (!session) return report_error(session.error());
    auto& store = session->store;
    auto run = store.find_run(*id);
    if (!run) return report_error(run.error());
    if (!*run) return report_error({util::ErrorCode::not_found, "no run " + id_text, {}});
    if (is_final((*run)->status)) {
        return report_error({util::ErrorCode::conflict,
                             "run " + id_text + " already finished: " + (*run)->status, {}});
    }
    auto alive = store.owner_alive(*id);
    if (!alive) return report_error(alive.error());
    if (*alive && (*run)->status == "running") {
        // The runner owns the processes: ask it to stop them, then wait for its record.
        if (kill((*run)->runner_pid, SIGTERM) != 0) {
            return report_error({util::ErrorCode::io, "cannot signal the runner of run " +
                                                          id_text + ": " + std::strerror(errno),
                                 {}});
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
        while (std::chrono::steady_clock::now() < deadline) {
            auto now = store.find_run(*id);
            if (!now) return report_error(now.error());
            if (*now && is_final((*now)->status)) {
                std::cout << "run " << id_text << " " << (*now)->status << "\n";
                return 0;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return report_error({util::ErrorCode::io,
                             "run " + id_text + "'s runner did not stop within 2 minutes", {}});
    }
    // No live runner (waiting for approval, or interrupted): record it ourselves.
    auto stages = store.stages(*id);
    if (!stages) return report_error(stages.error());
    for (const auto& s : *stages) {
        if (s.status == "passed" || s.status == "failed" || s.status == "skipped" ||
            s.status == "cancelled" || s.status == "cached") {
            continue;
        }
        if (auto st = store.set_stage_status(*id, s.stage, "cancelled", "cancelled by sluice cancel");
            !st) {
            return report_error(st.error());
        }
    }
    if (auto st = store.finish_run(*id, "cancelled"); !st) return report_error(st.error());
    if (auto st = store.add_event(*id, "", "run_cancelled", {{"by", "sluice cancel"}}); !st) {
        return report_error(st.error());
    }
    std::cout << "run " << id_text << " cancelled\n";
    return 0;
}

}  // namespace

void add_cancel_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* cmd = app.add_subcommand("cancel", "Cancel a run: stop its stages, record it cancelled");
    auto id = std::make_shared<std::string>();
    cmd->add_option("RUN", *id, "The run's id")->required();
    cmd->callback([&global, &exit_status, id] { exit_status = cancel_run(global, *id); });
}

}  // namespace sluice::cli
