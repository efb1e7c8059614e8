// The cache index on SQLite: its schema, its migrations and the queries.
#include "runner/cache/cache_index.hpp"

#include <array>
#include <mutex>

#include "runner/store/schema.hpp"
#include "runner/store/sqlite.hpp"

namespace sluice::cache {

namespace sqlite = store::sqlite;
using util::ErrorCode;
using util::fail;

namespace {

// Version 1. An entry's paths are rows of their own, so a gc can see which objects
// are referenced without parsing JSON. JSON columns are TEXT written by nlohmann_json.
// Entries are found by key, by stage (newest use first) and by use (gc, `cache ls`).
constexpr const char* k_schema_v1 = R"sql(
CREATE TABLE entries (
    key           TEXT    PRIMARY KEY,
    pipeline      TEXT    NOT NULL,
    stage         TEXT    NOT NULL,
    run_id        INTEGER NOT NULL DEFAULT 0,
    created_ms    INTEGER NOT NULL,
    used_ms       INTEGER NOT NULL,
    stage_outputs TEXT    NOT NULL DEFAULT '{}',
    metrics       TEXT    NOT NULL DEFAULT '{}',
    inputs        TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX entries_by_stage ON entries(pipeline, stage, used_ms);
CREATE INDEX entries_by_use ON entries(used_ms);
CREATE TABLE entry_paths (
    key        TEXT    NOT NULL REFERENCES entries(key) ON DELETE CASCADE,
    path       TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    digest     TEXT    NOT NULL DEFAULT '',
    size       INTEGER NOT NULL DEFAULT 0,
    executable INTEGER NOT NULL DEFAULT 0,
    target     TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (key, path)
) WITHOUT ROWID;
)sql";

// Version 2: what went into a key (a digest per input file: kilobytes) moves to a table of
// its own, so marking an entry used rewrites a small row, not the whole record.
constexpr const char* k_schema_v2 = R"sql(
CREATE TABLE entry_inputs (
    key    TEXT NOT NULL PRIMARY KEY REFERENCES entries(key) ON DELETE CASCADE,
    inputs TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;
INSERT INTO entry_inputs (key, inputs) SELECT key, inputs FROM entries;
UPDATE entries SET inputs = '{}';
)sql";

constexpr std::array<store::Migration, 2> k_migrations{{{1, k_schema_v1}, {2, k_schema_v2}}};

// Entries joined with their paths (one row per path, or one with NULL paths for an
// entry without any), so a read is one statement and one consistent snapshot.
constexpr const char* k_entry_rows =
    "SELECT e.key, e.pipeline, e.stage, e.run_id, e.created_ms, e.used_ms, e.stage_outputs, "
    "e.metrics, coalesce(i.inputs, '{}'), p.path, p.type, p.digest, p.size, p.executable, "
    "p.target FROM entries e LEFT JOIN entry_inputs i ON i.key = e.key "
    "LEFT JOIN entry_paths p ON p.key = e.key ";
// The same without what went into the key (large: a digest per input file), for a
// lookup by key, which only restores: the entry's `inputs` is then `{}`.
constexpr const char* k_entry_rows_to_restore =
    "SELECT e.key, e.pipeline, e.stage, e.run_id, e.created_ms, e.used_ms, e.stage_outputs, "
    "e.metrics, '{}', p.path, p.type, p.digest, p.size, p.executable, p.target "
    "FROM entries e LEFT JOIN entry_paths p ON p.key = e.key ";
constexpr const char* k_newest_use_first = "e.used_ms DESC, e.created_ms DESC, e.rowid DESC";

std::string json_text(const nlohmann::json& value) {
    // replace: a stage's outputs are arbitrary bytes; invalid UTF-8 must not throw.
    return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

struct CacheIndex::Impl {
    Impl(std::filesystem::path p, sqlite::Connection c) : path(std::move(p)), db(std::move(c)) {}

    std::filesystem::path path;
    sqlite::Connection db;
    std::mutex mutex;  // the connection is opened NOMUTEX

    std::unexpected<util::Error> error(util::Error e) const {
        e.message = path.string() + ": " + e.message;
        return std::unexpected(std::move(e));
    }

    util::Result<nlohmann::json> json_column(const sqlite::Statement& row, int column,
                                             const std::string& key, const char* what) const {
        auto value = nlohmann::json::parse(row.column_text(column), nullptr, false);
        if (value.is_discarded()) {
            return fail(ErrorCode::store, path.string() + ": the " + what + " of cache entry " +
                                              key + " are not valid JSON");
        }
        return value;
    }

    // Reads the rows of k_entry_rows into entries, in the order the query gives.
    util::Result<std::vector<CacheEntry>> read_entries(sqlite::Statement& query) {
        std::vector<CacheEntry> entries;
        while (true) {
            auto row = query.step();
            if (!row) return error(row.error());
            if (!*row) return entries;
            std::string key = query.column_text(0);
            if (entries.empty() || entries.back().key != key) {
                CacheEntry entry;
                entry.key = std::move(key);
                entry.pipeline = query.column_text(1);
                entry.stage = query.column_text(2);
                entry.run_id = query.column_int(3);
                entry.created_ms = query.column_int(4);
                entry.used_ms = query.column_int(5);
                auto outputs = json_column(query, 6, entry.key, "stage outputs");
                auto metrics = json_column(query, 7, entry.key, "metrics");
                auto inputs = json_column(query, 8, entry.key, "inputs");
                if (!outputs) return std::unexpected(outputs.error());
                if (!metrics) return std::unexpected(metrics.error());
                if (!inputs) return std::unexpected(inputs.error());
                entry.stage_outputs = std::move(*outputs);
                entry.metrics = std::move(*metrics);
                entry.inputs = std::move(*inputs);
                entries.push_back(std::move(entry));
            }
            if (query.column_is_null(9)) continue;
            auto type = parse_type(query.column_text(10));
            if (!type) return error(type.error());
            entries.back().paths.push_back(
                CachedPath{query.column_text(9), *type, query.column_text(11),
                           static_cast<std::uint64_t>(query.column_int(12)),
                           query.column_int(13) != 0, query.column_text(14)});
        }
    }

    util::Result<std::optional<CacheEntry>> one_entry(sqlite::Statement& query) {
        auto entries = read_entries(query);
        if (!entries) return std::unexpected(entries.error());
        if (entries->empty()) return std::optional<CacheEntry>();
        return std::optional(std::move(entries->front()));
    }

    // Removes the key's entry; *existed (when given) says whether there was one.
    util::Status delete_entry(const std::string& key, bool* existed = nullptr) {
        for (const char* sql :
             {"DELETE FROM entry_paths WHERE key = ?", "DELETE FROM entry_inputs WHERE key = ?",
              "DELETE FROM entries WHERE key = ?"}) {
            auto stmt = db.prepare(sql);
            if (!stmt) return error(stmt.error());
            stmt->bind_text(1, key);
            if (auto done = stmt->run(); !done) return error(done.error());
        }
        if (existed != nullptr) *existed = sqlite3_changes(db.get()) > 0;
        return {};
    }
};

util::Result<CacheIndex> CacheIndex::open(const std::filesystem::path& path,
                                          std::chrono::milliseconds busy_timeout) {
    auto db = store::open_database(path, k_migrations, busy_timeout);
    if (!db) return std::unexpected(db.error());
    return CacheIndex(std::make_unique<Impl>(path, std::move(*db)));
}

CacheIndex::CacheIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CacheIndex::CacheIndex(CacheIndex&&) noexcept = default;
CacheIndex& CacheIndex::operator=(CacheIndex&&) noexcept = default;
CacheIndex::~CacheIndex() = default;

util::Result<std::optional<CacheEntry>> CacheIndex::find(const std::string& key) {
    std::lock_guard lock(impl_->mutex);
    auto query =
        impl_->db.prepare(std::string(k_entry_rows_to_restore) + "WHERE e.key = ? ORDER BY p.path");
    if (!query) return impl_->error(query.error());
    query->bind_text(1, key);
    return impl_->one_entry(*query);
}

util::Status CacheIndex::put(const CacheEntry& entry, bool* replaced) {
    if (!is_digest(entry.key)) {
        return fail(ErrorCode::bad_input,
                    "cache key `" + entry.key + "` is not 64 lowercase hex digits");
    }
    for (const auto& path : entry.paths) {
        if (auto checked = check_cached_path(path); !checked) return checked;
    }
    std::string outputs = json_text(entry.stage_outputs);
    std::string metrics = json_text(entry.metrics);
    std::string inputs = json_text(entry.inputs);

    std::lock_guard lock(impl_->mutex);
    auto txn = sqlite::Transaction::begin(impl_->db);
    if (!txn) return impl_->error(txn.error());
    if (auto deleted = impl_->delete_entry(entry.key, replaced); !deleted) return deleted;
    auto insert = impl_->db.prepare(
        "INSERT INTO entries (key, pipeline, stage, run_id, created_ms, used_ms, stage_outputs, "
        "metrics) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!insert) return impl_->error(insert.error());
    insert->bind_text(1, entry.key);
    insert->bind_text(2, entry.pipeline);
    insert->bind_text(3, entry.stage);
    insert->bind_int(4, entry.run_id);
    insert->bind_int(5, entry.created_ms);
    insert->bind_int(6, entry.used_ms);
    insert->bind_text(7, outputs);
    insert->bind_text(8, metrics);
    if (auto done = insert->run(); !done) return impl_->error(done.error());
    auto key_inputs = impl_->db.prepare("INSERT INTO entry_inputs (key, inputs) VALUES (?, ?)");
    if (!key_inputs) return impl_->error(key_inputs.error());
    key_inputs->bind_text(1, entry.key);
    key_inputs->bind_text(2, inputs);
    if (auto done = key_inputs->run(); !done) return impl_->error(done.error());
    for (const auto& path : entry.paths) {
        auto row = impl_->db.prepare(
            "INSERT INTO entry_paths (key, path, type, digest, size, executable, target) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)");
        if (!row) return impl_->error(row.error());
        row->bind_text(1, entry.key);
        row->bind_text(2, path.path);
        row->bind_text(3, type_name(path.type));
        row->bind_text(4, path.digest);
        row->bind_int(5, static_cast<std::int64_t>(path.size));
        row->bind_int(6, path.executable ? 1 : 0);
        row->bind_text(7, path.target);
        if (auto done = row->run(); !done) {
            auto e = done.error();
            e.message = "cache entry " + entry.key + ", path " + path.path + ": " + e.message;
            return impl_->error(std::move(e));
        }
    }
    if (auto committed = txn->commit(); !committed) return impl_->error(committed.error());
    return {};
}

util::Status CacheIndex::touch(const std::string& key, std::int64_t now_ms) {
    std::lock_guard lock(impl_->mutex);
    auto stmt = impl_->db.prepare("UPDATE entries SET used_ms = max(used_ms, ?) WHERE key = ?");
    if (!stmt) return impl_->error(stmt.error());
    stmt->bind_int(1, now_ms);
    stmt->bind_text(2, key);
    if (auto done = stmt->run(); !done) return impl_->error(done.error());
    return {};
}

util::Status CacheIndex::touch(std::span<const std::string> keys, std::int64_t now_ms) {
    if (keys.empty()) return {};
    std::lock_guard lock(impl_->mutex);
    auto txn = sqlite::Transaction::begin(impl_->db);
    if (!txn) return impl_->error(txn.error());
    for (const auto& key : keys) {
        auto stmt = impl_->db.prepare("UPDATE entries SET used_ms = ?1 WHERE key = ?2 AND used_ms < ?3");
        if (!stmt) return impl_->error(stmt.error());
        stmt->bind_int(1, now_ms);
        stmt->bind_text(2, key);
        stmt->bind_int(3, now_ms - k_touch_resolution_ms);
        if (auto done = stmt->run(); !done) return impl_->error(done.error());
    }
    if (auto done = txn->commit(); !done) return impl_->error(done.error());
    return {};
}

util::Result<std::optional<CacheEntry>> CacheIndex::latest(const std::string& pipeline,
                                                           const std::string& stage) {
    std::lock_guard lock(impl_->mutex);
    auto query = impl_->db.prepare(
        std::string(k_entry_rows) +
        "WHERE e.key = (SELECT e.key FROM entries e WHERE e.pipeline = ? AND e.stage = ? "
        "ORDER BY " +
        k_newest_use_first + " LIMIT 1) ORDER BY p.path");
    if (!query) return impl_->error(query.error());
    query->bind_text(1, pipeline);
    query->bind_text(2, stage);
    return impl_->one_entry(*query);
}

util::Result<std::vector<CacheEntry>> CacheIndex::list() {
    std::lock_guard lock(impl_->mutex);
    auto query = impl_->db.prepare(std::string(k_entry_rows) + "ORDER BY " + k_newest_use_first +
                                   ", p.path");
    if (!query) return impl_->error(query.error());
    return impl_->read_entries(*query);
}

util::Status CacheIndex::remove(const std::string& key) {
    return remove(std::span<const std::string>(&key, 1));
}

util::Status CacheIndex::remove(std::span<const std::string> keys) {
    if (keys.empty()) return {};
    std::lock_guard lock(impl_->mutex);
    auto txn = sqlite::Transaction::begin(impl_->db);
    if (!txn) return impl_->error(txn.error());
    for (const auto& key : keys) {
        if (auto deleted = impl_->delete_entry(key); !deleted) return deleted;
    }
    if (auto committed = txn->commit(); !committed) return impl_->error(committed.error());
    return {};
}

util::Result<std::size_t> CacheIndex::count() {
    std::lock_guard lock(impl_->mutex);
    auto n = impl_->db.query_int("SELECT count(*) FROM entries");
    if (!n) return impl_->error(n.error());
    return static_cast<std::size_t>(*n);
}

}  // namespace sluice::cache
