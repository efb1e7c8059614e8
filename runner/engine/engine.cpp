// Starting a run, resuming one, and the runner environment handed to stages.
#include "runner/engine/engine.hpp"

#include <unistd.h>

#include <cstdlib>

#include "runner/engine/run_execution.hpp"
#include "runner/engine/stage_view.hpp"
#include "runner/pipeline/loader.hpp"
#include "runner/plan/plan.hpp"
#include "runner/util/sha256.hpp"

extern char** environ;

namespace sluice::engine {

namespace {

// Every included stage must be of a kind this sluice can run: checked before anything
// starts, so a run never half-happens for want of a kind.
util::Status check_kinds(const pipeline::Pipeline& p, const std::vector<bool>& included,
                         const stages::KindRegistry& kinds) {
    for (std::size_t i = 0; i < p.stages.size(); ++i) {
        const auto& stage = p.stages[i];
        if (!included[i] || kinds.find(stage.kind) != nullptr) continue;
        return util::fail(util::ErrorCode::bad_input,
                          "stage " + stage.name + " is of kind " + pipeline::to_string(stage.kind) +
                              ", which this version of sluice cannot run yet",
                          {p.file, stage.pos.line, stage.pos.column});
    }
    return {};
}

}  // namespace

util::Result<RunEnd> Engine::run(const RunRequest& request) {
    const pipeline::Pipeline& p = request.pipeline;
    auto included = plan::select_stages(p, request.only);
    if (!included) return std::unexpected(included.error());
    if (auto st = check_kinds(p, *included, deps_.kinds); !st) return std::unexpected(st.error());

    store::NewRun new_run;
    new_run.pipeline = p.name;
    new_run.file = p.file;
    new_run.yaml = request.yaml;
    new_run.yaml_digest = util::sha256_hex(request.yaml);  // also what its memo is kept under
    new_run.workdir = request.workspace.string();
    new_run.trigger = request.trigger;
    new_run.event = request.event;
    if (request.commit) {
        new_run.branch = request.commit->branch;
        new_run.commit = request.commit->sha;
    }
    new_run.options = {{"jobs", request.jobs}, {"only", request.only}, {"source", request.source}};
    for (std::size_t i = 0; i < p.stages.size(); ++i) {
        if ((*included)[i]) new_run.stages.push_back(p.stages[i].name);
    }
    if (request.commit) {
        new_run.options["author"] = request.commit->author;
        new_run.options["message"] = request.commit->message;
    }
    if (!request.target_branch.empty()) new_run.options["target_branch"] = request.target_branch;
    // Who started the run, for `self_approval: false`: `triggered_by` only when known,
    // `trigger_identity` with where it came from, the names claimed beside it, or why
    // it is unknown.
    util::TriggerIdentity who = request.triggered_by;
    if (who.known()) {
        new_run.options["triggered_by"] = who.name;
    } else if (who.unknown_why.empty()) {
        who.unknown_why = "whoever started it did not say who they are";
    }
    new_run.options["trigger_identity"] = util::to_json(who);
    if (!request.tag.empty()) new_run.options["tag"] = request.tag;
    if (!request.rollback.is_null()) new_run.options["rollback"] = request.rollback;
    if (request.no_cache) new_run.options["no_cache"] = true;
    new_run.options["branches_with_commit"] = request.branches_with_commit;
    if (request.uncommitted) new_run.options["uncommitted"] = true;
    auto id = deps_.store.create_run(new_run);
    if (!id) return std::unexpected(id.error());
    if (request.on_created) request.on_created(*id);

    std::vector<StageStart> starts(p.stages.size());
    for (std::size_t i = 0; i < p.stages.size(); ++i) starts[i].included = (*included)[i];
    for (const auto& [stage, why] : request.skipped) {
        int i = p.index_of(stage);
        if (i < 0 || !starts[static_cast<std::size_t>(i)].included) continue;
        auto st = deps_.store.set_stage_status(
            *id, stage, "skipped", why,
            store::EventNote{"stage_finished", {{"status", "skipped"}, {"reason", why}}});
        if (!st) return std::unexpected(st.error());
        StageStart& start = starts[static_cast<std::size_t>(i)];
        start.preset = sched::State::skipped;
        start.reason = why;
        if (request.rollback.is_object() && request.rollback.contains("from_run")) {
            // A rollback re-runs only the deploy stage: what it uses of the stages before
            // it (`${{ stages.image.outputs.layout }}`) is what they gave the run it restores.
            auto from = request.rollback["from_run"].get<store::RunId>();
            if (auto old = deps_.store.find_stage(from, stage); old && *old) {
                start.outputs = (*old)->outputs;
            }
        }
        start.record.status = "skipped";
        start.record.reason = why;
    }
    RunFacts facts{*id,          request.trigger,   request.event,  request.target_branch,
                   request.tag,  request.commit,    request.workspace, request.jobs, false,
                   request.rollback, !request.no_cache, new_run.yaml_digest,
                   request.remembered};
    facts.branches_with_commit = request.branches_with_commit;
    facts.uncommitted = request.uncommitted;
    RunExecution execution(deps_, p, std::move(facts), std::move(starts));
    return execution.execute();
}

util::Result<RunEnd> Engine::resume(store::RunId id, int jobs,
                                    const std::optional<std::filesystem::path>& workspace) {
    auto found = deps_.store.find_run(id);
    if (!found) return std::unexpected(found.error());
    if (!*found) {
        return util::fail(util::ErrorCode::not_found, "no run " + std::to_string(id));
    }
    const store::RunRecord& run = **found;
    if (run.status == "passed") {
        return util::fail(util::ErrorCode::conflict,
                          "run " + std::to_string(id) + " passed; there is nothing to resume");
    }
    auto alive = deps_.store.owner_alive(id);
    if (!alive) return std::unexpected(alive.error());
    // An approver's process owns the run it continues (the store gave it the run).
    if ((run.status == "running" || run.status == "waiting") && *alive &&
        run.runner_pid != static_cast<int>(getpid())) {
        return util::fail(util::ErrorCode::conflict,
                          "run " + std::to_string(id) + " is still running (runner pid " +
                              std::to_string(run.runner_pid) + ")");
    }
    auto loaded = pipeline::load_pipeline_string(run.yaml, run.file);
    if (!loaded) {
        return util::fail(util::ErrorCode::bad_input,
                          "the pipeline stored with run " + std::to_string(id) +
                              " no longer loads: " + loaded.error().front().to_string());
    }
    auto records = deps_.store.stages(id);
    if (!records) return std::unexpected(records.error());

    const pipeline::Pipeline& p = *loaded;
    std::vector<StageStart> starts(p.stages.size());
    std::vector<bool> included(p.stages.size(), false);
    for (std::size_t i = 0; i < p.stages.size(); ++i) {
        starts[i].included = false;
        for (const auto& r : *records) {
            if (r.stage != p.stages[i].name) continue;
            starts[i].included = included[i] = true;
            if (r.status == "skipped" && r.reason.rfind("needs ", 0) != 0) {
                starts[i].preset = sched::State::skipped;  // left out by the rules
                starts[i].reason = r.reason;
                starts[i].record = stage_view(r);
            } else if (r.status == "passed" || (r.status == "failed" && r.allow_failure)) {
                starts[i].preset = r.status == "passed" ? sched::State::passed
                                                        : sched::State::failed;
                starts[i].outputs = r.outputs;
                starts[i].record = stage_view(r);
            }
        }
    }
    if (auto st = check_kinds(p, included, deps_.kinds); !st) return std::unexpected(st.error());
    if (auto st = deps_.store.claim_run(id); !st) return std::unexpected(st.error());
    for (std::size_t i = 0; i < p.stages.size(); ++i) {
        if (!starts[i].included || starts[i].preset) continue;
        if (auto st = deps_.store.set_stage_status(id, p.stages[i].name, "pending", "resumed");
            !st) {
            return std::unexpected(st.error());
        }
    }

    std::optional<git::CommitInfo> commit = commit_of(run);
    int run_jobs = jobs > 0 ? jobs : run.options.value("jobs", 1);
    RunFacts facts{id,
                   run.trigger,
                   run.event,
                   run.options.value("target_branch", std::string()),
                   run.options.value("tag", std::string()),
                   commit,
                   workspace ? *workspace : std::filesystem::path(run.workdir),
                   run_jobs,
                   true,
                   run.options.value("rollback", nlohmann::json()),
                   !run.options.value("no_cache", false),
                   "",  // a resumed run neither uses nor leaves a remembered run
                   nullptr};
    // A run stored before these were kept has none: its branch-restricted deploys are
    // refused (fail closed).
    if (auto b = run.options.find("branches_with_commit");
        b != run.options.end() && b->is_array()) {
        for (const auto& name : *b) {
            if (name.is_string()) facts.branches_with_commit.push_back(name.get<std::string>());
        }
    }
    facts.uncommitted = run.options.value("uncommitted", false);
    RunExecution execution(deps_, p, std::move(facts), std::move(starts));
    return execution.execute();
}

std::optional<git::CommitInfo> commit_of(const store::RunRecord& run) {
    if (run.commit.empty()) return std::nullopt;
    git::CommitInfo c;
    c.sha = run.commit;
    c.short_sha = run.commit.substr(0, 8);
    c.branch = run.branch;
    c.author = run.options.value("author", std::string());
    c.message = run.options.value("message", std::string());
    return c;
}

exec::Environment current_environment() {
    exec::Environment env;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string entry = *e;
        auto eq = entry.find('=');
        if (eq == std::string::npos) continue;
        env.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
    }
    return env;
}

}  // namespace sluice::engine
