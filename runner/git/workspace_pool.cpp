// Leasing, recording and pruning workspaces; exclusion between runs (threads or
// processes) by flock on each workspace's lock file.
#include "runner/git/workspace_pool.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "runner/git/full_checkout.hpp"
#include "runner/git/handles.hpp"

namespace sluice::git {

namespace {

constexpr int k_record_version = 1;
constexpr const char* k_record_file = "workspace.json";
constexpr const char* k_lock_file = "lock";
constexpr const char* k_tree_dir = "tree";

std::optional<WorkspaceRecord> read_record(const std::filesystem::path& dir) {
    std::ifstream in(dir / k_record_file);
    if (!in) return std::nullopt;
    auto json = nlohmann::json::parse(in, nullptr, false);
    if (json.is_discarded() || !json.is_object()) return std::nullopt;
    WorkspaceRecord r;
    r.id = dir.filename().string();
    r.repo = json.value("repo", "");
    r.commit = json.value("commit", "");
    r.branch = json.value("branch", "");
    r.created_ms = json.value("created_ms", std::int64_t{0});
    r.last_used_ms = json.value("last_used_ms", std::int64_t{0});
    return r;
}

util::Status write_record(const std::filesystem::path& dir, const WorkspaceRecord& r) {
    nlohmann::json json = {{"version", k_record_version}, {"repo", r.repo},
                           {"commit", r.commit},          {"branch", r.branch},
                           {"created_ms", r.created_ms},  {"last_used_ms", r.last_used_ms}};
    // Written aside and renamed: a reader never sees half a record.
    auto tmp = dir / (std::string(k_record_file) + ".tmp");
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << json.dump(2) << '\n';
        if (!out) return util::fail(util::ErrorCode::io, "cannot write " + tmp.string());
    }
    std::error_code ec;
    std::filesystem::rename(tmp, dir / k_record_file, ec);
    if (ec) {
        return util::fail(util::ErrorCode::io,
                          "cannot write " + (dir / k_record_file).string() + ": " + ec.message());
    }
    return {};
}

bool hidden(const std::filesystem::path& p) { return p.filename().string().starts_with('.'); }

// Locks the workspace in `dir` unless someone holds it; nullopt when busy or gone
// (pruned meanwhile, or still being created).
util::Result<std::optional<util::FileLock>> try_lock(const std::filesystem::path& dir) {
    auto lock = util::FileLock::try_acquire(dir / k_lock_file, false);
    if (!lock) {
        if (lock.error().code == util::ErrorCode::not_found) return std::optional<util::FileLock>();
        return std::unexpected(lock.error());
    }
    if (!lock->has_value()) return lock;
    // Locked after a prune renamed it away: that workspace is no more.
    if (!(*lock)->still_at_path()) return std::optional<util::FileLock>();
    return lock;
}

}  // namespace

util::Status WorkspaceLease::record_checkout(const std::string& commit, const std::string& branch) {
    record_.commit = commit;
    record_.branch = branch;
    record_.last_used_ms = clock_->epoch_ms();
    return write_record(root_, record_);
}

std::vector<WorkspaceRecord> WorkspacePool::scan() const {
    std::vector<WorkspaceRecord> records;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
        if (hidden(entry.path()) || !entry.is_directory(ec)) continue;
        auto record = read_record(entry.path());
        if (!record) {
            // Being created, or left by a crash before its record was written.
            record = WorkspaceRecord{};
            record->id = entry.path().filename().string();
        }
        records.push_back(*record);
    }
    std::sort(records.begin(), records.end(), [](const auto& a, const auto& b) {
        return a.last_used_ms != b.last_used_ms ? a.last_used_ms > b.last_used_ms : a.id < b.id;
    });
    return records;
}

util::Result<std::vector<WorkspaceRecord>> WorkspacePool::list() const {
    std::vector<WorkspaceRecord> records;
    for (auto& r : scan()) {
        if (!r.repo.empty()) records.push_back(std::move(r));
    }
    return records;
}

