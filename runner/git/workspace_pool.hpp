// The workspaces of STATE/workspaces/: a run leases one for its whole life, so two runs
// never share one; a free workspace last used for the same repository (best: the same
// branch) is preferred, because moving it to the run's commit rewrites only what
// differs; `sluice gc` prunes those no run has used for a while.
//
// Layout: STATE/workspaces/ID/ holds `lock` (flock'ed by the lease's holder, released
// when the lease ends or its process dies), `workspace.json` (the record below) and
// `tree/`, the checkout (see checkout.hpp).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "runner/util/clock.hpp"
#include "runner/util/error.hpp"
#include "runner/util/file_lock.hpp"

namespace sluice::git {

struct WorkspaceRecord {
    std::string id;                 // the directory's name: w1, w2, ...
    std::string repo;               // the repository key it was last used for
    std::string commit;             // the commit last checked out, "" before the first
    std::string branch;             // that commit's branch, if any
    std::int64_t created_ms = 0;    // unix epoch milliseconds
    std::int64_t last_used_ms = 0;  // when it was last leased
};

class WorkspaceLease {
public:
    WorkspaceLease(WorkspaceLease&&) noexcept = default;
    WorkspaceLease& operator=(WorkspaceLease&&) noexcept = default;

    // Where the run's files go: STATE/workspaces/ID/tree.
    std::filesystem::path dir() const { return root_ / "tree"; }
    const std::string& id() const { return record_.id; }
    // The record as of the lease (commit: what the workspace held before this run).
    const WorkspaceRecord& record() const { return record_; }

    // Records what the run checked out, for the pool's choice next time.
    util::Status record_checkout(const std::string& commit, const std::string& branch);

    // Ends the lease now (the destructor does the same).
    void release() { lock_.release(); }

private:
    friend class WorkspacePool;
    WorkspaceLease(std::filesystem::path root, WorkspaceRecord record, util::FileLock lock,
                   const util::Clock& clock)
        : root_(std::move(root)),
          record_(std::move(record)),
          lock_(std::move(lock)),
          clock_(&clock) {}

    std::filesystem::path root_;
    WorkspaceRecord record_;
    util::FileLock lock_;
    const util::Clock* clock_;
};

struct PrunePolicy {
    int keep_count = 8;  // keep at most this many, the most recently used
    // Remove those not used for longer than this; zero: no age limit.
    std::chrono::milliseconds max_age = std::chrono::hours(24 * 7);
};

struct PruneStats {
    int removed = 0;
    int kept = 0;
    int busy = 0;  // beyond the policy, but leased by a running run: kept
};

class WorkspacePool {
public:
    // root: STATE/workspaces (created when needed).
    WorkspacePool(std::filesystem::path root, const util::Clock& clock)
        : root_(std::move(root)), clock_(clock) {}

    // A workspace for `repo_key` (see repository_key) that no one else holds: a free one
    // last used for that repository, preferring `branch` and then the most recently
    // used, or a new empty one.
    util::Result<WorkspaceLease> acquire(const std::string& repo_key,
                                         const std::string& branch = "");

    // Removes free workspaces beyond the policy (the oldest first); leased ones stay.
    util::Result<PruneStats> prune(const PrunePolicy& policy);

    // Every workspace's record, the most recently used first.
    util::Result<std::vector<WorkspaceRecord>> list() const;

    const std::filesystem::path& root() const { return root_; }

private:
    std::vector<WorkspaceRecord> scan() const;
    util::Result<WorkspaceLease> create(const std::string& repo_key, const std::string& branch);

    std::filesystem::path root_;
    const util::Clock& clock_;
};

// The key a repository's workspaces are pooled under: the canonical path of its common
// git directory (the same for all its linked work trees and subdirectories).
util::Result<std::string> repository_key(const std::filesystem::path& repo_path);

}  // namespace sluice::git
