// Checking a commit out into a workspace: a directory of sluice's own, never the user's
// work tree. Each workspace is a small repository of its own (a `.git` with its own
// HEAD and index) that borrows the objects of the source repository through
// objects/info/alternates, as `git clone --shared` does; nothing is written to the
// source repository. Moving a workspace to another commit rewrites only the files that
// differ; whatever a previous run left (new, changed, ignored files, nested
// repositories) is removed, so the result is exactly the commit's tree. Submodules are
// checked out at their recorded commits the same way. Finding what a previous run
// changed costs a stat of every tracked file, no hashing (see workspace_move.hpp).
#pragma once

#include <filesystem>
#include <string>

#include "runner/git/head.hpp"
#include "runner/util/error.hpp"

namespace sluice::git {

struct CheckoutOptions {
    // sluice's state directory: a submodule whose commit is not in the source
    // repository's own modules/ directory is fetched into a mirror under
    // STATE/mirrors/ (see mirror.hpp). Empty: such a submodule is an error.
    std::filesystem::path state_dir;
    bool submodules = true;
    // Threads that write the files of a full checkout; 0: one per core, at most 8.
    int threads = 0;
    // The directory is sluice's own (a WorkspacePool lease): anything in it may be
    // deleted, even when it no longer looks like a workspace (a stage removed its .git).
    // Otherwise only an empty directory or a workspace is used, anything else refused.
    bool owned_directory = false;
};

struct CheckoutStats {
    int files_written = 0;  // files and symlinks created or rewritten
    int files_removed = 0;  // paths removed: tracked files the commit no longer has, and
                            // untracked or ignored leftovers (a directory counts once)
    int submodules = 0;     // submodules checked out, nested ones included
    bool full = false;      // the workspace was new or unusable: every file was written
    // A move that looked only at the paths the two commits differ in and those a stage
    // touched (false: the whole tree was compared, as when a stage changed the index).
    bool path_limited = false;
    std::string previous;  // the commit the workspace held before, "" when none
};

// Makes workspace_dir hold exactly the tree of `commit_sha` (40 hex digits) of the
// repository at source_repo (a work tree, a subdirectory of one, or a bare repository
// such as a mirror), with a detached HEAD at that commit. The caller must own the
// workspace (WorkspacePool's lease): two checkouts into one directory at once are not
// safe. Errors: not_found when the commit is not in the source repository; conflict for
// a directory that is neither empty nor a workspace (see owned_directory); io otherwise.
util::Result<CheckoutStats> checkout(const std::filesystem::path& source_repo,
                                     const std::string& commit_sha,
                                     const std::filesystem::path& workspace_dir,
                                     const CheckoutOptions& options = {});

struct RevisionCheckout {
    CommitInfo commit;
    CheckoutStats stats;
};

// resolve_revision then checkout: what `sluice workspace checkout --repo PATH --rev REV
// --into DIR` (the benchmark's entry point, bench/checkout.sh) does.
util::Result<RevisionCheckout> checkout_revision(const std::filesystem::path& repo,
                                                 const std::string& rev,
                                                 const std::filesystem::path& into,
                                                 const CheckoutOptions& options = {});

}  // namespace sluice::git
