// Storing and restoring a stage's outputs (see output_paths.hpp).
#include "runner/cache/output_paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>

#include "runner/cache/temp_file.hpp"
#include "runner/util/beneath.hpp"

namespace sluice::cache {

namespace fs = std::filesystem;
using util::ErrorCode;
using util::fail;

namespace {

std::unexpected<util::Error> io_error(const std::string& doing, int error) {
    return fail(ErrorCode::io, doing + ": " + std::strerror(error));
}

// `build/`, `./build` and `build` are the same output: its '/'-separated relative path.
util::Result<std::string> normalize_output(const std::string& output) {
    fs::path normal = fs::path(output).lexically_normal();
    if (!normal.has_filename() && normal.has_parent_path()) normal = normal.parent_path();
    std::string relative = normal.generic_string();
    if (!check_relative_path(relative)) {
        return fail(ErrorCode::bad_input,
                    "output `" + output + "` is not a path inside the workspace");
    }
    return relative;
}

util::Result<std::string> read_link(const fs::path& path) {
    std::string target(256, '\0');
    while (true) {
        ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
        if (n < 0) return io_error("cannot read symbolic link " + path.string(), errno);
        if (static_cast<std::size_t>(n) < target.size()) {
            target.resize(static_cast<std::size_t>(n));
            return target;
        }
        target.resize(target.size() * 2);
    }
}

class OutputRecorder {
  public:
    OutputRecorder(ObjectStore& objects, const fs::path& workspace)
        : objects_(objects), workspace_(workspace) {}

    util::Status record(const std::string& relative) {
        fs::path path = workspace_ / relative;
        struct stat status {};
        if (::lstat(path.c_str(), &status) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) {
                return fail(ErrorCode::not_found,
                            "output `" + relative + "` does not exist in " + workspace_.string());
            }
            return io_error("cannot look at output " + path.string(), errno);
        }
        if (S_ISREG(status.st_mode)) {
            auto stored = objects_.put(path);
            if (!stored) return std::unexpected(stored.error());
            CachedPath file{
                relative,     CachedPath::Type::file,          std::move(stored->digest),
                stored->size, (status.st_mode & S_IXUSR) != 0, {}};
            found_.insert_or_assign(relative, std::move(file));
            return {};
        }
        if (S_ISLNK(status.st_mode)) {
            auto target = read_link(path);
            if (!target) return std::unexpected(target.error());
            found_.insert_or_assign(
                relative,
                CachedPath{relative, CachedPath::Type::symlink, {}, 0, false, std::move(*target)});
            return {};
        }
        if (S_ISDIR(status.st_mode)) return record_directory(relative, path);
        return fail(
            ErrorCode::bad_input,
            "output " + path.string() + " is neither a file, a symbolic link nor a directory");
    }

    std::vector<CachedPath> take() {
        std::vector<CachedPath> paths;
        paths.reserve(found_.size());
        for (auto& [relative, path] : found_) paths.push_back(std::move(path));
        return paths;
    }

  private:
    util::Status record_directory(const std::string& relative, const fs::path& path) {
        std::vector<std::string> names;
        std::error_code ec;
        fs::directory_iterator it(path, ec);
        for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
            names.push_back(it->path().filename().string());
        }
        if (ec)
            return fail(ErrorCode::io, "cannot list output " + path.string() + ": " + ec.message());
        if (names.empty()) {
            found_.insert_or_assign(relative,
                                    CachedPath{relative, CachedPath::Type::dir, {}, 0, false, {}});
            return {};
        }
        std::sort(names.begin(), names.end());
        for (const auto& name : names) {
            if (auto done = record(relative + "/" + name); !done) return done;
        }
        return {};
    }

    ObjectStore& objects_;
    const fs::path& workspace_;
    std::map<std::string, CachedPath> found_;
};

util::Status make_directories(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) return fail(ErrorCode::io, "cannot create directory " + dir.string() + ": " + ec.message());
    return {};
}

// Removes whatever is at path (a directory with its contents).
util::Status remove_existing(const fs::path& path) {
    std::error_code ec;
    fs::remove_all(path, ec);
    if (ec) return fail(ErrorCode::io, "cannot remove " + path.string() + ": " + ec.message());
    return {};
}

