// The run store: runs, stage runs and events in SQLite (WAL). Every state change is
// its own committed transaction, so a runner killed at any moment loses nothing that
// was reported; runs whose runner died are found and marked `interrupted`.
// Several sluice processes share one database (a runner, `sluice runs`, `sluice approve`):
// each opens its own Store. One Store may be shared by threads (it serialises its calls).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runner/util/clock.hpp"
#include "runner/util/error.hpp"

namespace sluice::store {

using util::Result;
using util::Status;
using RunId = std::int64_t;

// The schema version this sluice writes (PRAGMA user_version). A database with a higher
// version comes from a newer sluice and is refused rather than misread.
inline constexpr int k_schema_version = 6;

// Run statuses: running, waiting, passed, failed, cancelled, interrupted.
// Stage statuses: pending, running, waiting, passed, failed, skipped, cancelled,
// interrupted, cached.
// (strings in the database and in every output; see docs/cli.md)
// Writing any other string is refused (ErrorCode::internal): it is a typo in sluice.
bool is_run_status(std::string_view status);
bool is_stage_status(std::string_view status);

// The caller (the engine) writes the events of the changes it makes, with add_event().
// The store writes only the events of changes it makes on its own, in the same
// transaction as the change: mark_interrupted() adds these.
namespace event_type {
inline constexpr std::string_view k_run_interrupted = "run_interrupted";
inline constexpr std::string_view k_stage_interrupted = "stage_interrupted";
}  // namespace event_type

struct NewRun {
    std::string pipeline;           // the pipeline's name
    std::string file;               // path of sluice.yml as given
    std::string yaml;               // the file's text at run time (resume re-reads this)
    std::string yaml_digest;        // SHA-256 of yaml, when the caller has it (else computed)
    std::string workdir;            // the workspace stages ran in
    std::string trigger = "local";  // local, hook, webhook, manual
    std::string event = "manual";   // push, merge_request, manual
    std::string branch;
    std::string commit;                                 // full sha, empty outside git
    nlohmann::json options = nlohmann::json::object();  // jobs, only, ...
    std::vector<std::string> stages;                    // every planned stage, created `pending`
};

struct RunRecord {
    RunId id = 0;
    std::string pipeline;
    std::string file;
    std::string yaml;
    std::string workdir;
    std::string trigger;
    std::string event;
    std::string branch;
    std::string commit;
    std::string status;
    std::string reason;            // why interrupted/failed/cancelled, human-readable
    std::int64_t created_ms = 0;   // unix epoch milliseconds
    std::int64_t finished_ms = 0;  // 0 while not finished
    int runner_pid = 0;
    nlohmann::json options;
};

struct StageRecord {
    RunId run_id = 0;
    std::string stage;
    std::string status;  // see above
    std::string reason;  // why skipped/failed/cancelled, human-readable
    int attempts = 0;    // how many times it was started
    std::optional<int> exit_code;
    int signal = 0;
    std::int64_t started_ms = 0;
    std::int64_t finished_ms = 0;
    std::int64_t duration_ms = 0;
    std::int64_t max_rss_kb = 0;
    std::string log_path;
    bool allow_failure = false;
    nlohmann::json outputs = nlohmann::json::object();  // key=value from $SLUICE_OUTPUT
    nlohmann::json report = nlohmann::json::object();   // kind-specific (gate report, ...)
};

struct EventRecord {
    std::int64_t id = 0;
    RunId run_id = 0;
    std::string stage;  // empty for run-level events
    std::int64_t at_ms = 0;
    std::string type;  // run_started, stage_started, stage_finished, ...
    nlohmann::json data;
};

// How a stage run ended, written in one transaction.
struct StageFinish {
    std::string status;
    std::string reason;
    std::optional<int> exit_code;
    int signal = 0;
    std::int64_t duration_ms = 0;
    std::int64_t max_rss_kb = 0;
    nlohmann::json outputs = nlohmann::json::object();
    nlohmann::json report = nlohmann::json::object();
    // Last, so positional initialisers written before it existed keep their meaning.
    bool allow_failure = false;  // failed, but the pipeline allowed it to
};

// An event written in the same transaction as the state change it describes, so the
// change and its event are never separated by a crash (and cost one commit, not two).
struct EventNote {
    std::string type;
    nlohmann::json data = nlohmann::json::object();
};

// A stage held for approval, with the policy it was held under.
struct ApprovalRequest {
    std::string stage;
    int required = 1;
    std::vector<std::string> approvers;  // users or groups; empty: anyone with a token
    bool self_approval = false;
    std::int64_t timeout_ms = 0;         // 0: never expires
    std::string environment;
    std::int64_t requested_ms = 0;       // set by the store
};

struct ApprovalDecision {
    std::string user;
    bool approve = true;
    std::string reason;
    std::int64_t at_ms = 0;              // set by the store
};

// What a decision did to the run.
enum class DecisionEffect {
    recorded,   // counted; more approvals are needed
    approved,   // the last approval needed: the stage is pending again and the run is
                // `running`, owned by this process, which must now continue it
    rejected,   // the stage failed, what depended on it was skipped, the run failed
    expired,    // the request was older than its timeout: rejected by sluice instead
};

// One deployment to an environment (a deploy stage that ran).
struct Deployment {
    std::int64_t id = 0;
    std::string environment;
    RunId run_id = 0;
    std::string stage;
    std::string commit;
    std::string branch;
    std::string model;
    std::string model_version;
    std::string image;       // digest (sha256:...) or reference (repo@sha256:...), "" if none
    std::vector<std::string> approved_by;
    std::string status;      // passed, failed
    std::string reason;
    std::int64_t at_ms = 0;  // set by the store
};

// One path of a stage's `outputs:` as it was when the stage passed (or was restored
// from the cache). The content is in the cache's object store under `digest`.
struct Artifact {
    std::string stage;
    std::string path;         // relative to the workspace, '/'-separated
    std::string type;         // file, symlink, dir
    std::int64_t size = 0;    // file
    std::string digest;       // file: SHA-256, 64 hex digits
    int mode = 0;             // file: 0644 or 0755
    std::string target;       // symlink
};

// A stage whose result came from the cache, recorded whole (finish_cached_stages).
struct CachedStage {
    std::string stage;
    StageFinish finish;
    std::vector<Artifact> artifacts;
};

struct StoreOptions {
    // Where times come from; nullptr means the system clock. Must outlive the Store.
    const util::Clock* clock = nullptr;
    // How long a write waits for another process's write to finish before failing.
    std::chrono::milliseconds busy_timeout{10'000};
};

class Store {
public:
    // Opens (creating parent directories, the file, and migrating as needed) the
    // database at path, in WAL mode with synchronous=NORMAL: a committed write survives
    // the process being killed (not a power cut, which is not worth an fsync per write).
    static Result<Store> open(const std::filesystem::path& path, const StoreOptions& options = {});
    // Opens an existing store for reading only (a full disk, a read-only file system):
    // every write fails, nothing is migrated. For the commands that only read.
    static Result<Store> open_read_only(const std::filesystem::path& path,
                                        const StoreOptions& options = {});

