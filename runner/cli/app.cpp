// The sluice command line: global options, subcommands, and CLI11's errors mapped to
// sluice's exit statuses (a usage mistake is 2, like any bad input).
#include "runner/cli/app.hpp"

#include <iostream>

#include "runner/cli/commands.hpp"
#include "runner/util/suggest.hpp"

namespace sluice::cli {

namespace {

// "unknown command `valdiate`; did you mean `validate`?" when the word after the global
// options (or after a command that has commands of its own: `hooks instal`) names no
// command; CLI11 would only say that one is required.
std::optional<std::string> unknown_command(const CLI::App& app) {
    const CLI::App* at = &app;
    std::string prefix;
    while (!at->get_subcommands().empty()) {
        at = at->get_subcommands().front();
        prefix += at->get_name() + " ";
    }
    std::vector<std::string> names;
    for (const CLI::App* sub : at->get_subcommands([](const CLI::App* s) {
             return !s->get_name().empty() && !s->get_group().empty();  // not hidden
         })) {
        names.push_back(sub->get_name());
    }
    if (names.empty()) return std::nullopt;
    auto rest = app.remaining(true);
    if (rest.empty() || rest.front().empty() || rest.front()[0] == '-') return std::nullopt;
    return "unknown command `" + prefix + rest.front() + "`" + util::did_you_mean(rest.front(), names);
}

}  // namespace

int run_cli(int argc, char** argv) {
    CLI::App app{"sluice: CI/CD pipelines for machine-learning projects"};
    app.name("sluice");
    app.set_version_flag("--version", "sluice 0.1.0");
    app.require_subcommand(1);
    app.fallthrough();
    GlobalOptions global;
    app.add_option_function<std::string>(
        "--state",
        [&global](const std::string& dir) {
            // An empty --state (an unset shell variable) would silently mean the default.
            if (dir.empty()) throw CLI::ValidationError("--state must not be empty");
            global.state = dir;
        },
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

    for (int i = 1; i < argc; ++i) {
        // CLI11 reads `--state=` as `--state` and takes the next word (the command) as
        // its value; an empty --state is refused however it is written.
        if (std::string_view(argv[i]) == "--state=") {
            std::cerr << "sluice: --state must not be empty\n";
            return util::exit_status::k_bad_input;
        }
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        if (auto unknown = unknown_command(app)) {
            std::cerr << "sluice: " << *unknown << "\n";
            std::cerr << "Run `sluice --help` for the commands.\n";
            return util::exit_status::k_bad_input;
        }
        std::cerr << "sluice: " << e.what() << "\n";
        std::cerr << "Run `sluice --help` for usage.\n";
        return util::exit_status::k_bad_input;
    }
    return exit_status;
}

}  // namespace sluice::cli
