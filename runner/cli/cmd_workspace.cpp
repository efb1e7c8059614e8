// `sluice workspace checkout --repo R --rev REV --into DIR`: one checkout as a run makes
// it, without a run (for bench/checkout.sh, and to look at what a run would see).
#include <iostream>

#include "runner/cli/commands.hpp"
#include "runner/git/checkout.hpp"

namespace sluice::cli {

void add_workspace_command(CLI::App& app, const GlobalOptions&, int& exit_status) {
    auto* cmd = app.add_subcommand("workspace", "Check a commit out as a run would (advanced)");
    cmd->require_subcommand(1);
    auto* checkout = cmd->add_subcommand("checkout", "Check REV of a repository out into DIR");
    auto repo = std::make_shared<std::string>(".");
    auto rev = std::make_shared<std::string>("HEAD");
    auto into = std::make_shared<std::string>();
    checkout->add_option("--repo", *repo, "The repository (default: the current directory)");
    checkout->add_option("--rev", *rev, "The revision (default: HEAD)");
    checkout->add_option("--into", *into, "The workspace directory")->required();
    checkout->callback([&exit_status, repo, rev, into] {
        auto done = git::checkout_revision(*repo, *rev, *into);
        if (!done) {
            exit_status = report_error(done.error());
            return;
        }
        std::cout << done->commit.short_sha << ": " << done->stats.files_written << " written, "
                  << done->stats.files_removed << " removed" << (done->stats.full ? " (full)" : "")
                  << "\n";
        exit_status = util::exit_status::k_ok;
    });
}

}  // namespace sluice::cli
