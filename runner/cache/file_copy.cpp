// Reflink, copy_file_range and read/write copies (see file_copy.hpp).
#include "runner/cache/file_copy.hpp"

#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

namespace sluice::cache {

using util::ErrorCode;
using util::fail;

namespace {

constexpr std::size_t k_copy_buffer_size = 256 * 1024;

util::Status read_write_copy(int from_fd, int to_fd, off_t from_offset,
                             const std::filesystem::path& from, const std::filesystem::path& to) {
    auto buffer = std::make_unique<char[]>(k_copy_buffer_size);
    while (true) {
        ssize_t n = ::pread(from_fd, buffer.get(), k_copy_buffer_size, from_offset);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            return fail(ErrorCode::io,
                        "cannot read " + from.string() + ": " + std::strerror(errno));
        }
        if (n == 0) return {};
        for (ssize_t done = 0; done < n;) {
            ssize_t w = ::pwrite(to_fd, buffer.get() + done, static_cast<std::size_t>(n - done),
                                 from_offset + done);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) {
                return fail(ErrorCode::io, "cannot write " + to.string() + ": " +
                                               std::strerror(w < 0 ? errno : EIO));
            }
            done += w;
        }
        from_offset += n;
    }
}

// Errors after which copy_file_range cannot work for this pair of files at all, so
// read/write is the way (old kernels, special files, some FUSE and network mounts).
bool kernel_copy_unsupported(int error) {
    return error == ENOSYS || error == EXDEV || error == EINVAL || error == EOPNOTSUPP ||
           error == EPERM || error == EBADF;
}

}  // namespace

bool try_reflink(int from_fd, int to_fd) { return ::ioctl(to_fd, FICLONE, from_fd) == 0; }

util::Result<CopyMethod> copy_file_contents(int from_fd, int to_fd,
                                            const std::filesystem::path& from,
                                            const std::filesystem::path& to) {
    if (try_reflink(from_fd, to_fd)) return CopyMethod::reflink;
    loff_t in_offset = 0;
    loff_t out_offset = 0;
    while (true) {
        ssize_t n = ::copy_file_range(from_fd, &in_offset, to_fd, &out_offset, 1 << 30, 0);
        if (n > 0) continue;
        if (n == 0) return CopyMethod::kernel_copy;  // the end of `from`
        if (errno == EINTR) continue;
        if (kernel_copy_unsupported(errno)) break;
        return fail(ErrorCode::io, "cannot copy " + from.string() + " to " + to.string() + ": " +
                                       std::strerror(errno));
    }
    // Whatever copy_file_range did copy is in place; read/write goes on from there.
    if (auto done = read_write_copy(from_fd, to_fd, static_cast<off_t>(in_offset), from, to);
        !done) {
        return std::unexpected(done.error());
    }
    return CopyMethod::read_write;
}

}  // namespace sluice::cache
