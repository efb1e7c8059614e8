// The sluice command line (CLI11): parses arguments and dispatches to subcommands.
#pragma once

namespace sluice::cli {

// Runs the sluice command with the process's arguments; returns the exit status.
int run_cli(int argc, char** argv);

}  // namespace sluice::cli
