// The run store over SQLite (see store.hpp). Each public method takes the Store's
// mutex, then either reads with one statement or writes in one BEGIN IMMEDIATE
// transaction (while batching: in a savepoint of the batch's transaction).
#include "runner/store/store.hpp"

#include <algorithm>
#include <array>
#include <mutex>
#include <optional>
#include <set>
#include <system_error>
#include <thread>
#include <utility>

#include "runner/store/process_identity.hpp"
#include "runner/store/schema.hpp"
#include "runner/store/sqlite.hpp"
#include "runner/util/sha256.hpp"

namespace sluice::store {

using util::ErrorCode;
using util::fail;

namespace {

constexpr std::array<std::string_view, 6> k_run_statuses = {"running", "waiting",   "passed",
                                                            "failed",  "cancelled", "interrupted"};
constexpr std::array<std::string_view, 9> k_stage_statuses = {"pending",   "running",     "waiting",
                                                              "passed",    "failed",      "skipped",
                                                              "cancelled", "interrupted", "cached"};

// Columns read into a RunRecord / StageRecord / EventRecord, in the order the
// readers below expect them.
constexpr const char* k_run_columns =
    "id, pipeline, file, "
    "COALESCE((SELECT yaml FROM pipeline_texts WHERE pipeline_texts.id = runs.text_id), yaml), "
    "workdir, trigger_name, event_name, branch, commit_sha, "
    "status, reason, created_ms, finished_ms, owner_pid, options";
constexpr const char* k_stage_columns =
    "run_id, stage, status, reason, attempts, exit_code, signal, started_ms, finished_ms, "
    "duration_ms, max_rss_kb, log_path, allow_failure, outputs, report";

std::string dump(const nlohmann::json& value) {
    // replace: a stage's output with invalid UTF-8 must not throw out of the store.
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<nlohmann::json> parse(const std::string& text, std::string_view what) {
    auto value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
        return fail(ErrorCode::store, std::string(what) + " holds invalid JSON: " + text);
    }
    return value;
}

util::Error with_context(util::Error error, const std::string& context) {
    error.message = context + ": " + error.message;
    return error;
}

std::string run_name(RunId id) { return "run " + std::to_string(id); }

std::string stage_name(RunId id, const std::string& stage) {
    return "stage '" + stage + "' of run " + std::to_string(id);
}

}  // namespace

bool is_run_status(std::string_view status) {
    return std::find(k_run_statuses.begin(), k_run_statuses.end(), status) != k_run_statuses.end();
}

bool is_stage_status(std::string_view status) {
    return std::find(k_stage_statuses.begin(), k_stage_statuses.end(), status) !=
           k_stage_statuses.end();
}

struct Store::Impl {
    std::filesystem::path path;
    sqlite::Connection db;
    util::SystemClock system_clock;
    const util::Clock* clock = nullptr;
    std::string boot_id;
    std::mutex mutex;

    Impl(std::filesystem::path p, sqlite::Connection c, const util::Clock* user_clock)
        : path(std::move(p)), db(std::move(c)), clock(user_clock), boot_id(read_boot_id()) {
        if (clock == nullptr) clock = &system_clock;
    }

    std::int64_t now_ms() const { return clock->epoch_ms(); }

    util::Error error(util::Error e) const { return with_context(std::move(e), path.string()); }

    // Between begin_batch() and end_batch(): writes join `batch`, begun by the first
    // of them; `batch_lost` is set when SQLite rolled the whole batch back.
    bool batching = false;
    std::optional<sqlite::Transaction> batch;
    std::optional<util::Error> batch_lost;

    Status run_sql(const char* sql) {
        auto stmt = db.prepare(sql);
        if (!stmt) return std::unexpected(stmt.error());
        return stmt->run();
    }

    // Runs body inside one write transaction and commits it; any failure rolls back.
    // While batching, the transaction is the batch's and body runs in a savepoint of it.
    template <class Body>
    auto write(Body&& body) -> decltype(body()) {
        if (batching) return write_in_batch(body);
        auto txn = sqlite::Transaction::begin(db);
        if (!txn) return std::unexpected(error(txn.error()));
        auto result = body();
        if (!result) return result;
        if (auto done = txn->commit(); !done) return std::unexpected(error(done.error()));
        return result;
    }

    template <class Body>
    auto write_in_batch(Body& body) -> decltype(body()) {
        if (!batch) {
            auto txn = sqlite::Transaction::begin(db);
            if (!txn) return std::unexpected(error(txn.error()));
            batch.emplace(std::move(*txn));
        }
        if (auto begun = run_sql("SAVEPOINT sluice_write"); !begun) {
            return std::unexpected(error(begun.error()));
        }
        auto result = body();
        if (result) {
            if (auto released = run_sql("RELEASE sluice_write"); !released) {
                return std::unexpected(error(released.error()));
            }
            return result;
        }
        if (sqlite3_get_autocommit(db.get()) != 0) {
            // SQLite rolled the whole transaction back (SQLITE_FULL, an I/O error):
            // the writes of the batch before this one are gone too.
            batch.reset();
            if (!batch_lost) batch_lost = result.error();
        } else {
            (void)run_sql("ROLLBACK TO sluice_write");
            (void)run_sql("RELEASE sluice_write");
        }
        return result;
    }

    Status flush() {
        Status status;
        if (batch) {
            status = batch->commit();
            batch.reset();  // rolls back when the commit failed
            if (!status) status = std::unexpected(error(status.error()));
        }
        if (batch_lost) {
            status = std::unexpected(*batch_lost);
            batch_lost.reset();
        }
        return status;
    }

    Status append_event(RunId id, std::string_view stage, std::string_view type,
                        const nlohmann::json& data, std::int64_t at_ms) {
        auto stmt = db.prepare(
            "INSERT INTO events(run_id, stage, at_ms, type, data) VALUES(?1, ?2, ?3, ?4, ?5)");
        if (!stmt) return std::unexpected(stmt.error());
        stmt->bind_int(1, id);
        stmt->bind_text(2, stage);
        stmt->bind_int(3, at_ms);
        stmt->bind_text(4, type);
        stmt->bind_text(5, dump(data));
        return stmt->run();
    }

