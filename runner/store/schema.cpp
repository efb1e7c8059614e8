// The run store's schema and its migrations. A new version appends a Migration with
// the next number; existing migrations are never edited, since databases in the field
// have already run them.
#include "runner/store/schema.hpp"

#include <array>
#include <chrono>
#include <thread>
#include <string>

#include "runner/store/store.hpp"

namespace sluice::store {

namespace {

// Version 1: runs, their stage runs, and the append-only event log.
// - AUTOINCREMENT so an id is never handed out twice, even after runs are pruned:
//   log directories and event followers key on ids.
// - JSON columns are TEXT written by nlohmann_json.
// - Runs are listed newest first through the rowid (ids grow with creation, unlike
//   wall-clock times, which can step back), so that needs no extra index.
// - The partial indexes keep mark_interrupted(), which every sluice command runs at
//   start, from scanning the history.
constexpr const char* k_schema_v1 = R"sql(
CREATE TABLE runs (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    pipeline          TEXT    NOT NULL,
    file              TEXT    NOT NULL,
    yaml              TEXT    NOT NULL,
    workdir           TEXT    NOT NULL,
    trigger_name      TEXT    NOT NULL,
    event_name        TEXT    NOT NULL,
    branch            TEXT    NOT NULL,
    commit_sha        TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    reason            TEXT    NOT NULL DEFAULT '',
    options           TEXT    NOT NULL DEFAULT '{}',
    created_ms        INTEGER NOT NULL,
    finished_ms       INTEGER NOT NULL DEFAULT 0,
    owner_pid         INTEGER NOT NULL DEFAULT 0,
    owner_start_ticks INTEGER NOT NULL DEFAULT 0,
    owner_boot_id     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX runs_running ON runs(id) WHERE status = 'running';

CREATE TABLE stage_runs (
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    stage         TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    reason        TEXT    NOT NULL DEFAULT '',
    attempts      INTEGER NOT NULL DEFAULT 0,
    exit_code     INTEGER,
    signal        INTEGER NOT NULL DEFAULT 0,
    started_ms    INTEGER NOT NULL DEFAULT 0,
    finished_ms   INTEGER NOT NULL DEFAULT 0,
    duration_ms   INTEGER NOT NULL DEFAULT 0,
    max_rss_kb    INTEGER NOT NULL DEFAULT 0,
    log_path      TEXT    NOT NULL DEFAULT '',
    allow_failure INTEGER NOT NULL DEFAULT 0,
    outputs       TEXT    NOT NULL DEFAULT '{}',
    report        TEXT    NOT NULL DEFAULT '{}',
    PRIMARY KEY (run_id, stage),
    UNIQUE (run_id, position)
);
CREATE INDEX stage_runs_running ON stage_runs(run_id) WHERE status = 'running';

CREATE TABLE events (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage  TEXT    NOT NULL DEFAULT '',
    at_ms  INTEGER NOT NULL,
    type   TEXT    NOT NULL,
    data   TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX events_by_run ON events(run_id, id);
)sql";

// Version 2: approvals. A stage held for approval has one request (its policy, copied
// from the pipeline when it was held, so a later edit of sluice.yml changes nothing)
// and the decisions people made; one decision per person and stage.
constexpr const char* k_schema_v2 = R"sql(
CREATE TABLE approval_requests (
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage         TEXT    NOT NULL,
    required      INTEGER NOT NULL,
    approvers     TEXT    NOT NULL DEFAULT '[]',
    self_approval INTEGER NOT NULL DEFAULT 0,
    timeout_ms    INTEGER NOT NULL DEFAULT 0,
    environment   TEXT    NOT NULL DEFAULT '',
    requested_ms  INTEGER NOT NULL,
    PRIMARY KEY (run_id, stage)
);
CREATE TABLE approval_decisions (
    run_id   INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage    TEXT    NOT NULL,
    user     TEXT    NOT NULL,
    decision TEXT    NOT NULL,
    reason   TEXT    NOT NULL DEFAULT '',
    at_ms    INTEGER NOT NULL,
    PRIMARY KEY (run_id, stage, user)
);
)sql";

// Version 3: the environments' history. One row per deploy stage that ran (passed
// or failed), with what was deployed and who approved it.
constexpr const char* k_schema_v3 = R"sql(
CREATE TABLE deployments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    environment   TEXT    NOT NULL,
    run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage         TEXT    NOT NULL,
    commit_sha    TEXT    NOT NULL DEFAULT '',
    branch        TEXT    NOT NULL DEFAULT '',
    model         TEXT    NOT NULL DEFAULT '',
    model_version TEXT    NOT NULL DEFAULT '',
    approved_by   TEXT    NOT NULL DEFAULT '[]',
    status        TEXT    NOT NULL,
    reason        TEXT    NOT NULL DEFAULT '',
    at_ms         INTEGER NOT NULL
);
CREATE INDEX deployments_by_environment ON deployments(environment, id);
)sql";

