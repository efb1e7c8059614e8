// The content-addressed object store (see object_store.hpp).
#include "runner/cache/object_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "runner/cache/cached_path.hpp"
#include "runner/cache/file_copy.hpp"
#include "runner/cache/temp_file.hpp"
#include "runner/util/sha256.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::cache {

namespace fs = std::filesystem;
using util::ErrorCode;
using util::fail;

namespace {

constexpr std::size_t k_buffer_size = 256 * 1024;

std::int64_t milliseconds(const timespec& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1000 + t.tv_nsec / 1'000'000;
}

std::unexpected<util::Error> io_error(const std::string& doing, int error) {
    return fail(ErrorCode::io, doing + ": " + std::strerror(error));
}

util::Status make_directories(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
        return fail(ErrorCode::io, "cannot create directory " + dir.string() + ": " + ec.message());
    return {};
}

// Reads fd from its current offset to the end into sha; optionally writes what it
// read to `copy`. Returns the number of bytes.
util::Result<std::uint64_t> hash_and_copy(int fd, const fs::path& path, util::Sha256& sha,
                                          TempFile* copy) {
    auto buffer = std::make_unique<char[]>(k_buffer_size);
    std::uint64_t total = 0;
    while (true) {
        ssize_t n = ::read(fd, buffer.get(), k_buffer_size);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return io_error("cannot read " + path.string(), errno);
        if (n == 0) return total;
        std::string_view chunk(buffer.get(), static_cast<std::size_t>(n));
        sha.update(chunk);
        if (copy != nullptr) {
            if (auto written = copy->write_all(chunk); !written) {
                return std::unexpected(written.error());
            }
        }
        total += static_cast<std::uint64_t>(n);
    }
}

// Calls visit(path) for each entry of dir; a directory that does not exist has none.
template <class Visit>
util::Status for_each_entry(const fs::path& dir, Visit visit) {
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec == std::errc::no_such_file_or_directory) return {};
    for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
        if (auto done = visit(it->path()); !done) return done;
    }
    if (ec) return fail(ErrorCode::io, "cannot list " + dir.string() + ": " + ec.message());
    return {};
}

std::unexpected<util::Error> missing_object(std::string_view digest, const fs::path& path) {
    return fail(ErrorCode::not_found,
                "missing cache object " + std::string(digest) + " (" + path.string() + ")");
}

}  // namespace

util::Result<ObjectStore> ObjectStore::open(const fs::path& root) {
    ObjectStore store(root);
    for (const auto& dir : {store.objects_dir(), store.temp_dir()}) {
        if (auto made = make_directories(dir); !made) return std::unexpected(made.error());
    }
    return store;
}

fs::path ObjectStore::object_path(std::string_view digest) const {
    return objects_dir() / digest.substr(0, 2) / digest;
}

util::Result<StoredObject> ObjectStore::put(const fs::path& file) {
    util::UniqueFd source(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!source) {
        return fail(errno == ENOENT ? ErrorCode::not_found : ErrorCode::io,
                    "cannot store " + file.string() + " in the cache: " + std::strerror(errno));
    }
    struct stat status {};
    if (::fstat(source.get(), &status) != 0) {
        return io_error("cannot store " + file.string() + " in the cache", errno);
    }
    if (!S_ISREG(status.st_mode)) {
        return fail(ErrorCode::bad_input,
                    "cannot store " + file.string() + " in the cache: not a regular file");
    }
    auto temp = TempFile::create(temp_dir(), "put");
    if (!temp) return std::unexpected(temp.error());

    // A reflink shares the source's blocks; hashing the clone then reads the bytes
    // exactly as stored. Otherwise the bytes are hashed as they are copied: either way
    // the file is read once.
    util::Sha256 sha;
    util::Result<std::uint64_t> size = try_reflink(source.get(), temp->fd())
                                           ? hash_and_copy(temp->fd(), temp->path(), sha, nullptr)
                                           : hash_and_copy(source.get(), file, sha, &*temp);
    if (!size) return std::unexpected(size.error());
    StoredObject stored{util::digest_hex(sha.finish()), *size};

    fs::path target = object_path(stored.digest);
    if (auto made = make_directories(target.parent_path()); !made) {
        return std::unexpected(made.error());
    }
    struct stat existing {};
    if (::lstat(target.c_str(), &existing) == 0 && S_ISREG(existing.st_mode) &&
        static_cast<std::uint64_t>(existing.st_size) == stored.size) {
        // Already there (the temporary file goes with `temp`). A new mtime tells a gc
        // running meanwhile that a run is about to reference it; failing to set it
        // (someone else's object in a shared cache) only loses that hint.
        (void)::utimensat(AT_FDCWD, target.c_str(), nullptr, 0);
        return stored;
    }
    if (auto moved = temp->commit(target, 0444); !moved) return std::unexpected(moved.error());
    return stored;
}

