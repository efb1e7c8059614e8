// Advisory whole-file locks (flock) that other sluice processes respect: held while the
// owning object lives, and dropped by the kernel when the process dies, even by SIGKILL.
#pragma once

#include <filesystem>
#include <optional>

#include "runner/util/error.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::util {

class FileLock {
public:
    FileLock() = default;
    FileLock(FileLock&&) noexcept = default;
    FileLock& operator=(FileLock&&) noexcept = default;

    // Takes an exclusive lock on `path` (created when missing), waiting while another
    // process or another FileLock in this process holds it.
    static Result<FileLock> acquire(const std::filesystem::path& path);

    // Like acquire, but nullopt at once when someone else holds the lock. With
    // `create` false a missing file is not_found rather than created.
    static Result<std::optional<FileLock>> try_acquire(const std::filesystem::path& path,
                                                       bool create = true);

    bool held() const { return static_cast<bool>(fd_); }
    const std::filesystem::path& path() const { return path_; }

    // True while `path` still names the locked file: a lock taken on a file that was
    // renamed or deleted meanwhile (e.g. by a prune) protects nothing.
    bool still_at_path() const;

    // Drops the lock now (the destructor does the same).
    void release() { fd_.reset(); }

private:
    FileLock(UniqueFd fd, std::filesystem::path path)
        : fd_(std::move(fd)), path_(std::move(path)) {}

    UniqueFd fd_;
    std::filesystem::path path_;
};

}  // namespace sluice::util
