// A parallel checkout into an empty directory. git_checkout_tree writes files one by one
// and looks attributes up twice per file; for a new workspace the tree is simply written
// out by a few threads (each with its own repository handle, as libgit2 requires), and
// the index is built from the stat data of the written files.
#include "runner/git/full_checkout.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include "runner/git/handles.hpp"

namespace sluice::git {

namespace {

constexpr int k_max_threads = 8;
constexpr std::size_t k_files_per_thread = 256;  // below this, another thread costs more

struct FileEntry {
    std::string path;
    git_oid id;
    git_filemode_t mode;
    struct stat st {};
};

bool file_exists(const std::filesystem::path& p) {
    std::error_code ec;
    return std::filesystem::exists(p, ec);
}

// Attribute files outside the tree: the repository's info/attributes, the user's
// (core.attributesFile, or the XDG default) and the system's.
bool attributes_outside_tree(git_repository* repo) {
    if (file_exists(std::filesystem::path(git_repository_path(repo)) / "info" / "attributes")) {
        return true;
    }
    git_config* raw = nullptr;
    if (git_repository_config_snapshot(&raw, repo) == 0) {
        ConfigPtr config(raw);
        Buf path;
        if (git_config_get_path(path.get(), config.get(), "core.attributesFile") == 0 &&
            file_exists(path.str())) {
            return true;
        }
    }
    for (auto [level, name] : {std::pair{GIT_CONFIG_LEVEL_XDG, "attributes"},
                               std::pair{GIT_CONFIG_LEVEL_SYSTEM, "gitattributes"}}) {
        Buf dirs;
        if (git_libgit2_opts(GIT_OPT_GET_SEARCH_PATH, level, dirs.get()) != 0) continue;
        std::string list = dirs.str();
        std::size_t start = 0;
        while (start <= list.size()) {
            std::size_t end = list.find(GIT_PATH_LIST_SEPARATOR, start);
            if (end == std::string::npos) end = list.size();
            std::string dir = list.substr(start, end - start);
            if (!dir.empty() && file_exists(std::filesystem::path(dir) / name)) return true;
            start = end + 1;
        }
    }
    return false;
}

bool autocrlf(git_repository* repo) {
    git_config* raw = nullptr;
    if (git_repository_config_snapshot(&raw, repo) != 0) return false;
    ConfigPtr config(raw);
    int value = 0;
    // "input" is no boolean and converts nothing on checkout.
    return git_config_get_bool(&value, config.get(), "core.autocrlf") == 0 && value != 0;
}

struct Collect {
    std::filesystem::path root;
    std::vector<FileEntry> files;
    std::vector<FileEntry> gitlinks;
    bool has_gitattributes = false;
    std::optional<util::Error> error;
};

int collect_entry(const char* dir, const git_tree_entry* entry, void* payload) {
    auto* c = static_cast<Collect*>(payload);
    std::string_view name = git_tree_entry_name(entry);
    if (unsafe_component(name)) {
        c->error = util::Error{
            util::ErrorCode::io,
            "refusing to check out the path `" + std::string(dir) + std::string(name) + "`",
            {}};
        return -1;
    }
    std::string path = std::string(dir) + std::string(name);
    git_filemode_t mode = git_tree_entry_filemode(entry);
    if (mode == GIT_FILEMODE_TREE || mode == GIT_FILEMODE_COMMIT) {
        if (::mkdir((c->root / path).c_str(), 0777) != 0) {
            c->error = util::Error{util::ErrorCode::io,
                                   "cannot create directory " + (c->root / path).string() + ": " +
                                       std::strerror(errno),
                                   {}};
            return -1;
        }
        if (mode == GIT_FILEMODE_COMMIT) {
            c->gitlinks.push_back(FileEntry{path, *git_tree_entry_id(entry), mode});
        }
        return 0;
    }
    if (name == ".gitattributes") c->has_gitattributes = true;
    c->files.push_back(FileEntry{path, *git_tree_entry_id(entry), mode});
    return 0;
}

util::Status write_all(int fd, const char* data, std::size_t size, const std::string& path) {
    while (size > 0) {
        ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            return util::fail(util::ErrorCode::io,
                              "cannot write " + path + ": " + std::strerror(errno));
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return {};
}

// The content to write for `entry`: the blob, through the filters when they can apply.
util::Status write_entry(git_repository* repo, git_odb* odb, bool filters,
                         const std::filesystem::path& root, FileEntry& entry) {
    const std::string full = (root / entry.path).string();
    git_odb_object* raw = nullptr;
    if (git_odb_read(&raw, odb, &entry.id) != 0) {
        return git_failure(util::ErrorCode::io, "cannot read " + entry.path);
    }
    OdbObjectPtr object(raw);
    const char* data = static_cast<const char*>(git_odb_object_data(object.get()));
    std::size_t size = git_odb_object_size(object.get());

    if (entry.mode == GIT_FILEMODE_LINK) {
        std::string target(data, size);
        if (::symlink(target.c_str(), full.c_str()) != 0 || ::lstat(full.c_str(), &entry.st) != 0) {
            return util::fail(util::ErrorCode::io,
                              "cannot create symlink " + full + ": " + std::strerror(errno));
        }
        return {};
    }

    Buf filtered;
    if (filters) {
        git_blob* blob_raw = nullptr;
        if (git_blob_lookup(&blob_raw, repo, &entry.id) != 0) {
            return git_failure(util::ErrorCode::io, "cannot read " + entry.path);
        }
        BlobPtr blob(blob_raw);
        git_filter_list* list_raw = nullptr;
        if (git_filter_list_load(&list_raw, repo, blob.get(), entry.path.c_str(),
                                 GIT_FILTER_TO_WORKTREE, GIT_FILTER_DEFAULT) != 0) {
            return git_failure(util::ErrorCode::io, "cannot load the filters of " + entry.path);
        }
        FilterListPtr list(list_raw);
        if (list) {
            if (git_filter_list_apply_to_blob(filtered.get(), list.get(), blob.get()) != 0) {
                return git_failure(util::ErrorCode::io, "cannot filter " + entry.path);
            }
            data = filtered.get()->ptr;
            size = filtered.get()->size;
        }
    }

    mode_t mode = entry.mode == GIT_FILEMODE_BLOB_EXECUTABLE ? 0777 : 0666;
    // O_EXCL: the directory is new, so an existing file (or symlink) is a bug, never
    // something to write through.
    int fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) {
        return util::fail(util::ErrorCode::io,
                          "cannot create " + full + ": " + std::strerror(errno));
    }
    auto written = write_all(fd, data, size, full);
    bool stat_ok = ::fstat(fd, &entry.st) == 0;
    if (::close(fd) != 0 && written) {
        return util::fail(util::ErrorCode::io,
                          "cannot write " + full + ": " + std::strerror(errno));
    }
    if (!written) return written;
    if (!stat_ok) {
        return util::fail(util::ErrorCode::io, "cannot stat " + full + ": " + std::strerror(errno));
    }
    return {};
}

git_index_entry index_entry(const FileEntry& f) {
    git_index_entry e{};
    e.ctime.seconds = static_cast<int32_t>(f.st.st_ctim.tv_sec);
    e.ctime.nanoseconds = static_cast<uint32_t>(f.st.st_ctim.tv_nsec);
    e.mtime.seconds = static_cast<int32_t>(f.st.st_mtim.tv_sec);
    e.mtime.nanoseconds = static_cast<uint32_t>(f.st.st_mtim.tv_nsec);
    e.dev = static_cast<uint32_t>(f.st.st_dev);
    e.ino = static_cast<uint32_t>(f.st.st_ino);
    e.mode = f.mode;
    e.uid = f.st.st_uid;
    e.gid = f.st.st_gid;
    e.file_size = static_cast<uint32_t>(f.st.st_size);
    e.id = f.id;
    e.path = f.path.c_str();
    return e;
}

// Gives the owner rwx on every directory below `path` (not following symlinks), parents
// before children so that each can then be listed.
void make_owner_writable(const std::filesystem::path& path) {
    std::error_code ec;
    if (!std::filesystem::is_directory(std::filesystem::symlink_status(path, ec))) return;
    std::filesystem::permissions(path, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    for (const auto& child : std::filesystem::directory_iterator(path, ec)) {
        make_owner_writable(child.path());
    }
}

}  // namespace

bool unsafe_component(std::string_view name) {
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos) {
        return true;
    }
    if (name.size() == 4) {
        std::string lower;
        for (char c : name) lower.push_back(static_cast<char>(std::tolower(c)));
        if (lower == ".git") return true;
    }
    return false;
}

util::Result<int> write_full_tree(git_repository* repo, git_tree* tree, int threads) {
    const char* workdir = git_repository_workdir(repo);
    if (workdir == nullptr) {
        return util::fail(util::ErrorCode::internal, "a workspace cannot be bare");
    }
    Collect collect;
    collect.root = workdir;
    int rc = git_tree_walk(tree, GIT_TREEWALK_PRE, collect_entry, &collect);
    if (collect.error) return std::unexpected(*collect.error);
    if (rc != 0) return git_failure(util::ErrorCode::io, "cannot read the tree");

    // Filters (CRLF conversion, ident) can only apply when some attributes file exists or
    // core.autocrlf is true; otherwise skipping them saves two attribute lookups (each a
    // realpath(3)) per file.
    bool filters = collect.has_gitattributes || autocrlf(repo) || attributes_outside_tree(repo);
    git_odb* odb_raw = nullptr;
    if (git_repository_odb(&odb_raw, repo) != 0) {
        return git_failure(util::ErrorCode::io, "cannot open the object database");
    }
    OdbPtr odb(odb_raw);
    auto& files = collect.files;
    std::size_t first_parallel = 0;
    if (filters) {
        // .gitattributes files first, so that the other files' filters see them.
        std::stable_partition(files.begin(), files.end(), [](const FileEntry& f) {
            return std::filesystem::path(f.path).filename() == ".gitattributes";
        });
        while (first_parallel < files.size() &&
               std::filesystem::path(files[first_parallel].path).filename() == ".gitattributes") {
            auto st = write_entry(repo, odb.get(), false, collect.root, files[first_parallel]);
            if (!st) return std::unexpected(st.error());
            ++first_parallel;
        }
    }

    int wanted = threads > 0 ? threads
                             : std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1,
                                          k_max_threads);
    if ((git_libgit2_features() & GIT_FEATURE_THREADS) == 0) wanted = 1;
    std::size_t remaining = files.size() - first_parallel;
    wanted = std::clamp(static_cast<int>(remaining / k_files_per_thread) + 1, 1, wanted);