    // A stage's end: its row, and its event (when given). In the caller's transaction.
    Status write_finish(RunId id, const std::string& stage, const StageFinish& finish,
                        const std::optional<EventNote>& event) {
        auto now = now_ms();
        auto stmt = db.prepare(
            "UPDATE stage_runs SET status = ?3, reason = ?4, exit_code = ?5, signal = ?6, "
            "finished_ms = ?7, duration_ms = ?8, max_rss_kb = ?9, allow_failure = ?10, "
            "outputs = ?11, report = ?12 WHERE run_id = ?1 AND stage = ?2");
        if (!stmt) return std::unexpected(error(stmt.error()));
        stmt->bind_int(1, id);
        stmt->bind_text(2, stage);
        stmt->bind_text(3, finish.status);
        stmt->bind_text(4, finish.reason);
        stmt->bind_optional_int(5, finish.exit_code);
        stmt->bind_int(6, finish.signal);
        stmt->bind_int(7, now);
        stmt->bind_int(8, finish.duration_ms);
        stmt->bind_int(9, finish.max_rss_kb);
        stmt->bind_int(10, finish.allow_failure ? 1 : 0);
        stmt->bind_text(11, dump(finish.outputs));
        stmt->bind_text(12, dump(finish.report));
        return finish_stage_update(*stmt, id, stage, event, now);
    }

    // A stage's artifacts, replacing what was recorded before. In the caller's transaction.
    Status write_artifacts(RunId id, const std::string& stage, const std::vector<Artifact>& artifacts) {
        auto clear = db.prepare("DELETE FROM artifacts WHERE run_id = ?1 AND stage = ?2");
        if (!clear) return std::unexpected(error(clear.error()));
        clear->bind_int(1, id);
        clear->bind_text(2, stage);
        if (auto done = clear->run(); !done) return std::unexpected(error(done.error()));
        return insert_artifacts(id, stage, artifacts);
    }

    // Inserts `count` rows, up to k_rows_per_insert in one statement (a statement per
    // row costs twice as much): `insert` is "INSERT INTO t (a, b) VALUES ", `row` one
    // row's placeholders ("(?, ?)"), and bind(statement, first, i) binds row i's values
    // to the parameters from `first` on. In the caller's transaction.
    static constexpr std::size_t k_rows_per_insert = 64;
    template <class Bind>
    Status insert_rows(std::string_view insert, std::string_view row, int params_per_row,
                       std::size_t count, Bind bind) {
        for (std::size_t first = 0; first < count; first += k_rows_per_insert) {
            std::size_t rows = std::min(k_rows_per_insert, count - first);
            std::string sql(insert);
            for (std::size_t i = 0; i < rows; ++i) sql.append(i == 0 ? "" : ", ").append(row);
            auto q = db.prepare(sql);
            if (!q) return std::unexpected(q.error());
            for (std::size_t i = 0; i < rows; ++i) {
                bind(*q, static_cast<int>(i) * params_per_row + 1, first + i);
            }
            if (auto done = q->run(); !done) return done;
        }
        return {};
    }

    // Artifacts (each with the stage it is recorded for) of stages that have none
    // recorded. In the caller's transaction.
    using StageArtifact = std::pair<const std::string*, const Artifact*>;
    Status insert_artifacts(RunId id, const std::vector<StageArtifact>& artifacts) {
        auto done = insert_rows(
            "INSERT INTO artifacts (run_id, stage, path, type, size, digest, mode, target) VALUES ",
            "(?, ?, ?, ?, ?, ?, ?, ?)", 8, artifacts.size(),
            [&](sqlite::Statement& q, int p, std::size_t i) {
                const auto& [stage, a] = artifacts[i];
                q.bind_int(p, id);
                q.bind_text(p + 1, *stage);
                q.bind_text(p + 2, a->path);
                q.bind_text(p + 3, a->type);
                q.bind_int(p + 4, a->size);
                q.bind_text(p + 5, a->digest);
                q.bind_int(p + 6, a->mode);
                q.bind_text(p + 7, a->target);
            });
        if (!done && sqlite3_extended_errcode(db.get()) == SQLITE_CONSTRAINT_FOREIGNKEY) {
            return std::unexpected(missing(id, nullptr));
        }
        if (!done) return std::unexpected(error(done.error()));
        return {};
    }
    Status insert_artifacts(RunId id, const std::string& stage, const std::vector<Artifact>& artifacts) {
        std::vector<StageArtifact> all;
        for (const Artifact& a : artifacts) all.emplace_back(&stage, &a);
        return insert_artifacts(id, all);
    }

    // The row of pipeline_texts holding `yaml`, added when no run had that text yet. In
    // the caller's transaction.
    Result<std::int64_t> text_id(const std::string& yaml, std::string digest) {
        if (digest.empty()) digest = util::sha256_hex(yaml);
        auto add = db.prepare(
            "INSERT INTO pipeline_texts (digest, yaml) VALUES (?1, ?2) ON CONFLICT (digest) DO NOTHING");
        if (!add) return std::unexpected(add.error());
        add->bind_text(1, digest);
        add->bind_text(2, yaml);
        if (auto done = add->run(); !done) return std::unexpected(done.error());
        auto find = db.prepare("SELECT id FROM pipeline_texts WHERE digest = ?1");
        if (!find) return std::unexpected(find.error());
        find->bind_text(1, digest);
        auto row = find->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) return fail(ErrorCode::store, "the pipeline's text was not kept");
        return find->column_int(0);
    }

    // Runs a stage row's UPDATE, then appends its event (when given) in the same transaction.
    Status finish_stage_update(sqlite::Statement& stmt, RunId id, const std::string& stage,
                               const std::optional<EventNote>& event, std::int64_t now) {
        if (auto done = stmt.run(); !done) return std::unexpected(error(done.error()));
        if (sqlite3_changes(db.get()) == 0) return std::unexpected(missing(id, &stage));
        if (event) {
            if (auto done = append_event(id, stage, event->type, event->data, now); !done) {
                return std::unexpected(error(done.error()));
            }
        }
        return {};
    }

    // After an UPDATE matched nothing: says whether the run or the stage is missing.
    util::Error missing(RunId id, const std::string* stage) {
        auto stmt = db.prepare("SELECT 1 FROM runs WHERE id = ?1");
        bool run_exists = false;
        if (stmt) {
            stmt->bind_int(1, id);
            auto row = stmt->step();
            run_exists = row && *row;
        }
        if (!run_exists || stage == nullptr) {
            return util::Error{ErrorCode::not_found, "no " + run_name(id), {}};
        }
        return util::Error{
            ErrorCode::not_found, run_name(id) + " has no stage '" + *stage + "'", {}};
    }

