// `sluice hooks install|uninstall`: git hooks that run the pipeline before a push
// (blocking it when the pipeline fails) and, optionally, after a commit or merge.
#include <iostream>

#include "runner/cli/commands.hpp"
#include "runner/hooks/install.hpp"

namespace sluice::cli {

namespace {

struct HooksOptions {
    bool post_commit = false;
    bool post_merge = false;
    bool async = false;
};

int install_hooks(const HooksOptions& options) {
    std::error_code ec;
    auto self = std::filesystem::canonical("/proc/self/exe", ec);
    if (ec) return report_error({util::ErrorCode::io, "cannot find the sluice executable", {}});
    hooks::InstallOptions install;
    install.sluice_path = self;
    install.post_commit = options.post_commit;
    install.post_merge = options.post_merge;
    install.async = options.async;
    auto report = hooks::install(std::filesystem::current_path(), install);
    if (!report) return report_error(report.error());
    for (const auto& line : hooks::describe(*report)) std::cout << line << "\n";
    return util::exit_status::k_ok;
}

int uninstall_hooks() {
    auto report = hooks::uninstall(std::filesystem::current_path());
    if (!report) return report_error(report.error());
    for (const auto& line : hooks::describe(*report)) std::cout << line << "\n";
    return util::exit_status::k_ok;
}

}  // namespace

void add_hooks_command(CLI::App& app, const GlobalOptions&, int& exit_status) {
    auto* cmd = app.add_subcommand("hooks", "Install or remove sluice's git hooks");
    cmd->require_subcommand(1);
    auto* install = cmd->add_subcommand(
        "install", "Run the pipeline before each push (and after commits/merges if asked)");
    auto options = std::make_shared<HooksOptions>();
    install->add_flag("--post-commit", options->post_commit, "Also run after each commit");
    install->add_flag("--post-merge", options->post_merge, "Also run after each merge or pull");
    install->add_flag("--async", options->async,
                      "Post-commit/post-merge runs go to the background (log in the state dir)");
    install->callback([&exit_status, options] { exit_status = install_hooks(*options); });
    auto* uninstall = cmd->add_subcommand(
        "uninstall", "Remove sluice's hooks and restore the hooks they chained");
    uninstall->callback([&exit_status] { exit_status = uninstall_hooks(); });
}

}  // namespace sluice::cli
