// `sluice backup FILE`: a consistent copy of the run store (sluice.db and what its WAL
// holds) as one file, taken while runs go on; restoring is copying it back as sluice.db.
#include <iostream>

#include "runner/cli/commands.hpp"
#include "runner/store/backup.hpp"

namespace sluice::cli {

void add_backup_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* cmd = app.add_subcommand(
        "backup", "Write a consistent copy of the run store (sluice.db) to FILE");
    auto file = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    cmd->add_option("FILE", *file, "The backup's file (its directory must exist)")->required();
    cmd->add_flag("--force", *force, "Replace FILE if it exists");
    cmd->callback([&global, &exit_status, file, force] {
        // The state directory only: a backup reads the store and writes nothing there
        // (no runs are marked interrupted), so it works on a full or read-only disk.
        auto state = open_state(global, std::filesystem::current_path());
        if (!state) {
            exit_status = report_error(state.error());
            return;
        }
        auto done = store::write_backup(state->database(), *file, {*force});
        if (!done) {
            exit_status = report_error(done.error());
            return;
        }
        std::cout << "backed up " << state->database().string() << " to " << *file << "\n";
        exit_status = util::exit_status::k_ok;
    });
}

}  // namespace sluice::cli
