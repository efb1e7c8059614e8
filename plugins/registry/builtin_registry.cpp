// The builtin registry on SQLite: the schema, its migrations, and the Registry calls.
#include "plugins/registry/builtin_registry.hpp"

#include <array>
#include <cctype>
#include <mutex>

#include <nlohmann/json.hpp>

#include "runner/store/schema.hpp"
#include "runner/store/sqlite.hpp"

namespace sluice::registry {

namespace sqlite = store::sqlite;
using util::ErrorCode;
using util::fail;

namespace {

// Version 1. Versions are numbered per model from 1 (as MLflow does); metrics are a
// JSON object of numbers; every alias move is kept, so history survives re-pointing.
constexpr const char* k_schema_v1 = R"sql(
CREATE TABLE models (
    name       TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL
);
CREATE TABLE versions (
    model      TEXT    NOT NULL REFERENCES models(name),
    version    INTEGER NOT NULL,
    run_id     TEXT    NOT NULL DEFAULT '',
    commit_sha TEXT    NOT NULL DEFAULT '',
    source     TEXT    NOT NULL DEFAULT '',
    metrics    TEXT    NOT NULL DEFAULT '{}',
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (model, version)
);
CREATE INDEX versions_by_run ON versions(run_id);
CREATE TABLE aliases (
    model   TEXT    NOT NULL,
    alias   TEXT    NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (model, alias),
    FOREIGN KEY (model, version) REFERENCES versions(model, version)
);
CREATE TABLE alias_moves (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    model        TEXT    NOT NULL,
    alias        TEXT    NOT NULL,
    from_version INTEGER,
    to_version   INTEGER NOT NULL,
    actor        TEXT    NOT NULL,
    reason       TEXT    NOT NULL DEFAULT '',
    at_ms        INTEGER NOT NULL
);
CREATE INDEX alias_moves_by_alias ON alias_moves(model, alias, id);
)sql";

constexpr std::array<store::Migration, 1> k_migrations{{{1, k_schema_v1}}};

const char* k_version_columns =
    "SELECT v.model, v.version, v.run_id, v.commit_sha, v.source, v.metrics, v.created_ms, "
    "(SELECT group_concat(a.alias, ',') FROM (SELECT alias FROM aliases a "
    "  WHERE a.model = v.model AND a.version = v.version ORDER BY alias) a) "
    "FROM versions v ";

Result<ModelVersion> version_of_row(const sqlite::Statement& row) {
    ModelVersion v;
    v.model = row.column_text(0);
    v.version = std::to_string(row.column_int(1));
    v.run_id = row.column_text(2);
    v.commit = row.column_text(3);
    v.source = row.column_text(4);
    auto metrics = nlohmann::json::parse(row.column_text(5), nullptr, false);
    if (!metrics.is_object()) {
        return fail(ErrorCode::store, "metrics of " + v.model + " version " + v.version +
                                          " are not a JSON object in the registry database");
    }
    for (const auto& [name, value] : metrics.items()) {
        if (value.is_number()) v.metrics[name] = value.get<double>();
    }
    v.created_ms = row.column_int(6);
    std::string aliases = row.column_text(7);
    for (std::size_t start = 0; !aliases.empty() && start <= aliases.size();) {
        auto comma = aliases.find(',', start);
        if (comma == std::string::npos) comma = aliases.size();
        v.aliases.push_back(aliases.substr(start, comma - start));
        start = comma + 1;
    }
    return v;
}

// A version string as the database's integer; bad_input when it is not one.
Result<std::int64_t> version_number(const std::string& model, const std::string& version) {
    std::int64_t n = 0;
    if (version.empty() || version.size() > 12) n = -1;
    for (char c : version) {
        if (c < '0' || c > '9') {
            n = -1;
            break;
        }
        n = n * 10 + (c - '0');
    }
    if (n <= 0) {
        return fail(ErrorCode::bad_input,
                    "version `" + version + "` of " + model + " is not a version number (1, 2, ...)");
    }
    return n;
}

}  // namespace