    Result<std::optional<ProcessIdentity>> owner_of(RunId id, std::string* status) {
        auto stmt = db.prepare(
            "SELECT owner_pid, owner_start_ticks, owner_boot_id, status FROM runs WHERE id = ?1");
        if (!stmt) return std::unexpected(error(stmt.error()));
        stmt->bind_int(1, id);
        auto row = stmt->step();
        if (!row) return std::unexpected(error(row.error()));
        if (!*row) return std::optional<ProcessIdentity>();
        ProcessIdentity owner{static_cast<int>(stmt->column_int(0)), stmt->column_int(1),
                              stmt->column_text(2)};
        if (status != nullptr) *status = stmt->column_text(3);
        return std::optional<ProcessIdentity>(std::move(owner));
    }

    bool is_self(const ProcessIdentity& owner) const {
        auto self = current_process(boot_id);
        return owner.pid == self.pid && owner.start_ticks == self.start_ticks &&
               owner.boot_id == self.boot_id;
    }

    Status set_owner(RunId id) {
        auto self = current_process(boot_id);
        auto stmt = db.prepare(
            "UPDATE runs SET status = 'running', reason = '', finished_ms = 0, owner_pid = ?2, "
            "owner_start_ticks = ?3, owner_boot_id = ?4 WHERE id = ?1");
        if (!stmt) return std::unexpected(stmt.error());
        stmt->bind_int(1, id);
        stmt->bind_int(2, self.pid);
        stmt->bind_int(3, self.start_ticks);
        stmt->bind_text(4, self.boot_id);
        return stmt->run();
    }

    Result<RunRecord> read_run(const sqlite::Statement& stmt) {
        RunRecord run;
        run.id = stmt.column_int(0);
        run.pipeline = stmt.column_text(1);
        run.file = stmt.column_text(2);
        run.yaml = stmt.column_text(3);
        run.workdir = stmt.column_text(4);
        run.trigger = stmt.column_text(5);
        run.event = stmt.column_text(6);
        run.branch = stmt.column_text(7);
        run.commit = stmt.column_text(8);
        run.status = stmt.column_text(9);
        run.reason = stmt.column_text(10);
        run.created_ms = stmt.column_int(11);
        run.finished_ms = stmt.column_int(12);
        run.runner_pid = static_cast<int>(stmt.column_int(13));
        auto options = parse(stmt.column_text(14), run_name(run.id) + " options");
        if (!options) return std::unexpected(error(options.error()));
        run.options = std::move(*options);
        return run;
    }

    Result<StageRecord> read_stage(const sqlite::Statement& stmt) {
        StageRecord stage;
        stage.run_id = stmt.column_int(0);
        stage.stage = stmt.column_text(1);
        stage.status = stmt.column_text(2);
        stage.reason = stmt.column_text(3);
        stage.attempts = static_cast<int>(stmt.column_int(4));
        if (!stmt.column_is_null(5)) stage.exit_code = static_cast<int>(stmt.column_int(5));
        stage.signal = static_cast<int>(stmt.column_int(6));
        stage.started_ms = stmt.column_int(7);
        stage.finished_ms = stmt.column_int(8);
        stage.duration_ms = stmt.column_int(9);
        stage.max_rss_kb = stmt.column_int(10);
        stage.log_path = stmt.column_text(11);
        stage.allow_failure = stmt.column_int(12) != 0;
        auto outputs =
            parse(stmt.column_text(13), stage_name(stage.run_id, stage.stage) + " outputs");
        if (!outputs) return std::unexpected(error(outputs.error()));
        stage.outputs = std::move(*outputs);
        auto report =
            parse(stmt.column_text(14), stage_name(stage.run_id, stage.stage) + " report");
        if (!report) return std::unexpected(error(report.error()));
        stage.report = std::move(*report);
        return stage;
    }
};

namespace {

// What every method answers on a moved-from Store, rather than crashing.
std::unexpected<util::Error> moved_from() {
    return fail(ErrorCode::internal, "use of a moved-from store::Store");
}

}  // namespace

// ---- Opening -----------------------------------------------------------------------

Result<Store> Store::open(const std::filesystem::path& path, const StoreOptions& options) {
    auto db = open_database(path, migrations(), options.busy_timeout);
    if (!db) return std::unexpected(db.error());
    return Store(std::make_unique<Impl>(path, std::move(*db), options.clock));
}

Result<Store> Store::open_read_only(const std::filesystem::path& path,
                                    const StoreOptions& options) {
    auto db = open_database_read_only(path, migrations(), options.busy_timeout);
    if (!db) return std::unexpected(db.error());
    return Store(std::make_unique<Impl>(path, std::move(*db), options.clock));
}

Status Store::checkpoint() {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    if (impl_->batching) {
        return fail(ErrorCode::internal, "checkpoint: the store is batching writes");
    }
    if (auto done = impl_->db.checkpoint(); !done) {
        return std::unexpected(impl_->error(done.error()));
    }
    return {};
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

// ---- Runs --------------------------------------------------------------------------

Result<RunId> Store::create_run(const NewRun& run) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    std::set<std::string_view> seen;
    for (const auto& stage : run.stages) {
        if (!seen.insert(stage).second) {
            return fail(ErrorCode::internal,
                        "run of " + run.pipeline + " lists stage '" + stage + "' twice");
        }
    }
    auto& s = *impl_;
    return s.write([&]() -> Result<RunId> {
        auto now = s.now_ms();
        auto self = current_process(s.boot_id);
        auto text = s.text_id(run.yaml, run.yaml_digest);
        if (!text) return std::unexpected(s.error(text.error()));
        auto insert = s.db.prepare(
            "INSERT INTO runs(pipeline, file, yaml, workdir, trigger_name, event_name, branch, "
            "commit_sha, status, options, created_ms, owner_pid, owner_start_ticks, "
            "owner_boot_id, text_id) VALUES(?1, ?2, '', ?4, ?5, ?6, ?7, ?8, 'running', ?9, ?10, "
            "?11, ?12, ?13, ?3)");
        if (!insert) return std::unexpected(s.error(insert.error()));
        insert->bind_text(1, run.pipeline);
        insert->bind_text(2, run.file);
        insert->bind_int(3, *text);
        insert->bind_text(4, run.workdir);
        insert->bind_text(5, run.trigger);
        insert->bind_text(6, run.event);
        insert->bind_text(7, run.branch);
        insert->bind_text(8, run.commit);
        insert->bind_text(9, dump(run.options));
        insert->bind_int(10, now);
        insert->bind_int(11, self.pid);
        insert->bind_int(12, self.start_ticks);
        insert->bind_text(13, self.boot_id);
        if (auto done = insert->run(); !done) {
            return std::unexpected(s.error(with_context(done.error(), "creating a run")));
        }
        RunId id = sqlite3_last_insert_rowid(s.db.get());

        auto stages = s.insert_rows(
            "INSERT INTO stage_runs (run_id, position, stage, status) VALUES ", "(?, ?, ?, 'pending')",
            3, run.stages.size(), [&](sqlite::Statement& q, int p, std::size_t i) {
                q.bind_int(p, id);
                q.bind_int(p + 1, static_cast<std::int64_t>(i));
                q.bind_text(p + 2, run.stages[i]);
            });
        if (!stages) return std::unexpected(s.error(stages.error()));
        return id;
    });
}

