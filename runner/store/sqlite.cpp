// The RAII layer over SQLite's C API (see sqlite.hpp).
#include "runner/store/sqlite.hpp"

namespace sluice::store::sqlite {

Error error(sqlite3* db, std::string_view doing) {
    std::string message(doing);
    message += ": ";
    message += db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    return Error{util::ErrorCode::store, std::move(message), {}};
}

namespace {

Error error_code(int rc, std::string_view doing) {
    std::string message(doing);
    message += ": ";
    message += sqlite3_errstr(rc);
    return Error{util::ErrorCode::store, std::move(message), {}};
}

}  // namespace

// ---- Statement ---------------------------------------------------------------------

Statement::Statement(sqlite3* db, sqlite3_stmt* cached, StatementHandle owned) noexcept
    : db_(db), stmt_(owned ? owned.get() : cached), owned_(std::move(owned)) {}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(other.stmt_),
      owned_(std::move(other.owned_)),
      bind_rc_(other.bind_rc_) {
    other.stmt_ = nullptr;
}

Statement::~Statement() {
    if (stmt_ == nullptr) return;
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

void Statement::bind_int(int index, std::int64_t value) {
    int rc = sqlite3_bind_int64(stmt_, index, value);
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::bind_text(int index, std::string_view value) {
    // TRANSIENT: SQLite copies, so callers may bind temporaries (a JSON dump, ...).
    int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT,
                                 SQLITE_UTF8);
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::bind_null(int index) {
    int rc = sqlite3_bind_null(stmt_, index);
    if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::bind_optional_int(int index, std::optional<int> value) {
    if (value) {
        bind_int(index, *value);
    } else {
        bind_null(index);
    }
}

Result<bool> Statement::step() {
    if (bind_rc_ != SQLITE_OK) {
        return std::unexpected(error_code(bind_rc_, std::string("binding ") + sqlite3_sql(stmt_)));
    }
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return std::unexpected(error(db_, "running " + std::string(sqlite3_sql(stmt_))));
}

Status Statement::run() {
    while (true) {
        auto row = step();
        if (!row) return std::unexpected(row.error());
        if (!*row) return {};
    }
}

std::int64_t Statement::column_int(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::column_text(int column) const {
    const auto* text = sqlite3_column_text(stmt_, column);
    if (text == nullptr) return {};
    return std::string(reinterpret_cast<const char*>(text),
                       static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Statement::column_is_null(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

// ---- Connection --------------------------------------------------------------------

Result<Connection> Connection::open(const std::filesystem::path& path) {
    // NOMUTEX: the Store serialises use of its connection with its own mutex.
    return open_with(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX);
}

Result<Connection> Connection::open_read_only(const std::filesystem::path& path) {
    return open_with(path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
}

Result<Connection> Connection::open_with(const std::filesystem::path& path, int flags) {
    sqlite3* raw = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    DbHandle db(raw);  // open_v2 may hand back a handle even when it fails
    if (rc != SQLITE_OK) {
        if (db) return std::unexpected(error(db.get(), "cannot open " + path.string()));
        return std::unexpected(error_code(rc, "cannot open " + path.string()));
    }
    sqlite3_extended_result_codes(db.get(), 1);
    return Connection(std::move(db));
}

Result<Statement> Connection::prepare(std::string_view sql) {
    auto found = cache_.find(sql);
    if (found != cache_.end()) {
        sqlite3_stmt* cached = found->second.get();
        // A statement still stepping (a caller reading rows while it runs the same SQL
        // again) cannot be shared: give the second user its own.
        if (!sqlite3_stmt_busy(cached)) return Statement(db_.get(), cached, nullptr);
    }
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    StatementHandle stmt(raw);
    if (rc != SQLITE_OK) {
        return std::unexpected(error(db_.get(), "preparing " + std::string(sql)));
    }
    if (found != cache_.end()) return Statement(db_.get(), nullptr, std::move(stmt));
    sqlite3_stmt* cached = stmt.get();
    cache_.emplace(std::string(sql), std::move(stmt));
    return Statement(db_.get(), cached, nullptr);
}

Status Connection::exec(const std::string& sql) {
    if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
        return std::unexpected(error(db_.get(), "running " + sql));
    }
    return {};
}

Result<std::int64_t> Connection::query_int(std::string_view sql) {
    auto stmt = prepare(sql);
    if (!stmt) return std::unexpected(stmt.error());
    auto row = stmt->step();
    if (!row) return std::unexpected(row.error());
    return *row ? stmt->column_int(0) : 0;
}

Result<std::string> Connection::query_text(std::string_view sql) {
    auto stmt = prepare(sql);
    if (!stmt) return std::unexpected(stmt.error());
    auto row = stmt->step();
    if (!row) return std::unexpected(row.error());
    return *row ? stmt->column_text(0) : std::string();
}

Status Connection::checkpoint() {
    int rc = sqlite3_wal_checkpoint_v2(db_.get(), "main", SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                       nullptr);
    if (rc == SQLITE_OK || (rc & 0xff) == SQLITE_BUSY) return {};
    return std::unexpected(error(db_.get(), "checkpointing the WAL"));
}

// ---- Transaction -------------------------------------------------------------------

Result<Transaction> Transaction::begin(Connection& connection) {
    auto stmt = connection.prepare("BEGIN IMMEDIATE");
    if (!stmt) return std::unexpected(stmt.error());
    if (auto done = stmt->run(); !done) return std::unexpected(done.error());
    return Transaction(&connection);
}

Transaction::Transaction(Transaction&& other) noexcept : connection_(other.connection_) {
    other.connection_ = nullptr;
}

Transaction::~Transaction() {
    if (connection_ == nullptr) return;
    // A failed statement may already have made SQLite roll back (SQLITE_FULL, ...).
    if (sqlite3_get_autocommit(connection_->get()) != 0) return;
    if (auto stmt = connection_->prepare("ROLLBACK")) (void)stmt->run();
}

Status Transaction::commit() {
    auto stmt = connection_->prepare("COMMIT");
    if (!stmt) return std::unexpected(stmt.error());
    if (auto done = stmt->run(); !done) return done;  // the destructor rolls back
    connection_ = nullptr;
    return {};
}

}  // namespace sluice::store::sqlite
