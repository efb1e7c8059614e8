// The engine runs one pipeline run from plan to record: it asks the scheduler what
// may start, prepares each stage through its kind, starts it on the process runner,
// and writes every state change to the store and the reporter as it happens.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runner/engine/state_dir.hpp"
#include "runner/exec/process.hpp"
#include "runner/git/head.hpp"
#include "runner/pipeline/model.hpp"
#include "runner/report/reporter.hpp"
#include "runner/store/store.hpp"
#include "runner/util/clock.hpp"
#include "runner/util/trigger_identity.hpp"
#include "stages/stage_kind.hpp"

namespace sluice::engine {

class RememberedRun;

struct RunRequest {
    pipeline::Pipeline pipeline;
    std::string yaml;                    // the text it was loaded from (stored for resume)
    std::filesystem::path workspace;     // where stages run
    int jobs = 1;
    std::vector<std::string> only;       // --only: these stages and what they need
    std::string trigger = "local";
    std::string event = "manual";
    std::string target_branch;           // merge requests
    std::string tag;                     // pushes of a tag
    std::optional<git::CommitInfo> commit;
    // Who started the run, for `self_approval: false`: the CLI gives its account
    // (util::local_identity()), a server the webhook's sender. Left empty, the run's
    // trigger is unknown and nobody may approve a stage that forbids self-approval.
    util::TriggerIdentity triggered_by;
    // Stages the rules (`when:`) leave out, with why: recorded `skipped` before the run.
    std::vector<std::pair<std::string, std::string>> skipped;
    // Called once the run is stored, before any stage starts (e.g. --id-file).
    std::function<void(store::RunId)> on_created;
    // Where the run's files came from (repository, subdirectory), kept for resume.
    nlohmann::json source = nlohmann::json::object();
    // `sluice env rollback`: what is being restored (see RunFacts::rollback).
    nlohmann::json rollback;
    // `--no-cache`: run every stage, even one whose inputs did not change.
    bool no_cache = false;
    // The last run's memo, loaded ahead by the caller (remembered_run.hpp); optional.
    std::shared_ptr<RememberedRun> remembered;
    // The branches that contain the commit, and whether the files are uncommitted
    // (see RunFacts); what environments' `branches:` are checked against.
    std::vector<std::string> branches_with_commit;
    bool uncommitted = false;
};

struct RunEnd {
    store::RunId id = 0;
    std::string status;                  // passed, failed, cancelled
};

// What the engine needs from the world, passed in (no globals).
struct EngineDeps {
    store::Store& store;
    exec::ProcessRunner& runner;
    report::Reporter& reporter;
    const util::Clock& clock;
    const stages::KindRegistry& kinds;
    StateDir state;
    // The runner's own environment: only PATH, HOME, LANG, TERM and TMPDIR (and what
    // a stage's inherit_env names) reach stages.
    exec::Environment runner_env;
};

class Engine {
public:
    explicit Engine(EngineDeps deps) : deps_(std::move(deps)) {}

    // Starts and runs a new run to its end. Errors are bad input found before any stage
    // started (e.g. --only naming an unknown stage) or a store failure.
    util::Result<RunEnd> run(const RunRequest& request);

    // Re-runs the stages of an earlier run that did not pass, keeping those that did.
    // `workspace` replaces the recorded one (a checkout made again for the resume).
    util::Result<RunEnd> resume(store::RunId id, int jobs,
                                const std::optional<std::filesystem::path>& workspace = {});

private:
    EngineDeps deps_;
};

// The commit a stored run ran (what the engine needs of it), nullopt outside git.
std::optional<git::CommitInfo> commit_of(const store::RunRecord& run);

// The runner environment of this process (for EngineDeps::runner_env).
exec::Environment current_environment();

}  // namespace sluice::engine
