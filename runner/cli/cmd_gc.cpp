// `sluice gc`: removes workspaces of finished runs beyond a count and age policy.
#include <iostream>

#include "runner/cli/commands.hpp"
#include "runner/git/workspace_pool.hpp"
#include "runner/pipeline/duration.hpp"
#include "runner/util/clock.hpp"

namespace sluice::cli {

void add_gc_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* cmd = app.add_subcommand("gc", "Remove workspaces no run holds, beyond --keep and --max-age");
    auto keep = std::make_shared<int>(8);
    auto max_age = std::make_shared<std::string>("7d");
    cmd->add_option("--keep", *keep, "Keep at most this many workspaces (default 8)")
        ->check(whole_number());
    cmd->add_option("--max-age", *max_age,
                    "Remove workspaces unused for longer than this (default 7d; 0: no limit)");
    cmd->callback([&global, &exit_status, keep, max_age] {
        auto age = pipeline::parse_duration(*max_age);
        if (!age) {
            exit_status = report_error({util::ErrorCode::bad_input,
                                        "--max-age: `" + *max_age + "` is not a duration (7d, 12h, 30m)",
                                        {}});
            return;
        }
        auto session = open_session(global, std::filesystem::current_path());
        if (!session) {
            exit_status = report_error(session.error());
            return;
        }
        util::SystemClock clock;
        git::WorkspacePool pool(session->state.root / "workspaces", clock);
        auto stats = pool.prune({*keep, *age});
        if (!stats) {
            exit_status = report_error(stats.error());
            return;
        }
        std::cout << "removed " << stats->removed << " workspaces, kept " << stats->kept
                  << (stats->busy > 0 ? " (" + std::to_string(stats->busy) + " in use)" : "")
                  << "\n";
        exit_status = util::exit_status::k_ok;
    });
}

}  // namespace sluice::cli