Status check_name(std::string_view what, std::string_view name) {
    auto bad = [&](const std::string& why) {
        return fail(ErrorCode::bad_input,
                    std::string(what) + " `" + std::string(name) + "` " + why);
    };
    if (name.empty()) return fail(ErrorCode::bad_input, std::string(what) + " is empty");
    if (name.size() > 100) return bad("is longer than 100 characters");
    if (!std::isalnum(static_cast<unsigned char>(name.front()))) {
        return bad("must start with a letter or a digit");
    }
    for (char c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
            return bad("may contain only letters, digits, `.`, `_` and `-`");
        }
    }
    return {};
}

struct BuiltinRegistry::Impl {
    Impl(std::filesystem::path p, sqlite::Connection c, const util::Clock* k)
        : path(std::move(p)), db(std::move(c)), clock(k) {}

    std::filesystem::path path;
    sqlite::Connection db;
    const util::Clock* clock;
    util::SystemClock system_clock;
    std::mutex mutex;

    std::int64_t now_ms() const { return (clock ? clock : &system_clock)->epoch_ms(); }
    util::Error error(util::Error e) const {
        e.message = path.string() + ": " + e.message;
        return e;
    }

    Result<std::optional<ModelVersion>> find_version(const std::string& model, std::int64_t n) {
        auto q = db.prepare(std::string(k_version_columns) + "WHERE v.model = ? AND v.version = ?");
        if (!q) return std::unexpected(error(q.error()));
        q->bind_text(1, model);
        q->bind_int(2, n);
        auto row = q->step();
        if (!row) return std::unexpected(error(row.error()));
        if (!*row) return std::optional<ModelVersion>();
        auto v = version_of_row(*q);
        if (!v) return std::unexpected(v.error());
        return std::optional(std::move(*v));
    }

    Result<std::vector<ModelVersion>> list(const std::string& where_sql,
                                           const std::string& value) {
        auto q = db.prepare(std::string(k_version_columns) + where_sql);
        if (!q) return std::unexpected(error(q.error()));
        q->bind_text(1, value);
        std::vector<ModelVersion> out;
        while (true) {
            auto row = q->step();
            if (!row) return std::unexpected(error(row.error()));
            if (!*row) break;
            auto v = version_of_row(*q);
            if (!v) return std::unexpected(v.error());
            out.push_back(std::move(*v));
        }
        return out;
    }

    Result<bool> model_exists(const std::string& model) {
        auto q = db.prepare("SELECT 1 FROM models WHERE name = ?");
        if (!q) return std::unexpected(error(q.error()));
        q->bind_text(1, model);
        auto row = q->step();
        if (!row) return std::unexpected(error(row.error()));
        return *row;
    }

    std::unexpected<util::Error> no_model(const std::string& model) {
        return fail(ErrorCode::not_found, "no model `" + model + "` in the builtin registry");
    }
};

Result<std::unique_ptr<BuiltinRegistry>> BuiltinRegistry::open(
    const std::filesystem::path& path, const util::Clock* clock,
    std::chrono::milliseconds busy_timeout) {
    auto db = store::open_database(path, k_migrations, busy_timeout);
    if (!db) return std::unexpected(db.error());
    auto impl = std::make_unique<Impl>(path, std::move(*db), clock);
    return std::unique_ptr<BuiltinRegistry>(new BuiltinRegistry(std::move(impl)));
}

