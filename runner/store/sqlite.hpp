// A thin RAII layer over SQLite's C API for the run store: a connection that owns its
// handle and caches prepared statements, statements that reset themselves when the
// caller is done, and a write transaction that rolls back unless it was committed.
// Every failure comes back as a util::Error (ErrorCode::store) carrying SQLite's message.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "runner/util/error.hpp"

namespace sluice::store::sqlite {

using util::Error;
using util::Result;
using util::Status;

struct DbCloser {
    // close_v2 so a statement that is somehow still alive cannot make the close fail.
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StatementFinalizer {
    void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;
using StatementHandle = std::unique_ptr<sqlite3_stmt, StatementFinalizer>;

// "doing: SQLite's message for the connection's last error".
Error error(sqlite3* db, std::string_view doing);

// One use of a prepared statement. Binds never fail on their own: the first bind
// error is kept and returned by step(), so call sites stay a list of binds. The
// statement is reset (and its bindings cleared) when this object goes away, which
// also releases the read snapshot a half-read SELECT would otherwise keep open.
class Statement {
public:
    Statement(sqlite3* db, sqlite3_stmt* cached, StatementHandle owned) noexcept;
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&&) = delete;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    ~Statement();

    // Distinct names, not overloads: a `const char*` would otherwise pick a bool overload.
    void bind_int(int index, std::int64_t value);
    void bind_text(int index, std::string_view value);
    void bind_null(int index);
    void bind_optional_int(int index, std::optional<int> value);

    // One step: true when a row is ready, false when the statement is done.
    Result<bool> step();
    // Steps to the end, for statements that return no rows.
    Status run();
    // Makes the statement ready to be bound and run again (keeps the bindings).
    void reset() { sqlite3_reset(stmt_); }

    std::int64_t column_int(int column) const;
    std::string column_text(int column) const;
    bool column_is_null(int column) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_;
    StatementHandle owned_;  // set when the cached statement was busy and a fresh one was made
    int bind_rc_ = SQLITE_OK;
};

class Connection {
public:
    // Opens (creating) the database file; the caller applies pragmas and the schema.
    static Result<Connection> open(const std::filesystem::path& path);
    // Opens an existing database file for reading only (never creating or changing it).
    static Result<Connection> open_read_only(const std::filesystem::path& path);

    Connection(Connection&&) noexcept = default;
    Connection& operator=(Connection&&) noexcept = default;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    ~Connection() = default;

    sqlite3* get() const { return db_.get(); }

    // A prepared statement for sql, prepared once per connection and reused after.
    Result<Statement> prepare(std::string_view sql);
    // Runs a script of one or more statements that return nothing of interest.
    Status exec(const std::string& sql);
    // The first column of the first row (pragmas such as user_version, journal_mode).
    Result<std::int64_t> query_int(std::string_view sql);
    Result<std::string> query_text(std::string_view sql);
    // Copies what the WAL holds into the main database file, as far as it can without
    // waiting for readers or writers (a PASSIVE checkpoint; SQLITE_BUSY, another
    // connection checkpointing meanwhile, counts as done).
    Status checkpoint();

private:
    static Result<Connection> open_with(const std::filesystem::path& path, int flags);
    explicit Connection(DbHandle db) : db_(std::move(db)) {}

    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };

    // Declared before the cache so the statements are finalized before the close.
    DbHandle db_;
    std::unordered_map<std::string, StatementHandle, Hash, std::equal_to<>> cache_;
};

// BEGIN IMMEDIATE ... COMMIT. IMMEDIATE takes the write lock up front (waiting out
// other writers through busy_timeout), so a transaction never fails half-way with
// SQLITE_BUSY when it turns from reading into writing.
class Transaction {
public:
    static Result<Transaction> begin(Connection& connection);

    Transaction(Transaction&& other) noexcept;
    Transaction& operator=(Transaction&&) = delete;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction();  // rolls back unless committed

    Status commit();

private:
    explicit Transaction(Connection* connection) : connection_(connection) {}
    Connection* connection_;  // null once committed or moved from
};

}  // namespace sluice::store::sqlite