util::Result<WorkspaceLease> WorkspacePool::acquire(const std::string& repo_key,
                                                    const std::string& branch) {
    std::error_code ec;
    std::filesystem::create_directories(root_, ec);
    if (ec) {
        return util::fail(util::ErrorCode::io,
                          "cannot create " + root_.string() + ": " + ec.message());
    }
    auto records = scan();
    std::vector<WorkspaceRecord> candidates;
    for (const auto& r : records) {
        if (r.repo == repo_key) candidates.push_back(r);
    }
    // The same branch first (its files are likeliest to be close), then the freshest.
    std::stable_sort(candidates.begin(), candidates.end(), [&](const auto& a, const auto& b) {
        return (!branch.empty() && a.branch == branch) > (!branch.empty() && b.branch == branch);
    });
    for (const auto& candidate : candidates) {
        auto dir = root_ / candidate.id;
        auto lock = try_lock(dir);
        if (!lock) return std::unexpected(lock.error());
        if (!lock->has_value()) continue;
        // Read again under the lock: its last holder may have finished meanwhile.
        auto record = read_record(dir);
        if (!record || record->repo != repo_key) continue;
        record->last_used_ms = clock_.epoch_ms();
        if (auto st = write_record(dir, *record); !st) return std::unexpected(st.error());
        return WorkspaceLease(dir, std::move(*record), std::move(**lock), clock_);
    }
    return create(repo_key, branch);
}

util::Result<WorkspaceLease> WorkspacePool::create(const std::string& repo_key,
                                                   const std::string& branch) {
    for (int n = 1;; ++n) {
        auto dir = root_ / ("w" + std::to_string(n));
        std::error_code ec;
        // mkdir is the atomic claim of a name; a name taken (or a race lost) moves on.
        if (!std::filesystem::create_directory(dir, ec)) {
            if (ec) {
                return util::fail(util::ErrorCode::io,
                                  "cannot create " + dir.string() + ": " + ec.message());
            }
            continue;
        }
        auto lock = util::FileLock::try_acquire(dir / k_lock_file, true);
        if (!lock) return std::unexpected(lock.error());
        // A prune may have taken a directory with no record yet for a leftover.
        if (!lock->has_value() || !(*lock)->still_at_path()) continue;
        WorkspaceRecord record;
        record.id = dir.filename().string();
        record.repo = repo_key;
        record.branch = branch;
        record.created_ms = clock_.epoch_ms();
        record.last_used_ms = record.created_ms;
        std::filesystem::create_directories(dir / k_tree_dir, ec);
        if (ec) {
            return util::fail(util::ErrorCode::io,
                              "cannot create " + (dir / k_tree_dir).string() + ": " + ec.message());
        }
        if (auto st = write_record(dir, record); !st) return std::unexpected(st.error());
        return WorkspaceLease(dir, std::move(record), std::move(**lock), clock_);
    }
}

util::Result<PruneStats> WorkspacePool::prune(const PrunePolicy& policy) {
    PruneStats stats;
    std::error_code ec;
    if (!std::filesystem::exists(root_, ec)) return stats;
    static std::atomic<int> counter{0};
    const std::int64_t now = clock_.epoch_ms();
    auto records = scan();
    for (std::size_t i = 0; i < records.size(); ++i) {
        const auto& r = records[i];
        bool too_many = static_cast<int>(i) >= policy.keep_count;
        bool too_old = policy.max_age.count() > 0 && now - r.last_used_ms > policy.max_age.count();
        if (!too_many && !too_old) {
            ++stats.kept;
            continue;
        }
        auto dir = root_ / r.id;
        auto lock = try_lock(dir);
        if (!lock) return std::unexpected(lock.error());
        if (!lock->has_value()) {
            ++stats.busy;
            continue;
        }
        // Renamed away under the lock first: a run that opened the lock file before can
        // no longer take this workspace for a live one (its lock is no longer at the path).
        auto trash = root_ / (".trash-" + r.id + "-" + std::to_string(::getpid()) + "-" +
                              std::to_string(counter++));
        std::filesystem::rename(dir, trash, ec);
        if (ec) {
            return util::fail(util::ErrorCode::io,
                              "cannot remove " + dir.string() + ": " + ec.message());
        }
        if (auto st = remove_tree(trash); !st) return std::unexpected(st.error());
        ++stats.removed;
    }
    // What a prune that died half-way left behind.
    for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
        if (entry.path().filename().string().starts_with(".trash-")) {
            auto st = remove_tree(entry.path());
            (void)st;  // another prune may be removing it right now
        }
    }
    return stats;
}

util::Result<std::string> repository_key(const std::filesystem::path& repo_path) {
    auto repo = open_repository(repo_path);
    if (!repo) return std::unexpected(repo.error());
    std::error_code ec;
    auto dir = std::filesystem::canonical(common_dir(repo->get()), ec);
    if (ec) {
        return util::fail(util::ErrorCode::io,
                          "cannot resolve " + repo_path.string() + ": " + ec.message());
    }
    return dir.string();
}

}  // namespace sluice::git