    std::atomic<std::size_t> next{first_parallel};
    std::atomic<bool> stop{false};
    std::mutex error_mutex;
    std::optional<util::Error> error;
    const std::string git_dir = git_repository_path(repo);
    auto worker = [&](git_repository* own_repo, git_odb* own_odb) {
        while (!stop.load(std::memory_order_relaxed)) {
            std::size_t i = next.fetch_add(1);
            if (i >= files.size()) return;
            auto st = write_entry(own_repo, own_odb, filters, collect.root, files[i]);
            if (!st) {
                std::lock_guard lock(error_mutex);
                if (!error) error = st.error();
                stop = true;
            }
        }
    };
    // libgit2 objects are not for sharing across threads: each helper opens its own.
    auto helper = [&] {
        auto own = open_repository(git_dir, false);
        git_odb* own_odb = nullptr;
        if (!own || git_repository_odb(&own_odb, own->get()) != 0) {
            std::lock_guard lock(error_mutex);
            if (!error) error = util::Error{util::ErrorCode::io, "cannot open " + git_dir, {}};
            stop = true;
            return;
        }
        OdbPtr odb_owned(own_odb);
        worker(own->get(), own_odb);
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < wanted; ++t) pool.emplace_back(helper);
    worker(repo, odb.get());
    for (auto& t : pool) t.join();
    if (error) return std::unexpected(*error);

