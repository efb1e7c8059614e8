// `sluice validate [FILE]`: every mistake in the pipeline as FILE:LINE:COL: message.
#include <iostream>

#include "runner/cli/commands.hpp"
#include "runner/cli/pipeline_file.hpp"

namespace sluice::cli {

void add_validate_command(CLI::App& app, const GlobalOptions&, int& exit_status) {
    auto* cmd = app.add_subcommand("validate", "Check sluice.yml and report every error in it");
    auto file = std::make_shared<std::string>();
    cmd->add_option("FILE", *file, "The pipeline file or its directory (default: sluice.yml)");
    cmd->callback([&exit_status, file] {
        auto loaded = load_for_cli(*file);
        if (!loaded) {
            exit_status = util::exit_status::k_bad_input;
            return;
        }
        std::cout << loaded->path.string() << ": ok, pipeline " << loaded->pipeline.name << ", "
                  << loaded->pipeline.stages.size() << " stages\n";
        exit_status = util::exit_status::k_ok;
    });
}

}  // namespace sluice::cli
