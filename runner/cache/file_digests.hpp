// Remembered content hashes: the SHA-256 of regular files, kept with the file's stat
// data (device, inode, size, mtime and ctime in nanoseconds) so that a tree that did
// not change is not read again, as git's index and ninja's log avoid re-reading.
//
// When is a remembered digest trusted? Only when the stat data still matches AND the
// file had not changed in the last moments before it was hashed. File timestamps
// come from a coarse clock (a scheduler tick, a whole second on some file systems),
// so a file rewritten with the same size within the tick in which it was hashed keeps
// its mtime and ctime, and its stat data would wrongly vouch for the old content
// ("racy git"). So a digest is remembered only when the file's mtime and ctime are at
// least k_timestamp_slack older than the moment the hashing started; a younger file is
// hashed again at every look-up, until it is old enough. The memo is also checked at
// load time against the moment it is loaded: entries whose times are not older than
// that (minus the slack; a clock that stepped back) are dropped.
//
// Entries are keyed by (device, inode), so hard links share one and a look-up needs no
// allocation. ctime is part of the key because restoring an mtime (cp -p, rsync -t,
// tar, utimensat) cannot restore a ctime: a file whose content was replaced while its
// size and mtime were kept is still hashed again.
//
// Not thread-safe: one FileDigests per thread, or a lock around it.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "runner/util/clock.hpp"
#include "runner/util/error.hpp"

namespace sluice::cache {

class FileDigests {
  public:
    // How much older than the hashing a file's mtime and ctime must be for its digest
    // to be remembered (covers a coarse clock tick and 1-2 s file system granularity).
    static constexpr std::chrono::seconds k_timestamp_slack{2};
    // Entries not looked up for this many days are dropped.
    static constexpr int k_max_idle_days = 30;
    // At most this many entries are written back (the most recently used ones).
    static constexpr std::size_t k_max_entries = 500'000;

    // An empty memo in memory only (save() writes nothing), on the system clock.
    FileDigests();

    // The memo kept in `memo_file`. A missing, unreadable, truncated or garbled file,
    // or one of another format version, is an empty memo, never an error. `clock`
    // (nullptr: the system's) must outlive the memo.
    static FileDigests load(const std::filesystem::path& memo_file,
                            const util::Clock* clock = nullptr);

    FileDigests(FileDigests&&) noexcept;
    FileDigests& operator=(FileDigests&&) noexcept;
    FileDigests(const FileDigests&) = delete;
    FileDigests& operator=(const FileDigests&) = delete;
    ~FileDigests();

    // The SHA-256 of the regular file at `path` (symlinks followed), as 64 lowercase
    // hex digits: remembered when its stat data matches, else read and hashed.
    // not_found for a missing file, bad_input for something that is not a regular
    // file, io when it cannot be read; the message names the path.
    util::Result<std::string> digest(const std::filesystem::path& path);

    // The same with the file's stat data already at hand (no second stat(2)). `status`
    // must be the stat (not lstat) of `path`.
    util::Result<std::string> digest(const std::filesystem::path& path, const struct stat& status);

    // Writes the memo back to its file when anything changed: atomically (a temporary
    // file renamed over it), so readers and a concurrent saver never see half a file;
    // between two processes saving, the last one wins. Idle entries are dropped first.
    util::Status save();

    // What look-ups did, for reports ("hashed 3 files, 9,997 remembered").
    struct Counters {
        std::uint64_t remembered = 0;    // look-ups answered from the memo
        std::uint64_t hashed_files = 0;  // files read and hashed
        std::uint64_t hashed_bytes = 0;
    };
    const Counters& counters() const;

    std::size_t size() const;  // remembered entries
    const std::filesystem::path& memo_file() const;

  private:
    struct Impl;
    explicit FileDigests(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::cache
