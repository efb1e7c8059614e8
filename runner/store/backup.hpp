// `sluice backup`'s work: a consistent copy of one of sluice's SQLite databases, made
// with SQLite's online backup API while runners may be writing, and put in place
// whole (a temporary file beside the target, then rename) or not at all.
#pragma once

#include <filesystem>

#include "runner/util/error.hpp"

namespace sluice::store {

struct BackupOptions {
    bool replace = false;  // overwrite an existing target (--force)
};

// Copies the database at `database` (its main file and what its WAL holds, as of one
// read snapshot) to `target`, a single self-contained file. A missing database is
// ErrorCode::not_found; an existing target without `replace`, a target that is a
// directory or is in a directory that does not exist are ErrorCode::bad_input; a copy
// that cannot be written (a full disk) is ErrorCode::io, and leaves no file behind.
util::Status write_backup(const std::filesystem::path& database,
                          const std::filesystem::path& target, const BackupOptions& options);

}  // namespace sluice::store