// Version 4: artifacts. What a stage's `outputs:` held when it passed (or came from
// the cache): one row per file, symlink or empty directory, by content digest; the
// content itself is in the cache's object store.
constexpr const char* k_schema_v4 = R"sql(
CREATE TABLE artifacts (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    stage  TEXT    NOT NULL,
    path   TEXT    NOT NULL,
    type   TEXT    NOT NULL,
    size   INTEGER NOT NULL DEFAULT 0,
    digest TEXT    NOT NULL DEFAULT '',
    mode   INTEGER NOT NULL DEFAULT 0,
    target TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (run_id, stage, path)
);
)sql";

// Version 5: what a deployment deployed: the image's digest (target local) or its
// reference pinned by digest (kubernetes, or any deploy stage's `image:`). Rows from
// before have none.
constexpr const char* k_schema_v5 = R"sql(
ALTER TABLE deployments ADD COLUMN image TEXT NOT NULL DEFAULT '';
)sql";

// Version 6: a pipeline's text is kept once, however many runs ran it. In the run's
// row it was written again whenever the row changed size (its status did, at the end of
// every run): a 100 KB pipeline cost a run some 75 pages of writes for its text alone.
// Runs from before keep their text in runs.yaml; a run with a text_id has '' there.
constexpr const char* k_schema_v6 = R"sql(
CREATE TABLE pipeline_texts (
    id     INTEGER PRIMARY KEY,
    digest TEXT    NOT NULL UNIQUE,
    yaml   TEXT    NOT NULL
);
ALTER TABLE runs ADD COLUMN text_id INTEGER REFERENCES pipeline_texts(id);
)sql";

constexpr std::array<Migration, 6> k_migrations{{
    {1, k_schema_v1},
    {2, k_schema_v2},
    {3, k_schema_v3},
    {4, k_schema_v4},
    {5, k_schema_v5},
    {6, k_schema_v6},
}};

static_assert(k_migrations.back().version == k_schema_version,
              "k_schema_version must be the last migration's version");

util::Error too_new(const std::filesystem::path& path, std::int64_t version, int known) {
    return util::Error{util::ErrorCode::store,
                       path.string() + " was written by a newer sluice (schema version " +
                           std::to_string(version) + ", this sluice knows up to " +
                           std::to_string(known) + "); use a newer sluice",
                       {}};
}

// Switches the file to WAL. That needs the file to itself, and SQLite answers
// SQLITE_BUSY at once instead of calling the busy handler, so when several processes
// open a new database together the losers retry here, within the same busy timeout.
Result<std::string> switch_to_wal(sqlite::Connection& db, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    auto pause = std::chrono::milliseconds(1);
    while (true) {
        auto mode = db.query_text("PRAGMA journal_mode = WAL");
        if (mode) return mode;
        bool busy = (sqlite3_errcode(db.get()) & 0xff) == SQLITE_BUSY;
        if (!busy || std::chrono::steady_clock::now() + pause > deadline) return mode;
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
}

}  // namespace

std::span<const Migration> migrations() { return k_migrations; }

util::Status check_not_newer(sqlite::Connection& db, const std::filesystem::path& path) {
    return check_not_newer(db, path, k_migrations);
}

util::Status migrate(sqlite::Connection& db, const std::filesystem::path& path) {
    return migrate(db, path, k_migrations);
}

util::Status check_not_newer(sqlite::Connection& db, const std::filesystem::path& path,
                             std::span<const Migration> steps) {
    int known = steps.empty() ? 0 : steps.back().version;
    auto version = db.query_int("PRAGMA user_version");
    if (!version) {
        auto error = version.error();
        error.message = path.string() + ": " + error.message;  // e.g. "file is not a database"
        return std::unexpected(std::move(error));
    }
    if (*version > known) return std::unexpected(too_new(path, *version, known));
    return {};
}

util::Status migrate(sqlite::Connection& db, const std::filesystem::path& path,
                     std::span<const Migration> steps) {
    int known = steps.empty() ? 0 : steps.back().version;
    // Read first without the write lock: the usual open finds the schema current and
    // should not queue behind a runner's writes.
    auto version = db.query_int("PRAGMA user_version");
    if (!version) return std::unexpected(version.error());
    if (*version > known) return std::unexpected(too_new(path, *version, known));
    if (*version == known) return {};

    auto txn = sqlite::Transaction::begin(db);
    if (!txn) return std::unexpected(txn.error());
    version = db.query_int("PRAGMA user_version");  // another process may have migrated
    if (!version) return std::unexpected(version.error());
    if (*version > known) return std::unexpected(too_new(path, *version, known));
    for (const auto& migration : steps) {
        if (migration.version <= *version) continue;
        if (auto done = db.exec(migration.sql); !done) {
            auto error = done.error();
            error.message = "migrating " + path.string() + " to schema version " +
                            std::to_string(migration.version) + ": " + error.message;
            return std::unexpected(std::move(error));
        }
        // user_version is part of the database header, so it commits with the tables.
        auto set = db.exec("PRAGMA user_version = " + std::to_string(migration.version));
        if (!set) return set;
    }
    return txn->commit();
}