Status Store::claim_run(RunId id) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    return s.write([&]() -> Status {
        std::string status;
        auto owner = s.owner_of(id, &status);
        if (!owner) return std::unexpected(owner.error());
        if (!*owner) return std::unexpected(s.missing(id, nullptr));
        // Checked under the write lock, so of two `sluice resume`s only one wins.
        if (status == "running" && !s.is_self(**owner) && process_alive(**owner, s.boot_id)) {
            return fail(ErrorCode::conflict, run_name(id) + " is running under process " +
                                                 std::to_string((*owner)->pid));
        }
        if (auto done = s.set_owner(id); !done) return std::unexpected(s.error(done.error()));
        return {};
    });
}

Status Store::finish_run(RunId id, const std::string& status, const std::string& reason) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    if (!is_run_status(status) || status == "running") {
        return fail(ErrorCode::internal, "finish_run: '" + status + "' is not a run's end");
    }
    auto& s = *impl_;
    return s.write([&]() -> Status {
        auto now = s.now_ms();
        bool waiting = status == "waiting";
        auto stmt = s.db.prepare(
            "UPDATE runs SET status = ?2, reason = ?3, finished_ms = ?4 WHERE id = ?1");
        if (!stmt) return std::unexpected(s.error(stmt.error()));
        stmt->bind_int(1, id);
        stmt->bind_text(2, status);
        stmt->bind_text(3, reason);
        stmt->bind_int(4, waiting ? 0 : now);
        if (auto done = stmt->run(); !done) return std::unexpected(s.error(done.error()));
        if (sqlite3_changes(s.db.get()) == 0) return std::unexpected(s.missing(id, nullptr));
        return {};
    });
}

// ---- Stages ------------------------------------------------------------------------

Status Store::start_stage(RunId id, const std::string& stage, const std::string& log_path,
                          const std::optional<EventNote>& event) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    return s.write([&]() -> Status {
        auto now = s.now_ms();
        auto stmt = s.db.prepare(
            "UPDATE stage_runs SET status = 'running', reason = '', attempts = attempts + 1, "
            "exit_code = NULL, signal = 0, started_ms = ?3, finished_ms = 0, duration_ms = 0, "
            "max_rss_kb = 0, log_path = ?4, allow_failure = 0, outputs = '{}', report = '{}' "
            "WHERE run_id = ?1 AND stage = ?2");
        if (!stmt) return std::unexpected(s.error(stmt.error()));
        stmt->bind_int(1, id);
        stmt->bind_text(2, stage);
        stmt->bind_int(3, now);
        stmt->bind_text(4, log_path);
        return s.finish_stage_update(*stmt, id, stage, event, now);
    });
}

Status Store::finish_stage(RunId id, const std::string& stage, const StageFinish& finish,
                           const std::optional<EventNote>& event) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    if (!is_stage_status(finish.status)) {
        return fail(ErrorCode::internal,
                    "finish_stage: unknown stage status '" + finish.status + "'");
    }
    auto& s = *impl_;
    return s.write([&]() -> Status { return s.write_finish(id, stage, finish, event); });
}

Status Store::finish_cached_stages(RunId id, const std::vector<CachedStage>& stages,
                                   const EventNote& event) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    return s.write([&]() -> Status {
        std::vector<Impl::StageArtifact> artifacts;
        for (const CachedStage& c : stages) {
            if (auto done = s.write_finish(id, c.stage, c.finish, std::nullopt); !done) return done;
            for (const Artifact& a : c.artifacts) artifacts.emplace_back(&c.stage, &a);
        }
        if (auto done = s.insert_artifacts(id, artifacts); !done) return done;
        if (auto done = s.append_event(id, "", event.type, event.data, s.now_ms()); !done) {
            return std::unexpected(s.error(done.error()));
        }
        return {};
    });
}

Status Store::set_stage_status(RunId id, const std::string& stage, const std::string& status,
                               const std::string& reason, const std::optional<EventNote>& event) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    if (!is_stage_status(status)) {
        return fail(ErrorCode::internal, "set_stage_status: unknown stage status '" + status + "'");
    }
    auto& s = *impl_;
    return s.write([&]() -> Status {
        auto now = s.now_ms();
        // pending/waiting are not an end: they clear finished_ms rather than set it.
        bool ended = status != "pending" && status != "waiting" && status != "running";
        auto stmt = s.db.prepare(
            "UPDATE stage_runs SET status = ?3, reason = ?4, finished_ms = ?5 "
            "WHERE run_id = ?1 AND stage = ?2");
        if (!stmt) return std::unexpected(s.error(stmt.error()));
        stmt->bind_int(1, id);
        stmt->bind_text(2, stage);
        stmt->bind_text(3, status);
        stmt->bind_text(4, reason);
        stmt->bind_int(5, ended ? now : 0);
        return s.finish_stage_update(*stmt, id, stage, event, now);
    });
}

// ---- Events ------------------------------------------------------------------------

void Store::begin_batch() {
    if (!impl_) return;
    std::lock_guard lock(impl_->mutex);
    impl_->batching = true;
}

