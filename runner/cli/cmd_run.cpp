// `sluice run [FILE]`: run the pipeline now, in this process, and exit with its result
// (0 passed, 1 failed, 2 bad input, 3 waiting, 130 cancelled).
#include <unistd.h>

#include <iostream>
#include <thread>

#include "runner/cli/commands.hpp"
#include "runner/cli/pipeline_file.hpp"
#include "runner/cli/run_driver.hpp"

namespace sluice::cli {

namespace {

struct RunOptions {
    std::string file;
    int jobs = 0;
    std::vector<std::string> only;
    std::string event = "manual";
    std::string branch;
    bool json = false;
};

int run_pipeline(const GlobalOptions& global, const RunOptions& options) {
    auto loaded = load_for_cli(options.file);
    if (!loaded) return util::exit_status::k_bad_input;
    auto project_dir = loaded->path.parent_path();
    auto session = open_session(global, project_dir);
    if (!session) return report_error(session.error());

    engine::RunRequest request;
    request.pipeline = std::move(loaded->pipeline);
    request.yaml = std::move(loaded->yaml);
    request.workspace = project_dir;
    request.jobs = options.jobs > 0 ? options.jobs
                                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    request.only = options.only;
    request.event = options.event;
    auto commit = git::head_commit(project_dir);
    if (!commit) {
        std::cerr << "sluice: warning: " << commit.error().message << "\n";
    } else {
        request.commit = *commit;
    }
    if (!options.branch.empty()) {
        if (!request.commit) request.commit = git::CommitInfo{};
        request.commit->branch = options.branch;
    }
    return drive_run(global, *session, options.json,
                     [&](engine::Engine& engine) { return engine.run(request); });
}

}  // namespace

void add_run_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* cmd = app.add_subcommand("run", "Run the pipeline now and wait for its result");
    auto options = std::make_shared<RunOptions>();
    cmd->add_option("FILE", options->file, "The pipeline file or its directory (default: sluice.yml)");
    cmd->add_option("-j,--jobs", options->jobs, "Stages to run at once (default: number of cores)")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--only", options->only, "Run only this stage and what it needs (repeatable)")
        ->allow_extra_args(false);
    cmd->add_option("--event", options->event, "The event to act as: push, merge_request, manual")
        ->check(CLI::IsMember({"push", "merge_request", "manual"}));
    cmd->add_option("--branch", options->branch, "The branch to act as (default: the current one)");
    cmd->add_flag("--json", options->json, "One JSON event per line instead of text");
    cmd->callback([&global, &exit_status, options] {
        exit_status = run_pipeline(global, *options);
    });
}

}  // namespace sluice::cli