    Store(Store&&) noexcept;
    Store& operator=(Store&&) noexcept;
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;
    ~Store();

    // Every method below that changes something is one committed transaction (see
    // begin_batch() for the exception).
    // Unknown run or stage: ErrorCode::not_found. A moved-from Store: ErrorCode::internal.

    // Creates the run `running`, owned by this process, with its stages `pending` in
    // the given order (duplicate names are refused).
    Result<RunId> create_run(const NewRun& run);
    // Takes over an existing run for `sluice resume`: owner = this process, `running`.
    // ErrorCode::conflict when the run is `running` under another process that is alive.
    Status claim_run(RunId id);
    // A terminal status (sets finished_ms) or `waiting` (the runner stops, the run
    // resumes after an approval); reason says why, for people.
    Status finish_run(RunId id, const std::string& status, const std::string& reason = "");

    // Counts an attempt; clears what the previous attempt left (exit code, outputs, ...).
    Status start_stage(RunId id, const std::string& stage, const std::string& log_path,
                       const std::optional<EventNote>& event = std::nullopt);
    Status finish_stage(RunId id, const std::string& stage, const StageFinish& finish,
                       const std::optional<EventNote>& event = std::nullopt);
    // Sets a stage's status without a process (skipped, cancelled, pending again, ...).
    Status set_stage_status(RunId id, const std::string& stage, const std::string& status,
                            const std::string& reason,
                            const std::optional<EventNote>& event = std::nullopt);