BuiltinRegistry::BuiltinRegistry(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BuiltinRegistry::~BuiltinRegistry() = default;

std::string BuiltinRegistry::describe() const {
    return "the builtin registry (" + impl_->path.string() + ")";
}

Result<std::vector<std::string>> BuiltinRegistry::models() {
    std::lock_guard lock(impl_->mutex);
    auto q = impl_->db.prepare("SELECT name FROM models ORDER BY name");
    if (!q) return std::unexpected(impl_->error(q.error()));
    std::vector<std::string> names;
    while (true) {
        auto row = q->step();
        if (!row) return std::unexpected(impl_->error(row.error()));
        if (!*row) break;
        names.push_back(q->column_text(0));
    }
    return names;
}

Result<std::vector<ModelVersion>> BuiltinRegistry::versions(const std::string& model) {
    std::lock_guard lock(impl_->mutex);
    auto exists = impl_->model_exists(model);
    if (!exists) return std::unexpected(exists.error());
    if (!*exists) return impl_->no_model(model);
    return impl_->list("WHERE v.model = ? ORDER BY v.version DESC", model);
}

Result<std::vector<ModelVersion>> BuiltinRegistry::versions_of_run(const std::string& run_id) {
    std::lock_guard lock(impl_->mutex);
    return impl_->list("WHERE v.run_id = ? ORDER BY v.created_ms, v.model, v.version", run_id);
}

Result<ModelVersion> BuiltinRegistry::version(const std::string& model,
                                              const std::string& version) {
    auto n = version_number(model, version);
    if (!n) return std::unexpected(n.error());
    std::lock_guard lock(impl_->mutex);
    auto found = impl_->find_version(model, *n);
    if (!found) return std::unexpected(found.error());
    if (!*found) {
        auto exists = impl_->model_exists(model);
        if (!exists) return std::unexpected(exists.error());
        if (!*exists) return impl_->no_model(model);
        return fail(ErrorCode::not_found, "no version " + version + " of model `" + model +
                                              "` in the builtin registry");
    }
    return std::move(**found);
}

Result<std::optional<ModelVersion>> BuiltinRegistry::by_alias(const std::string& model,
                                                              const std::string& alias) {
    std::lock_guard lock(impl_->mutex);
    std::int64_t n = 0;
    {
        auto q = impl_->db.prepare("SELECT version FROM aliases WHERE model = ? AND alias = ?");
        if (!q) return std::unexpected(impl_->error(q.error()));
        q->bind_text(1, model);
        q->bind_text(2, alias);
        auto row = q->step();
        if (!row) return std::unexpected(impl_->error(row.error()));
        if (!*row) return std::optional<ModelVersion>();
        n = q->column_int(0);
    }
    return impl_->find_version(model, n);
}

Result<ModelVersion> BuiltinRegistry::create_version(const NewVersion& version) {
    if (auto ok = check_name("model name", version.model); !ok) return std::unexpected(ok.error());
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [name, value] : version.metrics) metrics[name] = value;
    std::lock_guard lock(impl_->mutex);
    auto& db = impl_->db;
    auto txn = sqlite::Transaction::begin(db);
    if (!txn) return std::unexpected(impl_->error(txn.error()));
    std::int64_t now = impl_->now_ms();
    {
        auto q = db.prepare("INSERT OR IGNORE INTO models (name, created_ms) VALUES (?, ?)");
        if (!q) return std::unexpected(impl_->error(q.error()));
        q->bind_text(1, version.model);
        q->bind_int(2, now);
        if (auto done = q->run(); !done) return std::unexpected(impl_->error(done.error()));
    }
    std::int64_t number = 0;
    {
        auto q = db.prepare("SELECT COALESCE(MAX(version), 0) + 1 FROM versions WHERE model = ?");
        if (!q) return std::unexpected(impl_->error(q.error()));
        q->bind_text(1, version.model);
        auto row = q->step();
        if (!row) return std::unexpected(impl_->error(row.error()));
        number = q->column_int(0);
    }
    {
        auto q = db.prepare(
            "INSERT INTO versions (model, version, run_id, commit_sha, source, metrics, created_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)");
        if (!q) return std::unexpected(impl_->error(q.error()));
        q->bind_text(1, version.model);
        q->bind_int(2, number);
        q->bind_text(3, version.run_id);
        q->bind_text(4, version.commit);
        q->bind_text(5, version.source);
        q->bind_text(6, metrics.dump());
        q->bind_int(7, now);
        if (auto done = q->run(); !done) return std::unexpected(impl_->error(done.error()));
    }
    if (auto done = txn->commit(); !done) return std::unexpected(impl_->error(done.error()));
    ModelVersion out{version.model, std::to_string(number), version.run_id, version.commit,
                     version.source, version.metrics, {}, now};
    return out;
}

