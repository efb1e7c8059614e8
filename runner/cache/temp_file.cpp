// Temporary files made with mkostemp and moved into place with rename(2).
#include "runner/cache/temp_file.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace sluice::cache {

using util::ErrorCode;
using util::fail;

util::Result<TempFile> TempFile::create(const std::filesystem::path& dir, std::string_view prefix) {
    std::string name = (dir / prefix).string() + ".XXXXXX";
    int fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd < 0) {
        return fail(ErrorCode::io, "cannot create a temporary file in " + dir.string() + ": " +
                                       std::strerror(errno));
    }
    return TempFile(util::UniqueFd(fd), std::filesystem::path(std::move(name)));
}

std::string TempFile::prefix_beside(const std::filesystem::path& destination) {
    constexpr std::size_t k_kept_name_bytes = 100;
    std::string name = destination.filename().string();
    if (name.size() > k_kept_name_bytes) name.resize(k_kept_name_bytes);
    return "." + name + ".sluice";
}

TempFile::TempFile(TempFile&& other) noexcept
    : fd_(std::move(other.fd_)), path_(std::move(other.path_)) {
    other.path_.clear();
}

TempFile::~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
}

util::Status TempFile::write_all(std::string_view bytes) {
    while (!bytes.empty()) {
        ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            return fail(ErrorCode::io, "cannot write " + path_.string() + ": " +
                                           std::strerror(n < 0 ? errno : EIO));
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

util::Status TempFile::commit(const std::filesystem::path& destination, mode_t mode) {
    if (::fchmod(fd_.get(), mode) != 0) {
        return fail(ErrorCode::io,
                    "cannot set the mode of " + path_.string() + ": " + std::strerror(errno));
    }
    // close(2) is where some file systems (NFS) report a failed write-back.
    if (::close(fd_.release()) != 0) {
        return fail(ErrorCode::io, "cannot write " + path_.string() + ": " + std::strerror(errno));
    }
    if (::rename(path_.c_str(), destination.c_str()) != 0) {
        return fail(ErrorCode::io, "cannot move " + path_.string() + " to " + destination.string() +
                                       ": " + std::strerror(errno));
    }
    path_.clear();
    return {};
}

}  // namespace sluice::cache
