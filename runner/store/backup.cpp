// A consistent copy of a database through sqlite3_backup_* (see backup.hpp).
#include "runner/store/backup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "runner/store/sqlite.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::store {

namespace {

using util::ErrorCode;
using util::fail;

// Flushes a file (or a directory's entries) to the disk; false when it cannot.
bool sync_path(const std::filesystem::path& path, int flags) {
    util::UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC));
    return fd && ::fsync(fd.get()) == 0;
}

// Copies every page of `from` into the file `to` in one step, so the copy is one read
// snapshot of the source: runners keep writing meanwhile (WAL readers block nobody).
util::Status copy_database(const std::filesystem::path& from, const std::filesystem::path& to) {
    auto source = sqlite::Connection::open_read_only(from);
    if (!source) return std::unexpected(source.error());
    sqlite3_busy_timeout(source->get(), 10'000);
    auto dest = sqlite::Connection::open(to);
    if (!dest) return std::unexpected(dest.error());
    // The copy is a temporary file renamed into place only once it is whole: a journal
    // beside it would protect nothing.
    if (auto off = dest->exec("PRAGMA journal_mode = OFF"); !off) return off;
    sqlite3_backup* backup = sqlite3_backup_init(dest->get(), "main", source->get(), "main");
    if (backup == nullptr) return std::unexpected(sqlite::error(dest->get(), "starting the copy"));
    int rc = SQLITE_OK;
    for (int tries = 0; tries < 200; ++tries) {
        rc = sqlite3_backup_step(backup, -1);
        if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
        sqlite3_sleep(50);  // another process holds a lock for a moment (WAL recovery)
    }
    sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE) {
        return fail(ErrorCode::io, std::string("copying ") + from.string() + ": " +
                                       sqlite3_errstr(rc));
    }
    return {};
}

}  // namespace

util::Status write_backup(const std::filesystem::path& database,
                          const std::filesystem::path& target, const BackupOptions& options) {
    std::error_code ec;
    if (!std::filesystem::exists(database, ec)) {
        return fail(ErrorCode::not_found,
                    "there is no run store to back up: " + database.string() + " does not exist");
    }
    if (std::filesystem::is_directory(target, ec)) {
        return fail(ErrorCode::bad_input,
                    target.string() + " is a directory; name the backup's file (" +
                        (target / "sluice.db").string() + ")");
    }
    if (std::filesystem::equivalent(database, target, ec)) {
        return fail(ErrorCode::bad_input,
                    target.string() + " is the run store itself; name another file");
    }
    if (std::filesystem::exists(target, ec) && !options.replace) {
        return fail(ErrorCode::bad_input,
                    target.string() + " already exists (--force replaces it)");
    }
    auto dir = target.parent_path().empty() ? std::filesystem::path(".") : target.parent_path();
    if (!std::filesystem::is_directory(dir, ec)) {
        return fail(ErrorCode::bad_input, "cannot write " + target.string() + ": the directory " +
                                              dir.string() + " does not exist");
    }

    auto temp = dir / (target.filename().string() + ".tmp-" + std::to_string(::getpid()));
    auto remove_temp = [&] {
        std::error_code ignored;
        std::filesystem::remove(temp, ignored);
    };
    remove_temp();  // left by an earlier backup that was killed (pids are reused)
    auto failed = [&](const std::string& why) {
        remove_temp();
        return fail(ErrorCode::io, "cannot write the backup " + target.string() + ": " + why);
    };
    if (auto copied = copy_database(database, temp); !copied) {
        return failed(copied.error().message);
    }
    if (!sync_path(temp, O_RDONLY)) return failed(std::string("fsync: ") + std::strerror(errno));
    if (::rename(temp.c_str(), target.c_str()) != 0) {
        return failed(std::string("rename: ") + std::strerror(errno));
    }
    (void)sync_path(dir, O_RDONLY | O_DIRECTORY);  // the rename itself; best effort
    return {};
}

}  // namespace sluice::store
