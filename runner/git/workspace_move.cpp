// Moving a workspace with libgit2's git_checkout_tree, either limited to the paths that
// can differ (found without hashing: a tree-to-tree comparison that skips equal
// subtrees, and the stat scan of work_tree_scan.hpp) or over the whole tree. A whole-tree
// move of 10,000 files costs libgit2 a stat of every file, a listing of every directory
// and a comparison of every entry of two trees with the index; the limited one only the
// scan, which does the first two with less overhead on another thread, and a comparison
// of the subtrees that differ. Freeing blocks can be slow (see PathWorkers): a move
// frees none itself but what it removes, and those in parallel.
#include "runner/git/workspace_move.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "runner/git/full_checkout.hpp"
#include "runner/git/handles.hpp"
#include "runner/git/work_tree_scan.hpp"

namespace sluice::git {

namespace {

// .git/sluice-checkout: the commit whose tree the index holds, the index's checksum (its
// last 20 bytes) when sluice wrote it, and a check of the two (a torn write must not
// pair one commit with another checkout's index). Always the same length: rewritten in
// place, it frees no block of the file system (see PathWorkers).
constexpr const char* k_record_file = "sluice-checkout";
constexpr const char* k_trash_dir = "sluice-trash";
constexpr const char* k_record_header = "sluice-checkout 1";
constexpr std::size_t k_checksum_size = 20;
constexpr std::size_t k_index_header_size = 12;
constexpr std::size_t k_max_path_threads = 16;

std::string record_check(const std::string& commit, const std::string& checksum) {
    std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a, 64 bits
    for (const std::string* part : {&commit, &checksum}) {
        for (unsigned char c : *part) {
            hash ^= c;
            hash *= 1099511628211ULL;
        }
    }
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
    return text;
}

// The last 20 bytes of the index file: its checksum.
std::optional<std::string> index_checksum(const std::filesystem::path& git_dir) {
    int fd = ::open((git_dir / "index").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    struct stat st {};
    std::array<unsigned char, k_checksum_size> raw{};
    bool ok = ::fstat(fd, &st) == 0 &&
              st.st_size >= static_cast<off_t>(k_index_header_size + k_checksum_size) &&
              ::pread(fd, raw.data(), raw.size(), st.st_size - static_cast<off_t>(raw.size())) ==
                  static_cast<ssize_t>(raw.size());
    ::close(fd);
    if (!ok) return std::nullopt;
    git_oid oid;
    git_oid_fromraw(&oid, raw.data());
    return to_hex(oid);
}

std::optional<std::pair<git_oid, std::string>> read_record(const std::filesystem::path& git_dir) {
    std::ifstream in(git_dir / k_record_file);
    std::string header, commit_key, commit, index_key, checksum, check_key, check;
    if (!std::getline(in, header) || header != k_record_header) return std::nullopt;
    if (!(in >> commit_key >> commit >> index_key >> checksum >> check_key >> check)) {
        return std::nullopt;
    }
    git_oid oid;
    if (commit_key != "commit" || index_key != "index" || check_key != "check" ||
        commit.size() != GIT_OID_HEXSZ || checksum.size() != GIT_OID_HEXSZ ||
        check != record_check(commit, checksum) || git_oid_fromstr(&oid, commit.c_str()) != 0) {
        return std::nullopt;
    }
    return std::pair{oid, checksum};
}

// Runs `work` on each of `paths`, on up to k_max_path_threads threads of its own; wait()
// (or the destructor) waits for them. Why threads for file system calls: on a file
// system that discards freed blocks synchronously (ext4 mounted with `discard` and no
// journal, as on some VMs), each file whose blocks are freed waits 3-4 ms for the
// device; many files at once, the waits overlap (10 files: 4 ms instead of 35).
class PathWorkers {
public:
    PathWorkers(const std::vector<std::string>& paths, std::function<void(const std::string&)> work)
        : paths_(paths), work_(std::move(work)) {
        const std::size_t count = std::min(paths.size(), k_max_path_threads);
        try {
            for (std::size_t t = 0; t < count; ++t) {
                threads_.emplace_back([this, t, count] {
                    for (std::size_t i = t; i < paths_.size(); i += count) work_(paths_[i]);
                });
            }
        } catch (const std::system_error&) {
            // No more threads: this one does the share of those not started.
            for (std::size_t t = threads_.size(); t < count; ++t) {
                for (std::size_t i = t; i < paths_.size(); i += count) work_(paths_[i]);
            }
        }
    }
    ~PathWorkers() { wait(); }
    PathWorkers(const PathWorkers&) = delete;
    PathWorkers& operator=(const PathWorkers&) = delete;

    void wait() {
        for (auto& t : threads_) t.join();
        threads_.clear();
    }

private:
    const std::vector<std::string>& paths_;
    std::function<void(const std::string&)> work_;
    std::vector<std::thread> threads_;
};

// A descriptor of the directory `fd`, closed with the object.
class Descriptor {
public:
    explicit Descriptor(int fd) : fd_(fd) {}
    ~Descriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    Descriptor(const Descriptor&) = delete;
    Descriptor& operator=(const Descriptor&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

// Empties the regular file at `path` below the directory open at `top`, following no
// symlink on the way (a stage may have put one where a directory or the file was). The
// files the two commits differ in are emptied this way, in parallel, before libgit2
// rewrites them (an open with O_TRUNC, one file after the other) or removes them: the
// checkout then frees nothing, and the waits overlap libgit2's reading of the index.
void empty_file(int top, const std::string& path) {
    int dir = top;
    std::size_t start = 0;
    for (std::size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', start)) {
        std::string name = path.substr(start, slash - start);
        int next = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dir != top) ::close(dir);
        if (next < 0) return;
        dir = next;
        start = slash + 1;
    }
    const char* name = path.c_str() + start;
    struct stat st {};
    if (::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
        st.st_size > 0) {
        int fd = ::openat(dir, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd >= 0) {
            (void)::ftruncate(fd, 0);  // a failure leaves the work to libgit2
            ::close(fd);
        }
    }
    if (dir != top) ::close(dir);
}

// A tree with a path git refuses to check out (`..`, `.git`): libgit2 refuses it too,
// but nothing may be emptied at such a path before it does.
util::Status refused(const std::string& path) {
    return util::fail(util::ErrorCode::io, "refusing to check out the path `" + path + "`");
}

// Adds the path of every blob, symlink and submodule of `entry` (of the tree at `dir`):
// the entry itself, or all that is below it when it is a tree.
util::Status add_all(git_repository* repo, const std::string& dir, const git_tree_entry* entry,
                     std::vector<std::string>& paths) {
    std::string path = dir + git_tree_entry_name(entry);
    if (unsafe_component(git_tree_entry_name(entry))) return refused(path);
    if (git_tree_entry_filemode(entry) != GIT_FILEMODE_TREE) {
        paths.push_back(std::move(path));
        return {};
    }
    git_tree* raw = nullptr;
    if (git_tree_lookup(&raw, repo, git_tree_entry_id(entry)) != 0) {
        return git_failure(util::ErrorCode::io, "cannot read the tree " + path);
    }
    TreePtr tree(raw);
    struct Walk {
        std::string prefix;
        std::vector<std::string>* paths;
        bool unsafe = false;
    } walk{path + "/", &paths};
    int rc = git_tree_walk(
        tree.get(), GIT_TREEWALK_PRE,
        [](const char* root, const git_tree_entry* e, void* payload) {
            auto* w = static_cast<Walk*>(payload);
            if (unsafe_component(git_tree_entry_name(e))) {
                w->unsafe = true;
                return -1;
            }
            if (git_tree_entry_filemode(e) != GIT_FILEMODE_TREE) {
                w->paths->push_back(w->prefix + root + git_tree_entry_name(e));
            }
            return 0;
        },
        &walk);
    if (walk.unsafe) return refused(path + "/...");
    if (rc != 0) return git_failure(util::ErrorCode::io, "cannot read the tree " + path);
    return {};
}

// The paths of blobs, symlinks and submodules that differ between two trees; subtrees
// with the same id are not looked into.
util::Status tree_changes(git_repository* repo, git_tree* from, git_tree* to,
                          const std::string& dir, std::vector<std::string>& paths) {
    const std::size_t from_count = git_tree_entrycount(from);
    for (std::size_t i = 0; i < from_count; ++i) {
        const git_tree_entry* old_entry = git_tree_entry_byindex(from, i);
        const git_tree_entry* new_entry = git_tree_entry_byname(to, git_tree_entry_name(old_entry));
        if (new_entry == nullptr) {
            if (auto st = add_all(repo, dir, old_entry, paths); !st) return st;
            continue;
        }
        if (unsafe_component(git_tree_entry_name(old_entry))) {
            return refused(dir + git_tree_entry_name(old_entry));
        }
        git_filemode_t old_mode = git_tree_entry_filemode(old_entry);
        git_filemode_t new_mode = git_tree_entry_filemode(new_entry);
        if (old_mode == new_mode &&
            git_oid_equal(git_tree_entry_id(old_entry), git_tree_entry_id(new_entry)) != 0) {
            continue;
        }
        if (old_mode == GIT_FILEMODE_TREE && new_mode == GIT_FILEMODE_TREE) {
            git_tree* old_raw = nullptr;
            git_tree* new_raw = nullptr;
            std::string sub = dir + git_tree_entry_name(old_entry);
            if (git_tree_lookup(&old_raw, repo, git_tree_entry_id(old_entry)) != 0) {
                return git_failure(util::ErrorCode::io, "cannot read the tree " + sub);
            }
            TreePtr old_tree(old_raw);
            if (git_tree_lookup(&new_raw, repo, git_tree_entry_id(new_entry)) != 0) {
                return git_failure(util::ErrorCode::io, "cannot read the tree " + sub);
            }
            TreePtr new_tree(new_raw);
            if (auto st = tree_changes(repo, old_tree.get(), new_tree.get(), sub + "/", paths);
                !st) {
                return st;
            }
            continue;
        }
        if (old_mode != GIT_FILEMODE_TREE && new_mode != GIT_FILEMODE_TREE) {
            paths.push_back(dir + git_tree_entry_name(old_entry));
            continue;
        }
        // A file became a directory or the other way round: all that was and is there.
        if (auto st = add_all(repo, dir, old_entry, paths); !st) return st;
        if (auto st = add_all(repo, dir, new_entry, paths); !st) return st;
    }
    const std::size_t to_count = git_tree_entrycount(to);
    for (std::size_t i = 0; i < to_count; ++i) {
        const git_tree_entry* new_entry = git_tree_entry_byindex(to, i);
        if (git_tree_entry_byname(from, git_tree_entry_name(new_entry)) == nullptr) {
            if (auto st = add_all(repo, dir, new_entry, paths); !st) return st;
        }
    }
    return {};
}

// What a checkout did, from libgit2's callbacks: a notification for each file it will
// write (none for a removal), a progress report for each write and each removal.
struct MoveNotes {
    std::set<std::string> updated;       // files written, submodules moved
    int written = 0;                     // files written
    std::set<std::string> removed;       // paths removed
    std::vector<std::string> leftovers;  // untracked or ignored paths it was told to remove
};

std::string without_trailing_slash(std::string path) {
    while (!path.empty() && path.back() == '/') path.pop_back();
    return path;
}

int on_checkout_notify(git_checkout_notify_t why, const char* path, const git_diff_file* baseline,
                       const git_diff_file* target, const git_diff_file*, void* payload) {
    auto* notes = static_cast<MoveNotes*>(payload);
    if (why == GIT_CHECKOUT_NOTIFY_UPDATED) {
        notes->updated.insert(without_trailing_slash(path));
        // A submodule's new commit is no file written here; its own checkout counts.
        bool gitlink =
            (target != nullptr && target->mode == GIT_FILEMODE_COMMIT) ||
            (target == nullptr && baseline != nullptr && baseline->mode == GIT_FILEMODE_COMMIT);
        if (!gitlink && target != nullptr) ++notes->written;
    } else if (why == GIT_CHECKOUT_NOTIFY_UNTRACKED || why == GIT_CHECKOUT_NOTIFY_IGNORED) {
        notes->leftovers.emplace_back(without_trailing_slash(path));
    }
    return 0;
}

void on_checkout_progress(const char* path, std::size_t, std::size_t, void* payload) {
    if (path == nullptr) return;
    auto* notes = static_cast<MoveNotes*>(payload);
    std::string p = without_trailing_slash(path);
    if (notes->updated.count(p) == 0) notes->removed.insert(std::move(p));
}

// git_checkout_tree with FORCE: every path considered ends up as in the tree, whatever
// the work tree held. `paths`: only those (exact paths, no patterns), compared with
// `baseline`, the index; none: the whole tree. Filters stay on: they cost an attribute
// lookup per file written, and a move writes few (finding out whether any attributes
// exist would cost a walk of the whole tree).
util::Status run_checkout(git_repository* repo, git_tree* tree,
                          const std::filesystem::path& work_dir, std::vector<std::string>* paths,
                          git_index* baseline, CheckoutStats& stats) {
    MoveNotes notes;
    git_checkout_options options = GIT_CHECKOUT_OPTIONS_INIT;
    options.checkout_strategy =
        GIT_CHECKOUT_FORCE | GIT_CHECKOUT_REMOVE_UNTRACKED | GIT_CHECKOUT_REMOVE_IGNORED;
    options.notify_flags =
        GIT_CHECKOUT_NOTIFY_UPDATED | GIT_CHECKOUT_NOTIFY_UNTRACKED | GIT_CHECKOUT_NOTIFY_IGNORED;
    options.notify_cb = on_checkout_notify;
    options.notify_payload = &notes;
    options.progress_cb = on_checkout_progress;
    options.progress_payload = &notes;
    std::vector<char*> list;
    if (paths != nullptr) {
        for (auto& p : *paths) list.push_back(p.data());
        options.paths.strings = list.data();
        options.paths.count = list.size();
        options.checkout_strategy |= GIT_CHECKOUT_DISABLE_PATHSPEC_MATCH;
        options.baseline_index = baseline;
    }
    if (git_checkout_tree(repo, reinterpret_cast<git_object*>(tree), &options) != 0) {
        return git_failure(util::ErrorCode::io, "cannot check out into " + work_dir.string());
    }
    // libgit2 leaves untracked directories that are repositories of their own in place
    // (`git clean -fd` does too); a clean workspace has none (`git clean -ffdx`).
    for (const auto& path : notes.leftovers) {
        std::error_code ec;
        auto full = work_dir / path;
        if (std::filesystem::symlink_status(full, ec).type() !=
            std::filesystem::file_type::not_found) {
            if (auto st = remove_tree(full); !st) return st;
            notes.removed.insert(path);
        }
    }
    stats.files_written += notes.written;
    stats.files_removed += static_cast<int>(notes.removed.size());
    return {};
}

// Removes what the scan found in the way: untracked and ignored leftovers (counted as
// removed) and whatever libgit2 must not be left to overwrite (written again after).
util::Status remove_leftovers(const std::filesystem::path& work_dir, const WorkTreeScan& scan,
                              CheckoutStats& stats) {
    std::vector<std::string> paths = scan.leftovers;
    paths.insert(paths.end(), scan.replaced.begin(), scan.replaced.end());
    std::mutex mutex;
    std::optional<util::Error> error;
    PathWorkers removal(paths, [&](const std::string& path) {
        if (auto st = remove_tree(work_dir / path); !st) {
            std::lock_guard lock(mutex);
            if (!error) error = st.error();
        }
    });
    removal.wait();
    if (error) return std::unexpected(*error);
    stats.files_removed += static_cast<int>(scan.leftovers.size());
    return {};
}

std::filesystem::path git_dir_of(git_repository* repo) {
    return std::filesystem::path(git_repository_path(repo));
}

// Whether the index holds what `tree` has at each of `paths` (a path the tree has no
// file at is not in the index).
bool index_matches(git_index* index, git_tree* tree, const std::vector<std::string>& paths) {
    for (const auto& path : paths) {
        const git_index_entry* e = git_index_get_bypath(index, path.c_str(), 0);
        git_tree_entry* raw = nullptr;
        int rc = git_tree_entry_bypath(&raw, tree, path.c_str());
        TreeEntryPtr te(raw);
        bool in_tree = rc == 0 && git_tree_entry_filemode(te.get()) != GIT_FILEMODE_TREE;
        if (rc != 0 && rc != GIT_ENOTFOUND) return false;
        if (!in_tree) {
            if (e != nullptr) return false;
            continue;
        }
        if (e == nullptr ||
            e->mode != static_cast<std::uint32_t>(git_tree_entry_filemode(te.get())) ||
            git_oid_equal(&e->id, git_tree_entry_id(te.get())) == 0) {
            return false;
        }
    }
    return true;
}

}  // namespace

WorkspaceScan::WorkspaceScan(std::filesystem::path work_dir, std::filesystem::path git_dir)
    : work_dir_(std::move(work_dir)),
      git_dir_(std::move(git_dir)),
      recorded_(read_record(git_dir_)) {}

void WorkspaceScan::start() {
    std::error_code ec;
    if (done_ || thread_.joinable()) return;
    try {
        if (std::filesystem::exists(git_dir_ / k_trash_dir, ec)) {
            trash_ = std::jthread([trash = git_dir_ / k_trash_dir] {
                std::error_code ignored;
                for (const auto& entry : std::filesystem::directory_iterator(trash, ignored)) {
                    std::filesystem::remove(entry.path(), ignored);
                }
            });
        }
        // Only where sluice checked out before: never into a directory it may refuse.
        if (recorded_ || std::filesystem::exists(git_dir_ / k_record_file, ec)) {
            thread_ = std::jthread([this](std::stop_token stop) { run(std::move(stop)); });
        }
    } catch (const std::system_error&) {
        // No thread to be had: result() scans when it is asked, the trash waits.
    }
}

void WorkspaceScan::run(std::stop_token stop) {
    auto index = read_index_snapshot(git_dir_ / "index");
    if (!index) return;
    auto scan = scan_work_tree(work_dir_, *index, std::move(stop));
    if (!scan) return;
    result_ = Result{std::move(*index), std::move(*scan)};
}

const WorkspaceScan::Result* WorkspaceScan::result() {
    if (!done_) {
        if (thread_.joinable()) {
            thread_.join();
        } else {
            run({});
        }
        done_ = true;
    }
    // Emptied by now, as a rule; and then nothing removes what keep_for_later links next.
    if (trash_.joinable()) trash_.join();
    return result_ ? &*result_ : nullptr;
}

void WorkspaceScan::cancel() {
    if (thread_.joinable()) {
        thread_.request_stop();
        thread_.join();
    }
    if (trash_.joinable()) trash_.join();
    done_ = true;
}

util::Result<bool> move_changed_paths(git_repository* repo, git_tree* tree,
                                      const std::filesystem::path& work_dir, WorkspaceScan& scan,
                                      CheckoutStats& stats) {
    const auto& recorded = scan.recorded();
    if (!recorded) return false;
    // libgit2's part first, while the scan may still run.
    git_commit* commit_raw = nullptr;
    if (git_commit_lookup(&commit_raw, repo, &recorded->first) != 0) return false;
    CommitPtr commit(commit_raw);
    git_tree* from_raw = nullptr;
    if (git_commit_tree(&from_raw, commit.get()) != 0) return false;
    TreePtr from(from_raw);
    std::vector<std::string> changes;
    if (!tree_changes(repo, from.get(), tree, "", changes)) return false;
    // Should the move give up below, the whole-tree one that follows rewrites them too.
    Descriptor top(::open(work_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    const std::vector<std::string> none;
    PathWorkers emptying(top.get() >= 0 ? changes : none,
                         [&top](const std::string& path) { empty_file(top.get(), path); });
    git_index* index_raw = nullptr;
    if (git_repository_index(&index_raw, repo) != 0) return false;
    IndexPtr index(index_raw);
    // The index libgit2 read is the one whose checksum was recorded (and scanned).
    const git_oid* read_checksum = git_index_checksum(index.get());
    if (read_checksum == nullptr || to_hex(*read_checksum) != recorded->second) return false;
    const WorkspaceScan::Result* looked = scan.result();
    if (looked == nullptr || looked->index.checksum != recorded->second) return false;

    emptying.wait();
    if (auto st = remove_leftovers(work_dir, looked->scan, stats); !st) {
        return std::unexpected(st.error());
    }
    std::vector<std::string> paths = changes;
    paths.insert(paths.end(), looked->scan.changed.begin(), looked->scan.changed.end());
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    if (paths.empty()) return true;
    keep_for_later(git_dir_of(repo), "index");
    if (auto st = run_checkout(repo, tree, work_dir, &paths, index.get(), stats); !st) {
        return std::unexpected(st.error());
    }
    if (!index_matches(index.get(), tree, changes)) {
        return util::fail(util::ErrorCode::internal, "a path-limited checkout left the index of " +
                                                         work_dir.string() + " unlike the commit");
    }
    return true;
}

util::Status move_whole_tree(git_repository* repo, git_tree* tree,
                             const std::filesystem::path& work_dir, WorkspaceScan& scan,
                             CheckoutStats& stats) {
    const WorkspaceScan::Result* looked = scan.result();
    git_index* index_raw = nullptr;
    if (looked != nullptr && git_repository_index(&index_raw, repo) == 0) {
        IndexPtr index(index_raw);
        const git_oid* read_checksum = git_index_checksum(index.get());
        if (read_checksum != nullptr && to_hex(*read_checksum) == looked->index.checksum) {
            if (auto st = remove_leftovers(work_dir, looked->scan, stats); !st) return st;
        }
    }
    keep_for_later(git_dir_of(repo), "index");
    return run_checkout(repo, tree, work_dir, nullptr, nullptr, stats);
}

void keep_for_later(const std::filesystem::path& git_dir, const char* name) {
    auto trash = git_dir / k_trash_dir;
    std::error_code ec;
    std::filesystem::create_directory(trash, ec);
    // A link already there (its removal did not happen): then the replacement frees.
    std::filesystem::create_hard_link(git_dir / name, trash / name, ec);
}

void record_checkout(const std::filesystem::path& git_dir, const git_oid& commit) {
    auto record = git_dir / k_record_file;
    std::error_code ec;
    auto checksum = index_checksum(git_dir);
    if (!checksum) {
        std::filesystem::remove(record, ec);
        return;
    }
    const std::string hex = to_hex(commit);
    const std::string text = std::string(k_record_header) + "\ncommit " + hex + "\nindex " +
                             *checksum + "\ncheck " + record_check(hex, *checksum) + "\n";
    // In place, without O_TRUNC: the file keeps its block.
    int fd = ::open(record.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
    bool ok =
        fd >= 0 && ::pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size());
    struct stat st {};
    if (ok && ::fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(text.size())) {
        ok = ::ftruncate(fd, static_cast<off_t>(text.size())) == 0;
    }
    if (fd >= 0 && ::close(fd) != 0) ok = false;
    if (!ok) std::filesystem::remove(record, ec);
}

}  // namespace sluice::git