util::Result<RestoreOutcome> ObjectStore::restore(std::string_view digest, const fs::path& dest,
                                                  bool executable, FileDigests* memo) {
    if (!is_digest(digest)) {
        return fail(ErrorCode::bad_input,
                    "`" + std::string(digest) + "` is not a cache object digest (64 hex digits)");
    }
    if (!dest.is_absolute() || !dest.has_filename()) {
        return fail(ErrorCode::bad_input,
                    "cannot restore to " + dest.string() + ": not an absolute file path");
    }
    FileDigests hash_everything;
    if (memo == nullptr) memo = &hash_everything;
    const mode_t mode = executable ? 0755 : 0644;

    fs::path object = object_path(digest);
    struct stat object_status {};
    int object_error = ::lstat(object.c_str(), &object_status) == 0 ? 0 : errno;
    struct stat dest_status {};
    bool dest_exists = ::lstat(dest.c_str(), &dest_status) == 0;

    if (dest_exists && S_ISREG(dest_status.st_mode) &&
        (object_error != 0 || dest_status.st_size == object_status.st_size)) {
        auto held = memo->digest(dest, dest_status);
        if (held && *held == digest) {
            bool is_executable = (dest_status.st_mode & S_IXUSR) != 0;
            if (is_executable == executable) return RestoreOutcome::unchanged;
            if (::chmod(dest.c_str(), mode) != 0) {
                return io_error("cannot set the mode of " + dest.string(), errno);
            }
            return RestoreOutcome::restored;
        }
    }

    if (object_error == ENOENT || object_error == ENOTDIR) return missing_object(digest, object);
    if (object_error != 0)
        return io_error("cannot read cache object " + object.string(), object_error);
    std::string corruption;
    if (!S_ISREG(object_status.st_mode)) {
        corruption = "it is not a regular file";
    } else {
        auto actual = memo->digest(object, object_status);
        if (!actual && actual.error().code == ErrorCode::not_found) {
            return missing_object(digest, object);
        }
        if (!actual) return std::unexpected(actual.error());
        if (*actual != digest) corruption = "its content hashes to " + *actual;
    }
    if (!corruption.empty()) {
        std::error_code ec;
        fs::remove_all(object, ec);
        return fail(ErrorCode::not_found,
                    "corrupted cache object " + std::string(digest) + " (" + object.string() +
                        "): " + corruption +
                        (ec ? "; cannot remove it: " + ec.message() : "; removed it"));
    }

    if (auto made = make_directories(dest.parent_path()); !made) {
        return std::unexpected(made.error());
    }
    util::UniqueFd source(::open(object.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!source) {
        if (errno == ENOENT) return missing_object(digest, object);  // a gc took it meanwhile
        return io_error("cannot read cache object " + object.string(), errno);
    }
    auto temp = TempFile::create(dest.parent_path(), TempFile::prefix_beside(dest));
    if (!temp) return std::unexpected(temp.error());
    if (auto copied = copy_file_contents(source.get(), temp->fd(), object, dest); !copied) {
        return std::unexpected(copied.error());
    }
    // rename(2) replaces a file or a symlink atomically, a directory not at all.
    if (dest_exists && S_ISDIR(dest_status.st_mode)) {
        std::error_code ec;
        fs::remove_all(dest, ec);
        if (ec) {
            return fail(ErrorCode::io, "cannot replace directory " + dest.string() +
                                           " with a file: " + ec.message());
        }
    }
    if (auto moved = temp->commit(dest, mode); !moved) return std::unexpected(moved.error());
    return RestoreOutcome::restored;
}

bool ObjectStore::contains(std::string_view digest) const {
    if (!is_digest(digest)) return false;
    struct stat status {};
    return ::lstat(object_path(digest).c_str(), &status) == 0 && S_ISREG(status.st_mode);
}

util::Status ObjectStore::remove(std::string_view digest) {
    if (!is_digest(digest)) {
        return fail(ErrorCode::bad_input,
                    "`" + std::string(digest) + "` is not a cache object digest (64 hex digits)");
    }
    fs::path object = object_path(digest);
    if (::unlink(object.c_str()) != 0 && errno != ENOENT) {
        return io_error("cannot remove cache object " + object.string(), errno);
    }
    return {};
}

util::Result<std::vector<ObjectInfo>> ObjectStore::list() const {
    std::vector<ObjectInfo> objects;
    auto listed = for_each_entry(objects_dir(), [&](const fs::path& prefix_dir) -> util::Status {
        std::string prefix = prefix_dir.filename().string();
        struct stat dir_status {};
        if (prefix.size() != 2 || ::lstat(prefix_dir.c_str(), &dir_status) != 0 ||
            !S_ISDIR(dir_status.st_mode)) {
            return {};
        }
        return for_each_entry(prefix_dir, [&](const fs::path& file) -> util::Status {
            std::string name = file.filename().string();
            if (!is_digest(name) || name.compare(0, 2, prefix) != 0) return {};
            struct stat status {};
            if (::lstat(file.c_str(), &status) != 0 || !S_ISREG(status.st_mode)) return {};
            objects.push_back(ObjectInfo{std::move(name),
                                         static_cast<std::uint64_t>(status.st_size),
                                         milliseconds(status.st_mtim)});
            return {};
        });
    });
    if (!listed) return std::unexpected(listed.error());
    return objects;
}

util::Result<std::uint64_t> ObjectStore::remove_temp_files_before(std::int64_t cutoff_ms) {
    std::uint64_t freed = 0;
    auto removed = for_each_entry(temp_dir(), [&](const fs::path& file) -> util::Status {
        struct stat status {};
        if (::lstat(file.c_str(), &status) != 0 || S_ISDIR(status.st_mode)) return {};
        if (milliseconds(status.st_mtim) >= cutoff_ms) return {};
        if (::unlink(file.c_str()) == 0) freed += static_cast<std::uint64_t>(status.st_size);
        return {};
    });
    if (!removed) return std::unexpected(removed.error());
    return freed;
}

}  // namespace sluice::cache
