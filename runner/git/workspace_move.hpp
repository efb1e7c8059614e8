// Internal to runner/git: moving an existing workspace (or one of its submodules) to
// another commit. The usual way checks out only the paths that can differ: those the
// two commits differ in, and those a previous run's stages touched (work_tree_scan.hpp).
// That needs to know which commit's tree the index holds: sluice records it, with the
// index's checksum, after each of its checkouts (.git/sluice-checkout); when a stage
// changed the index since (`git add`, `git checkout`, ...) the record no longer matches,
// and libgit2 compares the whole work tree with the whole commit instead.
#pragma once

#include <git2.h>

#include <filesystem>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>

#include "runner/git/checkout.hpp"
#include "runner/git/work_tree_scan.hpp"
#include "runner/util/error.hpp"

namespace sluice::git {

// The record of sluice's last checkout into a workspace and, once scanned, what the
// previous run's stages changed there (compared with the index as it is, recorded or
// not). The scan needs no libgit2, so start() runs it on a thread of its own while the
// checkout starts libgit2 and reads the commits; nothing may change the workspace until
// result() or cancel() returns.
class WorkspaceScan {
public:
    struct Result {
        IndexSnapshot index;  // the index the scan compared the work tree with
        WorkTreeScan scan;
    };

    // Reads the record of the workspace whose git directory is git_dir.
    WorkspaceScan(std::filesystem::path work_dir, std::filesystem::path git_dir);
    ~WorkspaceScan() { cancel(); }
    WorkspaceScan(const WorkspaceScan&) = delete;
    WorkspaceScan& operator=(const WorkspaceScan&) = delete;

    // Starts the scan on a thread, when sluice left a record there (a garbled one too),
    // and the removal of what keep_for_later left on another.
    void start();
    // The commit whose tree the index held when sluice last checked out there, and the
    // index's checksum then; nullopt without a (readable) record.
    const std::optional<std::pair<git_oid, std::string>>& recorded() const { return recorded_; }
    // The scan (done now when it was not started); nullptr when the index could not be
    // read (or is of a kind the scan refuses) or the scan failed. The trash is emptied
    // by then too.
    const Result* result();
    // Stops the scan if it runs and waits for it: before anything changes the workspace.
    void cancel();

private:
    void run(std::stop_token stop);

    std::filesystem::path work_dir_;
    std::filesystem::path git_dir_;
    std::optional<std::pair<git_oid, std::string>> recorded_;
    std::optional<Result> result_;  // written by the thread, read after it is joined
    bool done_ = false;
    std::jthread thread_;
    std::jthread trash_;  // empties what keep_for_later kept (see there)
};

// Moves the workspace of `repo` to `tree`, touching only paths that can differ (see
// WorkspaceScan; `scan` is of the same workspace), and adds what it did to `stats`.
// Returns false when the index is not as sluice recorded it, having changed nothing but
// maybe emptied files the two commits differ in (which any checkout then rewrites); an
// error leaves the workspace half-moved (the caller then checks everything out afresh).
util::Result<bool> move_changed_paths(git_repository* repo, git_tree* tree,
                                      const std::filesystem::path& work_dir, WorkspaceScan& scan,
                                      CheckoutStats& stats);

// Moves the workspace to `tree` with libgit2 comparing the whole work tree with its
// index (stat data, hashing only what looks changed) and rewriting what differs from
// the tree; removes untracked and ignored paths, nested repositories included. What the
// scan found in libgit2's way (see WorkTreeScan::replaced) is removed first, when the
// scan read the index libgit2 has.
util::Status move_whole_tree(git_repository* repo, git_tree* tree,
                             const std::filesystem::path& work_dir, WorkspaceScan& scan,
                             CheckoutStats& stats);

// Links git_dir/NAME (the index, HEAD) into git_dir/sluice-trash before libgit2 replaces
// it (a new file renamed over it), so that the replacement frees no blocks of the file
// system then (see workspace_move.cpp's PathWorkers for why that matters); the next
// checkout's WorkspaceScan removes the trash on a thread of its own. Best effort.
void keep_for_later(const std::filesystem::path& git_dir, const char* name);

// Records that the index of git_dir now holds the tree of `commit`, with the stat data
// of the files as written. Best effort: without a record the next move is a whole-tree
// one.
void record_checkout(const std::filesystem::path& git_dir, const git_oid& commit);

}  // namespace sluice::git
