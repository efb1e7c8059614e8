// The run store's schema: its version (kept in PRAGMA user_version) and the
// migrations that bring a database of any older version up to the current one.
#pragma once

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

}  // namespace sluice::store
