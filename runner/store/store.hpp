// The run store: runs, stage runs and events in SQLite (WAL). Every state change is
// its own committed transaction, so a runner killed at any moment loses nothing that
// was reported; runs whose runner died are found and marked `interrupted`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner/util/error.hpp"

struct sqlite3;

namespace sluice::store {

using util::Result;
using util::Status;
using RunId = std::int64_t;

// Run statuses: running, waiting, passed, failed, cancelled, interrupted.
// Stage statuses: pending, running, waiting, passed, failed, skipped, cancelled,
// interrupted, cached.
// (strings in the database and in every output; see docs/cli.md)

struct NewRun {
    std::string pipeline;        // the pipeline's name
    std::string file;            // path of sluice.yml as given
    std::string yaml;            // the file's text at run time (resume re-reads this)
    std::string workdir;         // the workspace stages ran in
    std::string trigger = "local";  // local, hook, webhook, manual
    std::string event = "manual";   // push, merge_request, manual
    std::string branch;
    std::string commit;          // full sha, empty outside git
    nlohmann::json options = nlohmann::json::object();  // jobs, only, ...
    std::vector<std::string> stages;  // every planned stage, created `pending`
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
    std::int64_t created_ms = 0;    // unix epoch milliseconds
    std::int64_t finished_ms = 0;   // 0 while not finished
    int runner_pid = 0;
    nlohmann::json options;
};

struct StageRecord {
    RunId run_id = 0;
    std::string stage;
    std::string status;             // see above
    std::string reason;             // why skipped/failed/cancelled, human-readable
    int attempts = 0;               // how many times it was started
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
    std::string stage;              // empty for run-level events
    std::int64_t at_ms = 0;
    std::string type;               // run_started, stage_started, stage_finished, ...
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
};

class Store {
public:
    // Opens (creating and migrating as needed) the database at path.
    static Result<Store> open(const std::filesystem::path& path);

    Store(Store&&) noexcept;
    Store& operator=(Store&&) noexcept;
    ~Store();

    // Creates the run `running`, owned by this process, with its stages `pending`.
    Result<RunId> create_run(const NewRun& run);
    // Takes over an existing run for `sluice resume`: owner = this process, `running`.
    Status claim_run(RunId id);
    Status finish_run(RunId id, const std::string& status);

    Status start_stage(RunId id, const std::string& stage, const std::string& log_path);
    Status finish_stage(RunId id, const std::string& stage, const StageFinish& finish);
    // Sets a stage's status without a process (skipped, cancelled, pending again, ...).
    Status set_stage_status(RunId id, const std::string& stage, const std::string& status,
                            const std::string& reason);

    Status add_event(RunId id, const std::string& stage, const std::string& type,
                     const nlohmann::json& data);

    Result<std::optional<RunRecord>> find_run(RunId id);
    Result<std::vector<RunRecord>> list_runs(int limit);
    Result<std::vector<StageRecord>> stages(RunId id);
    Result<std::vector<EventRecord>> events(RunId id, std::int64_t after_id = 0);

    // Marks `running`/`waiting`-with-a-live-owner runs whose runner process is gone
    // as `interrupted` (their running stages too). Returns the runs it marked.
    Result<std::vector<RunId>> mark_interrupted();

    // Whether the process that owns run `id` is alive (same pid, same start time).
    Result<bool> owner_alive(RunId id);

private:
    struct Closer {
        void operator()(sqlite3* db) const;
    };
    explicit Store(std::unique_ptr<sqlite3, Closer> db);
    std::unique_ptr<sqlite3, Closer> db_;
};

}  // namespace sluice::store