Status Store::flush_batch() {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    return impl_->flush();
}

Status Store::end_batch() {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    impl_->batching = false;
    return impl_->flush();
}

Status Store::add_event(RunId id, const std::string& stage, const std::string& type,
                        const nlohmann::json& data) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    return s.write([&]() -> Status {
        if (auto done = s.append_event(id, stage, type, data, s.now_ms()); !done) {
            // The foreign key is what notices an unknown run.
            if (sqlite3_extended_errcode(s.db.get()) == SQLITE_CONSTRAINT_FOREIGNKEY) {
                return std::unexpected(s.missing(id, nullptr));
            }
            return std::unexpected(s.error(done.error()));
        }
        return {};
    });
}

// ---- Reads -------------------------------------------------------------------------

Result<std::optional<RunRecord>> Store::find_run(RunId id) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    auto stmt = s.db.prepare(std::string("SELECT ") + k_run_columns + " FROM runs WHERE id = ?1");
    if (!stmt) return std::unexpected(s.error(stmt.error()));
    stmt->bind_int(1, id);
    auto row = stmt->step();
    if (!row) return std::unexpected(s.error(row.error()));
    if (!*row) return std::optional<RunRecord>();
    auto run = s.read_run(*stmt);
    if (!run) return std::unexpected(run.error());
    return std::optional<RunRecord>(std::move(*run));
}

Result<std::vector<RunRecord>> Store::list_runs(int limit) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    auto stmt = s.db.prepare(std::string("SELECT ") + k_run_columns +
                             " FROM runs ORDER BY id DESC LIMIT ?1");
    if (!stmt) return std::unexpected(s.error(stmt.error()));
    stmt->bind_int(1, limit > 0 ? limit : -1);  // a negative LIMIT is no limit
    std::vector<RunRecord> runs;
    while (true) {
        auto row = stmt->step();
        if (!row) return std::unexpected(s.error(row.error()));
        if (!*row) break;
        auto run = s.read_run(*stmt);
        if (!run) return std::unexpected(run.error());
        runs.push_back(std::move(*run));
    }
    return runs;
}

Result<std::vector<StageRecord>> Store::stages(RunId id) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    auto stmt = s.db.prepare(std::string("SELECT ") + k_stage_columns +
                             " FROM stage_runs WHERE run_id = ?1 ORDER BY position");
    if (!stmt) return std::unexpected(s.error(stmt.error()));
    stmt->bind_int(1, id);
    std::vector<StageRecord> stages;
    while (true) {
        auto row = stmt->step();
        if (!row) return std::unexpected(s.error(row.error()));
        if (!*row) break;
        auto stage = s.read_stage(*stmt);
        if (!stage) return std::unexpected(stage.error());
        stages.push_back(std::move(*stage));
    }
    return stages;
}

Result<std::optional<StageRecord>> Store::find_stage(RunId id, const std::string& stage) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    auto stmt = s.db.prepare(std::string("SELECT ") + k_stage_columns +
                             " FROM stage_runs WHERE run_id = ?1 AND stage = ?2");
    if (!stmt) return std::unexpected(s.error(stmt.error()));
    stmt->bind_int(1, id);
    stmt->bind_text(2, stage);
    auto row = stmt->step();
    if (!row) return std::unexpected(s.error(row.error()));
    if (!*row) return std::optional<StageRecord>();
    auto record = s.read_stage(*stmt);
    if (!record) return std::unexpected(record.error());
    return std::optional<StageRecord>(std::move(*record));
}

Result<std::vector<EventRecord>> Store::events(RunId id, std::int64_t after_id) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    auto stmt = s.db.prepare(
        "SELECT id, run_id, stage, at_ms, type, data FROM events "
        "WHERE run_id = ?1 AND id > ?2 ORDER BY id");
    if (!stmt) return std::unexpected(s.error(stmt.error()));
    stmt->bind_int(1, id);
    stmt->bind_int(2, after_id);
    std::vector<EventRecord> events;
    while (true) {
        auto row = stmt->step();
        if (!row) return std::unexpected(s.error(row.error()));
        if (!*row) break;
        EventRecord event;
        event.id = stmt->column_int(0);
        event.run_id = stmt->column_int(1);
        event.stage = stmt->column_text(2);
        event.at_ms = stmt->column_int(3);
        event.type = stmt->column_text(4);
        auto data = parse(stmt->column_text(5), "event " + std::to_string(event.id) + " data");
        if (!data) return std::unexpected(s.error(data.error()));
        event.data = std::move(*data);
        events.push_back(std::move(event));
    }
    return events;
}

// ---- Liveness ----------------------------------------------------------------------

