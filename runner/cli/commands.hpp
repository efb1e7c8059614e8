// Each subcommand registers itself on the CLI11 app; its callback stores the exit
// status in `exit_status`. One file per subcommand (cmd_*.cpp).
#pragma once

#include <CLI/CLI.hpp>

#include "runner/cli/option_checks.hpp"
#include "runner/cli/session.hpp"

namespace sluice::cli {

void add_run_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_validate_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_graph_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_runs_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_show_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_logs_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_resume_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_cancel_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_hooks_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_gc_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_workspace_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_approve_commands(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_env_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_gate_eval_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_internal_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_registry_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_access_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_cache_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_artifacts_command(CLI::App& app, const GlobalOptions& global, int& exit_status);
void add_backup_command(CLI::App& app, const GlobalOptions& global, int& exit_status);

}  // namespace sluice::cli