util::Result<RestoreOutcome> restore_symlink(const fs::path& dest, const std::string& target) {
    struct stat status {};
    bool exists = ::lstat(dest.c_str(), &status) == 0;
    if (exists && S_ISLNK(status.st_mode)) {
        auto current = read_link(dest);
        if (current && *current == target) return RestoreOutcome::unchanged;
    }
    // A link under a unique name beside dest, then renamed over it: never a moment
    // without dest when it was a file or a link.
    static std::atomic<unsigned> counter{0};
    fs::path temp;
    while (true) {
        temp = dest.parent_path() /
               (TempFile::prefix_beside(dest) + "-link." + std::to_string(::getpid()) + "." +
                std::to_string(counter.fetch_add(1)));
        if (::symlink(target.c_str(), temp.c_str()) == 0) break;
        if (errno != EEXIST) return io_error("cannot create symbolic link " + temp.string(), errno);
    }
    if (exists && S_ISDIR(status.st_mode)) {
        if (auto removed = remove_existing(dest); !removed) {
            ::unlink(temp.c_str());
            return std::unexpected(removed.error());
        }
    }
    if (::rename(temp.c_str(), dest.c_str()) != 0) {
        int error = errno;
        ::unlink(temp.c_str());
        return io_error("cannot move symbolic link " + temp.string() + " to " + dest.string(),
                        error);
    }
    return RestoreOutcome::restored;
}

util::Result<RestoreOutcome> restore_directory(const fs::path& dest) {
    struct stat status {};
    if (::lstat(dest.c_str(), &status) == 0) {
        if (S_ISDIR(status.st_mode)) return RestoreOutcome::unchanged;
        if (::unlink(dest.c_str()) != 0) return io_error("cannot remove " + dest.string(), errno);
    }
    std::error_code ec;
    fs::create_directories(dest, ec);
    if (ec)
        return fail(ErrorCode::io,
                    "cannot create directory " + dest.string() + ": " + ec.message());
    return RestoreOutcome::restored;
}

// The parent directory of a '/'-separated relative path ("" for none).
std::string_view parent_of(std::string_view relative) {
    auto slash = relative.rfind('/');
    return slash == std::string_view::npos ? std::string_view() : relative.substr(0, slash);
}

}  // namespace

util::Result<std::vector<CachedPath>> store_outputs(ObjectStore& objects, const fs::path& workspace,
                                                    std::span<const std::string> outputs) {
    auto root = util::open_root(workspace);
    if (!root) return std::unexpected(root.error());
    OutputRecorder recorder(objects, workspace);
    for (const auto& output : outputs) {
        auto relative = normalize_output(output);
        if (!relative) return std::unexpected(relative.error());
        // Below the output the recorder lists and never follows; above it, a link must
        // not lead out (`etcdir -> /etc` with `outputs: [etcdir/passwd]`).
        if (auto beneath = util::check_beneath(root->get(), parent_of(*relative), "the workspace",
                                               *relative);
            !beneath) {
            return std::unexpected(beneath.error());
        }
        if (auto recorded = recorder.record(*relative); !recorded) {
            return std::unexpected(recorded.error());
        }
    }
    return recorder.take();
}

util::Result<RestoreCounts> restore_outputs(ObjectStore& objects, const fs::path& workspace,
                                            std::span<const CachedPath> paths, FileDigests* memo,
                                            std::string_view root_name) {
    if (!workspace.is_absolute()) {
        return fail(ErrorCode::bad_input,
                    "cannot restore outputs to " + workspace.string() + ": not an absolute path");
    }
    for (const auto& path : paths) {
        if (auto checked = check_cached_path(path); !checked)
            return std::unexpected(checked.error());
    }
    if (auto made = make_directories(workspace); !made) return std::unexpected(made.error());
    auto root = util::open_root(workspace);
    if (!root) return std::unexpected(root.error());
    // Every path first, so that a link out refuses the whole restore before any write.
    for (const auto& path : paths) {
        if (auto beneath = util::check_beneath(root->get(), parent_of(path.path), root_name,
                                               path.path);
            !beneath) {
            return std::unexpected(beneath.error());
        }
    }
    RestoreCounts counts;
    for (const auto& path : paths) {
        fs::path dest = workspace / path.path;
        if (auto parent = parent_of(path.path); !parent.empty()) {
            // Created beneath the root, each directory inside the one before: the
            // path-based writes below then find real directories all the way down.
            auto made = util::make_directories_beneath(root->get(), parent, root_name);
            if (!made && made.error().code == ErrorCode::bad_input) {
                return fail(ErrorCode::bad_input, path.path + ": " + made.error().message);
            }
            if (!made) return std::unexpected(made.error());
        }
        util::Result<RestoreOutcome> outcome = RestoreOutcome::unchanged;
        switch (path.type) {
            case CachedPath::Type::file:
                outcome = objects.restore(path.digest, dest, path.executable, memo);
                break;
            case CachedPath::Type::symlink:
                outcome = restore_symlink(dest, path.target);
                break;
            case CachedPath::Type::dir:
                outcome = restore_directory(dest);
                break;
        }
        if (!outcome) return std::unexpected(outcome.error());
        ++(*outcome == RestoreOutcome::unchanged ? counts.unchanged : counts.restored);
    }
    return counts;
}

}  // namespace sluice::cache