Result<std::vector<RunId>> Store::mark_interrupted() {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    // Candidates: running runs, and any run with a running stage. Both lookups go
    // through the partial indexes, so this stays cheap however long the history is: a
    // UNION, because with an OR SQLite scans every run, and a run's row holds its
    // pipeline's text (the columns after it are read through its overflow pages).
    constexpr const char* k_candidates =
        "SELECT id, owner_pid, owner_start_ticks, owner_boot_id FROM runs "
        "WHERE status = 'running' UNION "
        "SELECT id, owner_pid, owner_start_ticks, owner_boot_id FROM runs "
        "WHERE id IN (SELECT run_id FROM stage_runs WHERE status = 'running') ORDER BY id";
    auto find_dead = [&]() -> Result<std::vector<std::pair<RunId, int>>> {
        auto stmt = s.db.prepare(k_candidates);
        if (!stmt) return std::unexpected(s.error(stmt.error()));
        std::vector<std::pair<RunId, int>> dead;
        while (true) {
            auto row = stmt->step();
            if (!row) return std::unexpected(s.error(row.error()));
            if (!*row) break;
            ProcessIdentity owner{static_cast<int>(stmt->column_int(1)), stmt->column_int(2),
                                  stmt->column_text(3)};
            if (!process_alive(owner, s.boot_id)) dead.emplace_back(stmt->column_int(0), owner.pid);
        }
        return dead;
    };

    // First without the write lock: nearly always nothing is stale.
    auto dead = find_dead();
    if (!dead) return std::unexpected(dead.error());
    if (dead->empty()) return std::vector<RunId>();

    return s.write([&]() -> Result<std::vector<RunId>> {
        // Again under the lock: another process may have claimed or marked them since.
        auto still_dead = find_dead();
        if (!still_dead) return std::unexpected(still_dead.error());
        std::vector<RunId> marked;
        auto now = s.now_ms();
        for (auto [id, pid] : *still_dead) {
            std::string reason = "runner process " + std::to_string(pid) + " is gone";
            auto stages = s.db.prepare(
                "UPDATE stage_runs SET status = 'interrupted', reason = ?2, finished_ms = ?3 "
                "WHERE run_id = ?1 AND status = 'running' RETURNING stage");
            if (!stages) return std::unexpected(s.error(stages.error()));
            stages->bind_int(1, id);
            stages->bind_text(2, reason);
            stages->bind_int(3, now);
            std::vector<std::string> stage_names;
            while (true) {
                auto row = stages->step();
                if (!row) return std::unexpected(s.error(row.error()));
                if (!*row) break;
                stage_names.push_back(stages->column_text(0));
            }
            auto run = s.db.prepare(
                "UPDATE runs SET status = 'interrupted', reason = ?2, finished_ms = ?3 "
                "WHERE id = ?1 AND status = 'running'");
            if (!run) return std::unexpected(s.error(run.error()));
            run->bind_int(1, id);
            run->bind_text(2, reason);
            run->bind_int(3, now);
            if (auto done = run->run(); !done) return std::unexpected(s.error(done.error()));
            bool run_marked = sqlite3_changes(s.db.get()) > 0;

            for (const auto& stage : stage_names) {
                nlohmann::json data = {{"reason", reason}, {"pid", pid}};
                if (auto done =
                        s.append_event(id, stage, event_type::k_stage_interrupted, data, now);
                    !done) {
                    return std::unexpected(s.error(done.error()));
                }
            }
            if (run_marked) {
                nlohmann::json data = {{"reason", reason}, {"pid", pid}, {"stages", stage_names}};
                if (auto done = s.append_event(id, "", event_type::k_run_interrupted, data, now);
                    !done) {
                    return std::unexpected(s.error(done.error()));
                }
            }
            if (run_marked || !stage_names.empty()) marked.push_back(id);
        }
        return marked;
    });
}

Result<bool> Store::owner_alive(RunId id) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    auto owner = s.owner_of(id, nullptr);
    if (!owner) return std::unexpected(owner.error());
    if (!*owner) return std::unexpected(s.missing(id, nullptr));
    return process_alive(**owner, s.boot_id);
}

}  // namespace sluice::store

// ---- Approvals ---------------------------------------------------------------------

