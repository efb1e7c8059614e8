// The run store's schema: its version (kept in PRAGMA user_version) and the
// migrations that bring a database of any older version up to the current one.
#pragma once

#include <chrono>
#include <filesystem>
#include <span>

#include "runner/store/sqlite.hpp"

namespace sluice::store {

// One step of the schema: the SQL that turns version - 1 into version.
struct Migration {
    int version;
    const char* sql;
};

// Every migration, oldest first; the last one's version is the current schema.
std::span<const Migration> migrations();

// Refuses a database written by a newer sluice (ErrorCode::store, saying so); reads only.
util::Status check_not_newer(sqlite::Connection& db, const std::filesystem::path& path);

// Refuses a database written by a newer sluice, then applies the migrations it lacks
// in one transaction (so two processes opening a new file at once migrate it once).
util::Status migrate(sqlite::Connection& db, const std::filesystem::path& path);

// The same for another database of sluice's (the builtin registry, ...) with its own
// list of migrations, oldest first.
util::Status check_not_newer(sqlite::Connection& db, const std::filesystem::path& path,
                             std::span<const Migration> steps);
util::Status migrate(sqlite::Connection& db, const std::filesystem::path& path,
                     std::span<const Migration> steps);

// Opens (creating parent directories and the file) one of sluice's databases the way
// every one is used: a busy timeout, refusing a newer schema, WAL with
// synchronous=NORMAL, foreign keys on, and the missing migrations applied (then
// checkpointed, so the main file holds the schema).
util::Result<sqlite::Connection> open_database(const std::filesystem::path& path,
                                               std::span<const Migration> steps,
                                               std::chrono::milliseconds busy_timeout);

// Opens an existing database of sluice's for reading only: nothing is created, migrated
// or written (a full disk, a read-only file system). A schema older than `steps` knows
// is refused (reading it would need its migrations), as is a newer one.
util::Result<sqlite::Connection> open_database_read_only(const std::filesystem::path& path,
                                                         std::span<const Migration> steps,
                                                         std::chrono::milliseconds busy_timeout);

}  // namespace sluice::store
