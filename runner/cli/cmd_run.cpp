// `sluice run [FILE]`: run the pipeline now, in this process, and exit with its result
// (0 passed, 1 failed, 2 bad input, 3 waiting, 130 cancelled). The rules (`on:`,
// `when:`) decide, for the event asked for, whether it runs and which stages do.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "runner/cli/commands.hpp"
#include "runner/cli/run_driver.hpp"
#include "runner/cli/run_source.hpp"
#include "runner/engine/cache_preview.hpp"
#include "runner/rules/rules.hpp"
#include "runner/util/local_identity.hpp"

namespace sluice::cli {

namespace {

// --dry-run: whether the pipeline would run and what each stage would do, and why, as
// text or (--json) one JSON object (docs/cli.md).
int print_dry_run(const RunOptions& options, RunSource& src, const rules::Trigger& trigger,
                  const rules::Decision& start,
                  const std::vector<rules::StageDecision>& decisions) {
    const pipeline::Pipeline& p = src.pipeline;
    std::vector<bool> runs(p.stages.size(), false);
    for (const auto& d : decisions) {
        int i = p.index_of(d.stage);
        if (i >= 0) runs[static_cast<std::size_t>(i)] = d.decision.yes;
    }
    auto cached = engine::preview_cache(p, runs, src.workspace, src.session.state, src.commit,
                                        options.event, !options.no_cache);
    nlohmann::json stages = nlohmann::json::array();
    for (const auto& d : decisions) {
        int i = p.index_of(d.stage);
        const auto& c = i >= 0 ? cached[static_cast<std::size_t>(i)] : std::nullopt;
        std::string action = c && c->from_cache ? "cached" : d.decision.yes ? "runs" : "skipped";
        std::string why = c ? d.decision.why + "; " + c->why : d.decision.why;
        stages.push_back({{"stage", d.stage}, {"action", action}, {"why", why}});
    }
    if (options.json) {
        nlohmann::json out = {{"event", options.event},
                              {"trigger", rules::describe(trigger)},
                              {"runs", start.yes},
                              {"why", start.why},
                              {"stages", std::move(stages)}};
        if (src.commit) out["commit"] = src.commit->sha;
        if (src.changed_files) out["changed_files"] = *src.changed_files;
        std::cout << out.dump() << "\n";
        return util::exit_status::k_ok;
    }
    std::cout << rules::describe(trigger) << ": " << (start.yes ? "the pipeline runs" : "no run")
              << " (" << start.why << ")\n";
    if (src.changed_files) {
        std::cout << src.changed_files->size() << " changed files" << src.changed_base << "\n";
    }
    for (const auto& s : stages) {
        std::cout << "  " << s["stage"].get<std::string>() << ": " << s["action"].get<std::string>()
                  << " (" << s["why"].get<std::string>() << ")\n";
    }
    return util::exit_status::k_ok;
}

int run_pipeline(const GlobalOptions& global, const RunOptions& options) {
    if (options.worktree && !options.commit.empty()) {
        return report_error({util::ErrorCode::bad_input,
                             "--worktree runs the files as they are; it cannot go with --commit", {}});
    }
    if (!options.tag.empty() && !options.branch.empty()) {
        return report_error(
            {util::ErrorCode::bad_input, "a push is of a branch or of a tag: give --branch or --tag", {}});
    }
    if (!options.target.empty() && options.event != "merge_request") {
        return report_error({util::ErrorCode::bad_input,
                             "--target names a merge request's target branch: use it with "
                             "--event merge_request", {}});
    }
    auto source = open_run_source(global, options);
    if (!source) return report_error(source.error());
    RunSource& src = *source;

    rules::Trigger trigger;
    trigger.event = options.event;
    trigger.branch = options.tag.empty() ? (options.branch.empty() && src.commit ? src.commit->branch
                                                                                 : options.branch)
                                         : "";
    trigger.target_branch = options.target;
    trigger.tag = options.tag;
    trigger.changed_files = src.changed_files;

    const pipeline::Pipeline& p = src.pipeline;
    auto start = rules::starts_pipeline(p.on, trigger);
    auto decisions = rules::stage_decisions(p, trigger);
    if (options.dry_run) return print_dry_run(options, src, trigger, start, decisions);
    if (!start.yes) {
        std::cerr << "sluice: not running: " << start.why << "\n";
        return util::exit_status::k_ok;
    }

    engine::RunRequest request;
    request.pipeline = std::move(src.pipeline);
    request.yaml = std::move(src.yaml);
    request.workspace = src.workspace;
    request.jobs = options.effective_jobs();
    request.remembered = std::move(src.remembered);
    request.only = options.only;
    request.trigger = options.trigger;
    request.event = options.event;
    request.target_branch = options.target;
    request.tag = options.tag;
    request.commit = src.commit;
    request.triggered_by = util::local_identity();  // a hook's run: the pusher's account
    request.source = src.source;
    request.no_cache = options.no_cache;
    // --branch describes the event; what may deploy is decided by the branches that
    // contain the commit (deploy_branches).
    request.branches_with_commit = src.branches_with_commit;
    request.uncommitted = src.uncommitted;
    if (request.commit && !trigger.branch.empty()) request.commit->branch = trigger.branch;
    for (const auto& d : decisions) {
        if (!d.decision.yes) request.skipped.emplace_back(d.stage, d.decision.why);
    }
    if (!options.id_file.empty()) {
        request.on_created = [file = options.id_file](store::RunId id) {
            std::ofstream(file) << id << "\n";
        };
    }
    return drive_run(global, src.session, options.json,
                     [&](engine::Engine& engine) { return engine.run(request); });
}

}  // namespace

void add_run_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* cmd = app.add_subcommand("run", "Run the pipeline now and wait for its result");
    auto options = std::make_shared<RunOptions>();
    cmd->add_option("FILE", options->file,
                    "The pipeline file or its directory (default: sluice.yml)");
    cmd->add_option("--commit", options->commit,
                    "Run this commit (sha, branch, tag, HEAD~2, ...), checked out into a workspace");
    cmd->add_flag("--worktree", options->worktree,
                  "Run on the working tree as it is, uncommitted files included");
    cmd->add_option("--repo", options->repo,
                    "Run a commit of this repository (URL or path), kept as a mirror");
    cmd->add_option("-j,--jobs", options->jobs, "Stages to run at once (default: number of cores)")
        ->check(positive_integer());
    cmd->add_option("--only", options->only, "Run only this stage and what it needs (repeatable)")
        ->allow_extra_args(false);
    cmd->add_option("--event", options->event, "The event to act as: push, merge_request, manual")
        ->check(CLI::IsMember({"push", "merge_request", "manual"}));
    cmd->add_option("--branch", options->branch,
                    "The branch to act as (default: the commit's branch)");
    cmd->add_option("--tag", options->tag, "Act as a push of this tag");
    cmd->add_option("--target", options->target, "A merge request's target branch");
    cmd->add_option("--before", options->before,
                    "The commit before the push: `changes:` rules compare with it");
    cmd->add_option("--trigger", options->trigger, "What started the run (recorded)")
        ->check(CLI::IsMember({"local", "hook", "webhook", "manual"}));
    cmd->add_option("--id-file", options->id_file, "Write the run's id to this file once stored");
    cmd->add_flag("--dry-run", options->dry_run,
                  "Print whether the pipeline would run and which stages, and why; run nothing");
    cmd->add_flag("--no-cache", options->no_cache,
                  "Run every stage, even those whose inputs did not change (results still fill the cache)");
    cmd->add_flag("--json", options->json, "One JSON event per line instead of text (with --dry-run: one JSON object)");
    cmd->callback([&global, &exit_status, options] {
        exit_status = run_pipeline(global, *options);
    });
}

}  // namespace sluice::cli