    // Write batching, for the runner's loop: between begin_batch() and end_batch() the
    // writes join one transaction, committed by flush_batch() (and end_batch()); each
    // write stays all-or-nothing inside it (a savepoint). A write's success counts only
    // once the flush succeeded: a failed flush has lost every write since the last one.
    // Readers in other processes see nothing of a batch until it is flushed, and other
    // writers wait for it, so flush before anything that blocks.
    void begin_batch();
    Status flush_batch();
    Status end_batch();

    Status add_event(RunId id, const std::string& stage, const std::string& type,
                     const nlohmann::json& data);

    // Reads. "Not found" is an empty optional (or an empty list), not an error.
    Result<std::optional<RunRecord>> find_run(RunId id);
    // Newest first; limit <= 0 means all.
    Result<std::vector<RunRecord>> list_runs(int limit);
    // In the order the stages were created (the pipeline's order).
    Result<std::vector<StageRecord>> stages(RunId id);
    Result<std::optional<StageRecord>> find_stage(RunId id, const std::string& stage);
    // Events with id > after_id, by id: ids only grow, so a follower passes the last id
    // it saw and gets exactly what was committed since.
    Result<std::vector<EventRecord>> events(RunId id, std::int64_t after_id = 0);

    // Marks `running` runs whose runner process is gone as `interrupted`, with the
    // reason "runner process N is gone", and their `running` stages too (also under a
    // `waiting` run, which itself stays waiting for its approval). Adds an event for
    // each. Returns the runs it changed. Takes no write lock when nothing is stale, so
    // every sluice command can call it at start.
    Result<std::vector<RunId>> mark_interrupted();

    // Holds a stage for approval: the stage becomes `waiting` with this request (one
    // transaction with its `approval_requested` event). A request already there (a run
    // resumed while waiting) is kept, with its first requested time.
    Status request_approval(RunId id, const ApprovalRequest& request);
    Result<std::optional<ApprovalRequest>> approval_request(RunId id, const std::string& stage);
    Result<std::vector<ApprovalDecision>> decisions(RunId id, const std::string& stage);
    // Records one person's decision in one transaction that also checks the run and the
    // stage are waiting (else ErrorCode::conflict, saying what they are), that this
    // person has not decided before (conflict: a decision counts once), and applies the
    // effect. Two processes deciding at once are serialised: exactly one gets `approved`.
    Result<DecisionEffect> decide(RunId id, const std::string& stage,
                                  const ApprovalDecision& decision);

    // The environments' history: a deployment, and an environment's newest first
    // (limit <= 0: all); environments() lists every environment deployed to.
    Result<std::int64_t> add_deployment(const Deployment& deployment);
    Result<std::vector<Deployment>> deployments(const std::string& environment, int limit);
    Result<std::vector<std::string>> environments();

    // Stages whose results came from the cache, each recorded as finish_stage and
    // set_artifacts would, with one `event` (run-wide) for them all, in one transaction:
    // a run of 1000 cached stages writes them at once. The stages have no artifacts
    // recorded yet (they end here without having started).
    Status finish_cached_stages(RunId id, const std::vector<CachedStage>& stages,
                                const EventNote& event);

    // A stage's artifacts, replacing what an earlier attempt recorded (one transaction,
    // with an `artifacts` event); artifacts(id) lists those of every stage of the run,
    // by stage then path.
    Status set_artifacts(RunId id, const std::string& stage, const std::vector<Artifact>& artifacts);
    Result<std::vector<Artifact>> artifacts(RunId id);

    // Whether the process that owns run `id` is alive (same boot, pid, start time).
    Result<bool> owner_alive(RunId id);

    // Copies what the WAL holds into the main database file (a PASSIVE checkpoint: it
    // never waits for another process), so the file alone, or beside a lost or damaged
    // WAL, holds the history. The runner calls it once a run's end is recorded; it costs
    // two fdatasyncs. Not while batching (the batch is not committed yet).
    Status checkpoint();

private:
    struct Impl;
    explicit Store(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::store
