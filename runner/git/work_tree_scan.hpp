// Internal to runner/git: what a previous run's stages changed in a workspace, found
// without hashing a file. Every tracked file is lstat'ed and compared with the stat data
// its index entry recorded when sluice wrote it, and every tracked directory is listed
// for files that are not tracked. A path-limited move (workspace_move.hpp) then checks
// out only these paths and those the two commits differ in.
//
// The index file is read here without libgit2, so that the scan can run on a thread of
// its own while libgit2 starts (git_libgit2_init parses the system's CA certificates)
// and reads the commits: the two take about as long.
#pragma once

#include <cstdint>
#include <ctime>
#include <filesystem>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "runner/util/error.hpp"

namespace sluice::git {

// One path of an index, with the stat data git compares.
struct TrackedEntry {
    std::string_view path;
    std::uint32_t mode = 0;  // 0100644, 0100755, 0120000 or 0160000 (a submodule)
    std::uint32_t ctime_s = 0, ctime_ns = 0, mtime_s = 0, mtime_ns = 0;
    std::uint32_t ino = 0, uid = 0, gid = 0, size = 0;
};

// A git index file (versions 2 and 3) as it was read; entries point into `bytes`.
struct IndexSnapshot {
    std::string checksum;  // the trailing SHA-1, hex (as git_index_checksum has it)
    timespec mtime{};      // when the file was written
    std::string bytes;
    std::vector<TrackedEntry> entries;
};

// Reads the index file at `path`. The checksum is not verified (libgit2 does that when
// it reads the same file, whose checksum the caller compares). Errors (conflict) for
// what a path-limited move cannot trust: version 4, unmerged entries, assume-valid,
// skip-worktree or intent-to-add ones; io when the file is unreadable or malformed.
util::Result<IndexSnapshot> read_index_snapshot(const std::filesystem::path& path);

struct WorkTreeScan {
    // Tracked paths that may differ from their index entry: missing, of another type,
    // or with other stat data (content unknown: libgit2 hashes them before rewriting).
    std::vector<std::string> changed;
    // Those of `changed` to remove before libgit2 writes them again, as libgit2's checkout
    // would not: another type of file than the index's (a directory, or a symlink where
    // a file should be, which libgit2 would write through), and files whose size, mode
    // and mtime seconds are the index's but not the rest of their stat data (`cp -p` of
    // another version, an edit whose mtime was put back): libgit2 trusts those unread.
    std::vector<std::string> replaced;
    // Paths to remove: untracked or ignored files and directories (a directory once, not
    // looked into), and whatever stands where a tracked directory should be.
    std::vector<std::string> leftovers;
};

// Compares the work directory `work_dir` with `index`. An entry not older than the
// index file is "racily clean", as git calls it (a change in the same clock tick would
// not show in its stat data), and counted as changed. A submodule's directory is not
// looked into, nor `.git` at the top. Errors (conflict) for a path both a file and a
// directory in the index, and when `stop` is requested (the result is not wanted).
util::Result<WorkTreeScan> scan_work_tree(const std::filesystem::path& work_dir,
                                          const IndexSnapshot& index, std::stop_token stop = {});

}  // namespace sluice::git