namespace sluice::store {

Status Store::request_approval(RunId id, const ApprovalRequest& request) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    return s.write([&]() -> Status {
        std::int64_t now = s.now_ms();
        auto insert = s.db.prepare(
            "INSERT OR IGNORE INTO approval_requests (run_id, stage, required, approvers, "
            "self_approval, timeout_ms, environment, requested_ms) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
        if (!insert) return std::unexpected(s.error(insert.error()));
        insert->bind_int(1, id);
        insert->bind_text(2, request.stage);
        insert->bind_int(3, request.required);
        insert->bind_text(4, dump(nlohmann::json(request.approvers)));
        insert->bind_int(5, request.self_approval ? 1 : 0);
        insert->bind_int(6, request.timeout_ms);
        insert->bind_text(7, request.environment);
        insert->bind_int(8, now);
        if (auto done = insert->run(); !done) return std::unexpected(s.error(done.error()));
        auto stmt = s.db.prepare(
            "UPDATE stage_runs SET status = 'waiting', reason = ?3 WHERE run_id = ?1 AND stage = ?2");
        if (!stmt) return std::unexpected(s.error(stmt.error()));
        std::string reason = "waiting for " + std::to_string(request.required) +
                             (request.required == 1 ? " approval" : " approvals");
        stmt->bind_int(1, id);
        stmt->bind_text(2, request.stage);
        stmt->bind_text(3, reason);
        nlohmann::json data = {{"required", request.required},
                               {"approvers", request.approvers},
                               {"self_approval", request.self_approval}};
        if (request.timeout_ms > 0) data["timeout_ms"] = request.timeout_ms;
        if (!request.environment.empty()) data["environment"] = request.environment;
        return s.finish_stage_update(*stmt, id, request.stage,
                                     EventNote{"approval_requested", data}, now);
    });
}

namespace {

Result<std::optional<ApprovalRequest>> read_request(sqlite::Connection& db, RunId id,
                                                    const std::string& stage) {
    auto q = db.prepare(
        "SELECT required, approvers, self_approval, timeout_ms, environment, requested_ms "
        "FROM approval_requests WHERE run_id = ?1 AND stage = ?2");
    if (!q) return std::unexpected(q.error());
    q->bind_int(1, id);
    q->bind_text(2, stage);
    auto row = q->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return std::optional<ApprovalRequest>();
    ApprovalRequest r;
    r.stage = stage;
    r.required = static_cast<int>(q->column_int(0));
    auto approvers = nlohmann::json::parse(q->column_text(1), nullptr, false);
    if (approvers.is_array()) {
        for (const auto& a : approvers) {
            if (a.is_string()) r.approvers.push_back(a.get<std::string>());
        }
    }
    r.self_approval = q->column_int(2) != 0;
    r.timeout_ms = q->column_int(3);
    r.environment = q->column_text(4);
    r.requested_ms = q->column_int(5);
    return std::optional(std::move(r));
}

std::string plural(std::int64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

Result<std::optional<ApprovalRequest>> Store::approval_request(RunId id, const std::string& stage) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto r = read_request(impl_->db, id, stage);
    if (!r) return std::unexpected(impl_->error(r.error()));
    return r;
}

Result<std::vector<ApprovalDecision>> Store::decisions(RunId id, const std::string& stage) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    auto q = s.db.prepare(
        "SELECT user, decision, reason, at_ms FROM approval_decisions "
        "WHERE run_id = ?1 AND stage = ?2 ORDER BY at_ms, user");
    if (!q) return std::unexpected(s.error(q.error()));
    q->bind_int(1, id);
    q->bind_text(2, stage);
    std::vector<ApprovalDecision> out;
    while (true) {
        auto row = q->step();
        if (!row) return std::unexpected(s.error(row.error()));
        if (!*row) break;
        out.push_back({q->column_text(0), q->column_text(1) == "approve", q->column_text(2),
                       q->column_int(3)});
    }
    return out;
}

Result<DecisionEffect> Store::decide(RunId id, const std::string& stage,
                                     const ApprovalDecision& decision) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    return s.write([&]() -> Result<DecisionEffect> {
        std::int64_t now = s.now_ms();
        auto text_of = [&](const char* sql, const std::string* stage_name)
            -> Result<std::optional<std::string>> {
            auto q = s.db.prepare(sql);
            if (!q) return std::unexpected(s.error(q.error()));
            q->bind_int(1, id);
            if (stage_name != nullptr) q->bind_text(2, *stage_name);
            auto row = q->step();
            if (!row) return std::unexpected(s.error(row.error()));
            if (!*row) return std::optional<std::string>();
            return std::optional(q->column_text(0));
        };
        auto run_status = text_of("SELECT status FROM runs WHERE id = ?1", nullptr);
        if (!run_status) return std::unexpected(run_status.error());
        if (!*run_status) return std::unexpected(s.missing(id, nullptr));
        auto stage_status =
            text_of("SELECT status FROM stage_runs WHERE run_id = ?1 AND stage = ?2", &stage);
        if (!stage_status) return std::unexpected(stage_status.error());
        if (!*stage_status) return std::unexpected(s.missing(id, &stage));
        // A run whose runner was killed while one stage waited is still approvable.
        bool run_waits = **run_status == "waiting" || **run_status == "interrupted";
        if (!run_waits || **stage_status != "waiting") {
            return fail(ErrorCode::conflict,
                        "stage " + stage + " of " + run_name(id) + " is not waiting for an "
                        "approval (the stage is " + **stage_status + ", the run " +
                            **run_status + ")");
        }
        auto request = read_request(s.db, id, stage);
        if (!request) return std::unexpected(s.error(request.error()));
        if (!*request) {
            return fail(ErrorCode::internal, "stage " + stage + " of " + run_name(id) +
                                                 " waits without an approval request");
        }
        auto insert = [&](const std::string& user, bool approve, const std::string& reason)
            -> Status {
            auto q = s.db.prepare(
                "INSERT INTO approval_decisions (run_id, stage, user, decision, reason, at_ms) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
            if (!q) return std::unexpected(s.error(q.error()));
            q->bind_int(1, id);
            q->bind_text(2, stage);
            q->bind_text(3, user);
            q->bind_text(4, approve ? "approve" : "reject");
            q->bind_text(5, reason);
            q->bind_int(6, now);
            if (auto done = q->run(); !done) return std::unexpected(s.error(done.error()));
            return s.append_event(id, stage, approve ? "approval_granted" : "approval_rejected",
                                  {{"user", user}, {"reason", reason}}, now);
        };
        // The stage fails, what has not run is skipped, the run fails.
        auto reject_run = [&](const std::string& why) -> Status {
            auto q = s.db.prepare(
                "UPDATE stage_runs SET status = 'failed', reason = ?3, finished_ms = ?4 "
                "WHERE run_id = ?1 AND stage = ?2");
            if (!q) return std::unexpected(s.error(q.error()));
            q->bind_int(1, id);
            q->bind_text(2, stage);
            q->bind_text(3, why);
            q->bind_int(4, now);
            if (auto done = q->run(); !done) return std::unexpected(s.error(done.error()));
            auto rest = s.db.prepare(
                "UPDATE stage_runs SET status = 'skipped', reason = ?2 "
                "WHERE run_id = ?1 AND status IN ('pending', 'waiting')");
            if (!rest) return std::unexpected(s.error(rest.error()));
            rest->bind_int(1, id);
            rest->bind_text(2, "the run was stopped at " + stage + " (" + why + ")");
            if (auto done = rest->run(); !done) return std::unexpected(s.error(done.error()));
            auto run = s.db.prepare(
                "UPDATE runs SET status = 'failed', reason = ?2, finished_ms = ?3 WHERE id = ?1");
            if (!run) return std::unexpected(s.error(run.error()));
            run->bind_int(1, id);
            run->bind_text(2, stage + ": " + why);
            run->bind_int(3, now);
            if (auto done = run->run(); !done) return std::unexpected(s.error(done.error()));
            return s.append_event(id, "", "run_finished", {{"status", "failed"}, {"reason", why}},
                                  now);
        };

        const ApprovalRequest& r = **request;
        if (r.timeout_ms > 0 && now - r.requested_ms > r.timeout_ms) {
            std::string why = "the approval request expired after " +
                              plural(r.timeout_ms / 3'600'000, "hour", "hours");
            if (r.timeout_ms % 3'600'000 != 0) {
                why = "the approval request expired after " +
                      plural(r.timeout_ms / 1000, "second", "seconds");
            }
            if (auto done = insert("sluice", false, why); !done) return std::unexpected(done.error());
            if (auto done = reject_run(why); !done) return std::unexpected(done.error());
            return DecisionEffect::expired;
        }
        auto earlier = s.db.prepare(
            "SELECT decision FROM approval_decisions WHERE run_id = ?1 AND stage = ?2 AND user = ?3");
        if (!earlier) return std::unexpected(s.error(earlier.error()));
        earlier->bind_int(1, id);
        earlier->bind_text(2, stage);
        earlier->bind_text(3, decision.user);
        auto found = earlier->step();
        if (!found) return std::unexpected(s.error(found.error()));
        if (*found) {
            std::string before = earlier->column_text(0) == "approve" ? "approved" : "rejected";
            return fail(ErrorCode::conflict, decision.user + " already " + before + " stage " +
                                                 stage + " of " + run_name(id) +
                                                 " (a decision counts once)");
        }
        if (auto done = insert(decision.user, decision.approve, decision.reason); !done) {
            return std::unexpected(done.error());
        }
        if (!decision.approve) {
            std::string why = "rejected by " + decision.user +
                              (decision.reason.empty() ? "" : ": " + decision.reason);
            if (auto done = reject_run(why); !done) return std::unexpected(done.error());
            return DecisionEffect::rejected;
        }
        auto approvers = s.db.prepare(
            "SELECT user FROM approval_decisions WHERE run_id = ?1 AND stage = ?2 "
            "AND decision = 'approve' ORDER BY at_ms, user");
        if (!approvers) return std::unexpected(s.error(approvers.error()));
        approvers->bind_int(1, id);
        approvers->bind_text(2, stage);
        std::vector<std::string> names;
        while (true) {
            auto row = approvers->step();
            if (!row) return std::unexpected(s.error(row.error()));
            if (!*row) break;
            names.push_back(approvers->column_text(0));
        }
        if (static_cast<int>(names.size()) < r.required) return DecisionEffect::recorded;
        std::string by;
        for (const auto& n : names) by += (by.empty() ? "" : ", ") + n;
        auto pending = s.db.prepare(
            "UPDATE stage_runs SET status = 'pending', reason = ?3 WHERE run_id = ?1 AND stage = ?2");
        if (!pending) return std::unexpected(s.error(pending.error()));
        pending->bind_int(1, id);
        pending->bind_text(2, stage);
        pending->bind_text(3, "approved by " + by);
        if (auto done = pending->run(); !done) return std::unexpected(s.error(done.error()));
        if (auto done = s.set_owner(id); !done) return std::unexpected(s.error(done.error()));
        if (auto done = s.append_event(id, stage, "approved", {{"by", names}}, now); !done) {
            return std::unexpected(s.error(done.error()));
        }
        return DecisionEffect::approved;
    });
}

}  // namespace sluice::store

