// flock(2) locks on files: one open file description per FileLock, so two locks in the
// same process exclude each other as two processes do.
#include "runner/util/file_lock.hpp"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cstring>
#include <optional>

namespace sluice::util {

namespace {

Result<UniqueFd> open_lock_file(const std::filesystem::path& path, bool create) {
    int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
    int fd = -1;
    do {
        fd = ::open(path.c_str(), flags, 0644);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        auto code = errno == ENOENT ? ErrorCode::not_found : ErrorCode::io;
        return fail(code, "cannot open lock file " + path.string() + ": " + std::strerror(errno));
    }
    return UniqueFd(fd);
}

}  // namespace

Result<FileLock> FileLock::acquire(const std::filesystem::path& path) {
    auto fd = open_lock_file(path, true);
    if (!fd) return std::unexpected(fd.error());
    int rc = 0;
    do {
        rc = ::flock(fd->get(), LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0)
        return fail(ErrorCode::io, "cannot lock " + path.string() + ": " + std::strerror(errno));
    return FileLock(std::move(*fd), path);
}

Result<std::optional<FileLock>> FileLock::try_acquire(const std::filesystem::path& path,
                                                      bool create) {
    auto fd = open_lock_file(path, create);
    if (!fd) return std::unexpected(fd.error());
    int rc = 0;
    do {
        rc = ::flock(fd->get(), LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        if (errno == EWOULDBLOCK) return std::optional<FileLock>();
        return fail(ErrorCode::io, "cannot lock " + path.string() + ": " + std::strerror(errno));
    }
    return std::optional<FileLock>(FileLock(std::move(*fd), path));
}

bool FileLock::still_at_path() const {
    if (!fd_) return false;
    struct stat held {};
    struct stat named {};
    if (::fstat(fd_.get(), &held) != 0 || ::stat(path_.c_str(), &named) != 0) return false;
    return held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

}  // namespace sluice::util
