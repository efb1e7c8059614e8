// One run in progress: the loop that connects scheduler, stage kinds, process runner,
// store and reporter. Used by Engine::run and Engine::resume.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runner/engine/candidate_log.hpp"
#include "runner/engine/engine.hpp"
#include "runner/engine/remembered_run.hpp"
#include "runner/engine/report_queue.hpp"
#include "runner/engine/run_memo.hpp"
#include "runner/engine/stage_cache.hpp"
#include "runner/sched/scheduler.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::exec {
class LogWriter;
}

namespace sluice::engine {

// What a stage looks like before the loop starts (resume: settled by an earlier run).
struct StageStart {
    bool included = true;                  // false: not part of this run (--only)
    std::optional<sched::State> preset;    // settled before the run
    std::string reason;
    nlohmann::json outputs = nlohmann::json::object();  // of a preset passed stage
    report::StageFinished record;          // what the summary shows for a preset stage
};

struct RunFacts {
    store::RunId id = 0;
    std::string trigger;
    std::string event;
    std::string target_branch;
    std::string tag;
    std::optional<git::CommitInfo> commit;
    std::filesystem::path workspace;
    int jobs = 1;
    bool resumed = false;
    // A rollback run: {environment, deployment, model, model_version, from_run}; its
    // promotion moves the alias back to model_version instead of this run's candidate.
    nlohmann::json rollback;
    // false (`--no-cache`): every stage runs; passed stages still fill the cache.
    bool use_cache = true;
    // The SHA-256 of the pipeline's text: what its remembered run (run_memo.hpp) is
    // kept under; "" remembers nothing (a resumed run).
    std::string pipeline_digest;
    // The memo of the last run of this pipeline text in this workspace, loaded (and its
    // checks started) before the run; used when its key matches the run's, else the run
    // loads its own.
    std::shared_ptr<RememberedRun> remembered;
    // What `branches:` rules are checked against (StageContext::branches_with_commit,
    // ::uncommitted); kept in the run's options for a resume.
    std::vector<std::string> branches_with_commit = {};
    bool uncommitted = false;
};

class RunExecution {
public:
    RunExecution(EngineDeps& deps, const pipeline::Pipeline& pipeline, RunFacts facts,
                 std::vector<StageStart> starts);
    ~RunExecution();

    util::Result<RunEnd> execute();

private:
    struct Slot;

    void start_stage(int stage);
    void on_exit(int stage, const exec::ProcessOutcome& outcome);
    void conclude(int stage, bool ok, std::string reason, const exec::ProcessOutcome* outcome,
                  nlohmann::json report);
    void record_settled();
    // The stage's start, in the store and on the reporter (once per attempt).
    void record_start(int stage);
    // Cache: a cacheable stage's key; whether
    // its result came from the cache (then the stage is concluded `cached`); an error
    // when restoring it would write outside the workspace (the stage fails).
    util::Status compute_key(int stage);
    util::Result<bool> take_from_cache(int stage);
    // The same answer from the last run's memo, when everything it rested on still holds.
    bool take_remembered(int stage);
    // A result that came from `entry` (restored as `counts` say): concluded `cached`.
    void conclude_cached(int stage, const cache::RestoreCounts& counts);
    // What a stage's key sees of the stages it needs: their result keys (or status).
    std::vector<std::pair<std::string, std::string>> needed_keys(int stage) const;
    // At the end: the memo of this run's cached stages, for the next run.
    void save_memo();
    // Before the run changes the workspace (a stage starts, outputs are restored): the
    // memo's checks made ahead (remembered_) no longer count.
    void workspace_changes();
    // The run's log and output directories, made before its first stage starts (a run
    // whose stages all come from the cache makes none).
    util::Status make_run_dirs();
    // remembered_'s memo, or an empty one.
    const RunMemo& memo() const;
    // Records the remembered stages concluded since the last call (one transaction).
    void flush_cached();
    // After a passed stage: its artifacts stored and recorded, its cache entry written;
    // an error fails the stage (a declared output that is missing).
    util::Status keep_result(int stage);
    // Whether a stage with `approval:` has the approvals it needs (from the store).
    util::Result<bool> approval_given(const pipeline::Stage& stage);
    // Holds the stage: recorded `waiting` with its request; the run stops when nothing
    // else can run.
    void hold_for_approval(int stage);
    // After a deploy stage ran: `promote:` when it passed, then the environment's record.
    void after_deploy(int stage, stages::StageResult& result);
    void cancel(const std::string& reason);
    void check(const util::Status& status);
    // Commits the loop's batch (the store's flush_batch or end_batch), then reports what
    // it recorded (reports_).
    void commit(util::Status committed);

    std::optional<std::string> lookup(int stage, std::string_view name) const;
    util::Result<std::string> resolve(int stage, const std::string& text) const;
    util::Result<nlohmann::json> resolve_json(int stage, const nlohmann::json& value) const;
    util::Result<exec::Environment> environment_for(int stage);

    EngineDeps& deps_;
    const pipeline::Pipeline& pipeline_;
    RunFacts facts_;
    sched::Scheduler scheduler_;
    std::vector<std::unique_ptr<Slot>> slots_;
    bool cancelling_ = false;
    std::string cancel_reason_;
    std::optional<util::Error> store_error_;
    // The stage events of what the open batch records: reported once it is committed.
    ReportQueue reports_;
    CandidateLog candidates_;
    StageCache cache_;
    // The last run's memo (run_memo.hpp) and where this run's goes, when this run may use
    // them (its checks may have started before the run: RunFacts::remembered); from when
    // on a path's timestamps are too young to vouch for it.
    std::shared_ptr<RememberedRun> remembered_;
    bool touch_remembered_ = true;  // memo()'s entries were not marked used for a while
    // Remembered stages concluded, not yet in the store; while defer_record_, conclude()
    // adds the stage to them (with deferred_artifacts_) instead of writing it.
    std::vector<store::CachedStage> pending_cached_;
    bool defer_record_ = false;
    std::vector<store::Artifact> deferred_artifacts_;
    std::int64_t trusted_before_ns_ = 0;
    bool run_dirs_made_ = false;  // by make_run_dirs()
};

}  // namespace sluice::engine