Status BuiltinRegistry::set_alias(const std::string& model, const std::string& alias,
                                  const std::string& version, const std::string& actor,
                                  const std::string& reason) {
    if (auto ok = check_name("alias", alias); !ok) return ok;
    if (alias.size() > 1 && alias[0] == 'v' &&
        alias.find_first_not_of("0123456789", 1) == std::string::npos) {
        return fail(ErrorCode::bad_input, "alias `" + alias +
                                              "` is reserved: names like v1, v2 mean versions");
    }
    auto n = version_number(model, version);
    if (!n) return std::unexpected(n.error());
    std::lock_guard lock(impl_->mutex);
    auto& db = impl_->db;
    auto txn = sqlite::Transaction::begin(db);
    if (!txn) return std::unexpected(impl_->error(txn.error()));
    auto found = impl_->find_version(model, *n);
    if (!found) return std::unexpected(found.error());
    if (!*found) {
        return fail(ErrorCode::not_found, "no version " + version + " of model `" + model +
                                              "` in the builtin registry");
    }
    std::optional<std::int64_t> from;
    {
        auto q = db.prepare("SELECT version FROM aliases WHERE model = ? AND alias = ?");
        if (!q) return std::unexpected(impl_->error(q.error()));
        q->bind_text(1, model);
        q->bind_text(2, alias);
        auto row = q->step();
        if (!row) return std::unexpected(impl_->error(row.error()));
        if (*row) from = q->column_int(0);
    }
    {
        auto q = db.prepare(
            "INSERT INTO aliases (model, alias, version) VALUES (?, ?, ?) "
            "ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version");
        if (!q) return std::unexpected(impl_->error(q.error()));
        q->bind_text(1, model);
        q->bind_text(2, alias);
        q->bind_int(3, *n);
        if (auto done = q->run(); !done) return std::unexpected(impl_->error(done.error()));
    }
    {
        auto q = db.prepare(
            "INSERT INTO alias_moves (model, alias, from_version, to_version, actor, reason, at_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)");
        if (!q) return std::unexpected(impl_->error(q.error()));
        q->bind_text(1, model);
        q->bind_text(2, alias);
        if (from) {
            q->bind_int(3, *from);
        } else {
            q->bind_null(3);
        }
        q->bind_int(4, *n);
        q->bind_text(5, actor);
        q->bind_text(6, reason);
        q->bind_int(7, impl_->now_ms());
        if (auto done = q->run(); !done) return std::unexpected(impl_->error(done.error()));
    }
    if (auto done = txn->commit(); !done) return std::unexpected(impl_->error(done.error()));
    return {};
}

Result<std::vector<AliasMove>> BuiltinRegistry::alias_history(const std::string& model,
                                                              const std::string& alias) {
    std::lock_guard lock(impl_->mutex);
    auto q = impl_->db.prepare(
        "SELECT model, alias, from_version, to_version, actor, reason, at_ms FROM alias_moves "
        "WHERE model = ?1 AND (?2 = '' OR alias = ?2) ORDER BY id");
    if (!q) return std::unexpected(impl_->error(q.error()));
    q->bind_text(1, model);
    q->bind_text(2, alias);
    std::vector<AliasMove> moves;
    while (true) {
        auto row = q->step();
        if (!row) return std::unexpected(impl_->error(row.error()));
        if (!*row) break;
        AliasMove m;
        m.model = q->column_text(0);
        m.alias = q->column_text(1);
        if (!q->column_is_null(2)) m.from_version = std::to_string(q->column_int(2));
        m.to_version = std::to_string(q->column_int(3));
        m.actor = q->column_text(4);
        m.reason = q->column_text(5);
        m.at_ms = q->column_int(6);
        moves.push_back(std::move(m));
    }
    return moves;
}

}  // namespace sluice::registry