// ---- Deployments -------------------------------------------------------------------

namespace sluice::store {

Result<std::int64_t> Store::add_deployment(const Deployment& d) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    return s.write([&]() -> Result<std::int64_t> {
        std::int64_t now = s.now_ms();
        auto q = s.db.prepare(
            "INSERT INTO deployments (environment, run_id, stage, commit_sha, branch, model, "
            "model_version, approved_by, status, reason, at_ms, image) "
            "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
        if (!q) return std::unexpected(s.error(q.error()));
        q->bind_text(1, d.environment);
        q->bind_int(2, d.run_id);
        q->bind_text(3, d.stage);
        q->bind_text(4, d.commit);
        q->bind_text(5, d.branch);
        q->bind_text(6, d.model);
        q->bind_text(7, d.model_version);
        q->bind_text(8, dump(nlohmann::json(d.approved_by)));
        q->bind_text(9, d.status);
        q->bind_text(10, d.reason);
        q->bind_int(11, now);
        q->bind_text(12, d.image);
        if (auto done = q->run(); !done) return std::unexpected(s.error(done.error()));
        std::int64_t id = sqlite3_last_insert_rowid(s.db.get());
        nlohmann::json data = {{"environment", d.environment}, {"status", d.status}};
        if (!d.model_version.empty()) data["model_version"] = d.model_version;
        if (!d.image.empty()) data["image"] = d.image;
        if (auto done = s.append_event(d.run_id, d.stage, "deployed", data, now); !done) {
            return std::unexpected(s.error(done.error()));
        }
        return id;
    });
}

Status Store::set_artifacts(RunId id, const std::string& stage,
                            const std::vector<Artifact>& artifacts) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    return s.write([&]() -> Status {
        if (auto done = s.write_artifacts(id, stage, artifacts); !done) return done;
        std::int64_t bytes = 0;
        for (const Artifact& a : artifacts) bytes += a.size;
        nlohmann::json data = {{"count", artifacts.size()}, {"bytes", bytes}};
        if (auto done = s.append_event(id, stage, "artifacts", data, s.now_ms()); !done) {
            return std::unexpected(s.error(done.error()));
        }
        return {};
    });
}

Result<std::vector<Artifact>> Store::artifacts(RunId id) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    auto q = s.db.prepare(
        "SELECT stage, path, type, size, digest, mode, target FROM artifacts WHERE run_id = ?1 "
        "ORDER BY stage, path");
    if (!q) return std::unexpected(s.error(q.error()));
    q->bind_int(1, id);
    std::vector<Artifact> out;
    while (true) {
        auto row = q->step();
        if (!row) return std::unexpected(s.error(row.error()));
        if (!*row) break;
        Artifact a;
        a.stage = q->column_text(0);
        a.path = q->column_text(1);
        a.type = q->column_text(2);
        a.size = q->column_int(3);
        a.digest = q->column_text(4);
        a.mode = static_cast<int>(q->column_int(5));
        a.target = q->column_text(6);
        out.push_back(std::move(a));
    }
    return out;
}

Result<std::vector<Deployment>> Store::deployments(const std::string& environment, int limit) {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    auto q = s.db.prepare(
        "SELECT id, environment, run_id, stage, commit_sha, branch, model, model_version, "
        "approved_by, status, reason, at_ms, image FROM deployments WHERE environment = ?1 "
        "ORDER BY id DESC LIMIT ?2");
    if (!q) return std::unexpected(s.error(q.error()));
    q->bind_text(1, environment);
    q->bind_int(2, limit > 0 ? limit : -1);
    std::vector<Deployment> out;
    while (true) {
        auto row = q->step();
        if (!row) return std::unexpected(s.error(row.error()));
        if (!*row) break;
        Deployment d;
        d.id = q->column_int(0);
        d.environment = q->column_text(1);
        d.run_id = q->column_int(2);
        d.stage = q->column_text(3);
        d.commit = q->column_text(4);
        d.branch = q->column_text(5);
        d.model = q->column_text(6);
        d.model_version = q->column_text(7);
        auto by = nlohmann::json::parse(q->column_text(8), nullptr, false);
        if (by.is_array()) {
            for (const auto& b : by) {
                if (b.is_string()) d.approved_by.push_back(b.get<std::string>());
            }
        }
        d.status = q->column_text(9);
        d.reason = q->column_text(10);
        d.at_ms = q->column_int(11);
        d.image = q->column_text(12);
        out.push_back(std::move(d));
    }
    return out;
}

Result<std::vector<std::string>> Store::environments() {
    if (!impl_) return moved_from();
    std::lock_guard lock(impl_->mutex);
    auto& s = *impl_;
    auto q = s.db.prepare("SELECT DISTINCT environment FROM deployments ORDER BY environment");
    if (!q) return std::unexpected(s.error(q.error()));
    std::vector<std::string> out;
    while (true) {
        auto row = q->step();
        if (!row) return std::unexpected(s.error(row.error()));
        if (!*row) break;
        out.push_back(q->column_text(0));
    }
    return out;
}

}  // namespace sluice::store