    for (auto& link : collect.gitlinks) ::lstat((collect.root / link.path).c_str(), &link.st);

    git_index* index_raw = nullptr;
    if (git_repository_index(&index_raw, repo) != 0) {
        return git_failure(util::ErrorCode::io, "cannot open the index");
    }
    IndexPtr index(index_raw);
    if (git_index_clear(index.get()) != 0) {
        return git_failure(util::ErrorCode::io, "cannot clear the index");
    }
    for (const auto* list : {&files, &collect.gitlinks}) {
        for (const auto& f : *list) {
            git_index_entry e = index_entry(f);
            if (git_index_add(index.get(), &e) != 0) {
                return git_failure(util::ErrorCode::io, "cannot add " + f.path + " to the index");
            }
        }
    }
    // Written after every file, so no entry is "racily clean" beyond the last clock tick.
    if (git_index_write(index.get()) != 0) {
        return git_failure(util::ErrorCode::io, "cannot write the index");
    }
    return static_cast<int>(files.size());
}

util::Status remove_tree(const std::filesystem::path& path) {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
    if (!ec) return {};
    // A stage may have left directories without write (or even read) permission.
    make_owner_writable(path);
    ec.clear();
    std::filesystem::remove_all(path, ec);
    if (ec) {
        return util::fail(util::ErrorCode::io,
                          "cannot remove " + path.string() + ": " + ec.message());
    }
    return {};
}

util::Status clear_directory(const std::filesystem::path& dir, const std::string& keep) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        if (!keep.empty() && entry.path().filename() == keep) continue;
        auto st = remove_tree(entry.path());
        if (!st) return st;
    }
    if (ec && ec != std::errc::no_such_file_or_directory) {
        return util::fail(util::ErrorCode::io, "cannot list " + dir.string() + ": " + ec.message());
    }
    return {};
}

}  // namespace sluice::git
