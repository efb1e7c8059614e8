// The sluice command line: global options, subcommands, and CLI11's errors mapped to
// sluice's exit statuses (a usage mistake is 2, like any bad input).
#include "runner/cli/app.hpp"

#include <iostream>

#include "runner/cli/commands.hpp"

namespace sluice::cli {

int run_cli(int argc, char** argv) {
    CLI::App app{"sluice: CI/CD pipelines for machine-learning projects"};
    app.name("sluice");
    app.set_version_flag("--version", "sluice 0.1.0");
    app.require_subcommand(1);
    app.fallthrough();
    GlobalOptions global;
    app.add_option("--state", global.state,
                   "State directory (default: $SLUICE_HOME, else .sluice at the repository root)");
    app.add_flag("--no-color", global.no_color, "Never colour output (NO_COLOR works too)");

    int exit_status = util::exit_status::k_ok;
    add_run_command(app, global, exit_status);
    add_validate_command(app, global, exit_status);
    add_graph_command(app, global, exit_status);
    add_runs_command(app, global, exit_status);
    add_show_command(app, global, exit_status);
    add_logs_command(app, global, exit_status);
    add_resume_command(app, global, exit_status);
    add_cancel_command(app, global, exit_status);
    add_hooks_command(app, global, exit_status);
    add_gc_command(app, global, exit_status);
    add_workspace_command(app, global, exit_status);
    add_registry_command(app, global, exit_status);
    add_approve_commands(app, global, exit_status);
    add_env_command(app, global, exit_status);
    add_gate_eval_command(app, global, exit_status);
    add_internal_command(app, global, exit_status);
    add_access_command(app, global, exit_status);
    add_cache_command(app, global, exit_status);
    add_artifacts_command(app, global, exit_status);
    add_backup_command(app, global, exit_status);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "sluice: " << e.what() << "\n";
        std::cerr << "Run `sluice --help` for usage.\n";
        return util::exit_status::k_bad_input;
    }
    return exit_status;
}

}  // namespace sluice::cli