Result<sqlite::Connection> open_database(const std::filesystem::path& path,
                                         std::span<const Migration> steps,
                                         std::chrono::milliseconds busy_timeout) {
    using util::ErrorCode;
    using util::fail;
    if (path.has_parent_path()) {
        std::error_code ec;
        std::filesystem::create_directories(path.parent_path(), ec);
        if (ec) {
            return fail(ErrorCode::io,
                        "cannot create " + path.parent_path().string() + ": " + ec.message());
        }
    }
    auto db = sqlite::Connection::open(path);
    if (!db) return std::unexpected(db.error());
    auto context = [&](util::Error e) {
        e.message = path.string() + ": " + e.message;
        return std::unexpected(std::move(e));
    };

    // Before anything that could take a lock: several sluice processes open at once.
    sqlite3_busy_timeout(db->get(), static_cast<int>(busy_timeout.count()));

    // Refuse a newer database before touching it (even the journal mode).
    if (auto checked = check_not_newer(*db, path, steps); !checked) {
        return std::unexpected(checked.error());
    }

    // WAL is a property of the file, so only the first open switches it; readers then
    // never block the runner's writes, nor it theirs.
    auto mode = db->query_text("PRAGMA journal_mode");
    if (!mode) return context(mode.error());
    if (*mode != "wal") {
        mode = switch_to_wal(*db, busy_timeout);
        if (!mode) return context(mode.error());
        if (*mode != "wal") {
            return fail(ErrorCode::store, path.string() + ": cannot use WAL journal mode (got '" +
                                              *mode + "'); is it on a network file system?");
        }
    }
    // NORMAL in WAL mode: a commit is in the WAL file (the OS has it) when COMMIT
    // returns, which survives kill -9 of the runner; only a power cut can lose the last
    // commits, and never corrupts the file.
    // journal_size_limit: after a checkpoint the WAL file is cut back to 4 MiB, so one
    // large transaction does not leave a large file behind.
    // mmap_size: pages of the database file are read through a memory map (the OS's page
    // cache) instead of one pread(2) each; a run's records touch hundreds of pages.
    // temp_store: statement journals (a write inside the runner's batch savepoints keeps
    // one) stay in memory instead of a new file in /var/tmp each time.
    for (const char* pragma : {"PRAGMA synchronous = NORMAL", "PRAGMA foreign_keys = ON",
                               "PRAGMA journal_size_limit = 4194304",
                               "PRAGMA mmap_size = 268435456", "PRAGMA temp_store = MEMORY"}) {
        if (auto done = db->exec(pragma); !done) return context(done.error());
    }
    // A short-lived command must not pay for the database's upkeep: the WAL file stays
    // when the last connection closes (deleting it means creating it again next time,
    // and SQLite syncs the directory for that), and closing does not checkpoint (two
    // syncs). Checkpoints still happen as the WAL grows (every 1000 pages), so the WAL
    // stays bounded, and its content is as safe as before: a commit is in the WAL.
    int persist = 1;
    sqlite3_file_control(db->get(), "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
    sqlite3_db_config(db->get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    auto before = db->query_int("PRAGMA user_version");
    if (!before) return context(before.error());
    if (auto done = migrate(*db, path, steps); !done) return std::unexpected(done.error());
    // A new (or migrated) schema goes into the main file at once: else it lives in the
    // WAL until the first automatic checkpoint, and a copy of the file alone, or the file
    // beside a lost WAL, is an empty database. Once per schema version, so it costs
    // nothing after.
    int known = steps.empty() ? 0 : steps.back().version;
    if (*before < known) {
        if (auto done = db->checkpoint(); !done) return context(done.error());
    }
    return std::move(*db);
}

Result<sqlite::Connection> open_database_read_only(const std::filesystem::path& path,
                                                   std::span<const Migration> steps,
                                                   std::chrono::milliseconds busy_timeout) {
    auto db = sqlite::Connection::open_read_only(path);
    if (!db) return std::unexpected(db.error());
    sqlite3_busy_timeout(db->get(), static_cast<int>(busy_timeout.count()));
    if (auto checked = check_not_newer(*db, path, steps); !checked) {
        return std::unexpected(checked.error());
    }
    auto version = db->query_int("PRAGMA user_version");
    if (!version) return std::unexpected(version.error());
    int known = steps.empty() ? 0 : steps.back().version;
    if (*version < known) {
        return util::fail(util::ErrorCode::store,
                          path.string() + " has schema version " + std::to_string(*version) +
                              " and must be migrated to " + std::to_string(known) +
                              ", which needs writing it");
    }
    for (const char* pragma : {"PRAGMA mmap_size = 268435456", "PRAGMA temp_store = MEMORY"}) {
        if (auto done = db->exec(pragma); !done) return std::unexpected(done.error());
    }
    return std::move(*db);
}

}  // namespace sluice::store
