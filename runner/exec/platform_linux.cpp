// Linux implementations of runner/exec/platform_linux.hpp.
#include "runner/exec/platform_linux.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <system_error>

namespace sluice::exec::platform {

namespace {

// The layout getdents64 fills in (glibc exposes no declaration for the raw syscall).
struct LinuxDirent64 {
    ino64_t d_ino;
    off64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[1];
};

bool mark_from_proc(int first) noexcept {
    int dir = ::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return false;
    alignas(8) char buffer[4096];
    for (;;) {
        long n = ::syscall(SYS_getdents64, dir, buffer, sizeof buffer);
        if (n <= 0) break;
        for (long offset = 0; offset < n;) {
            const auto* entry = reinterpret_cast<const LinuxDirent64*>(buffer + offset);
            offset += entry->d_reclen;
            int fd = 0;
            bool numeric = entry->d_name[0] != '\0';
            for (const char* c = entry->d_name; *c != '\0'; ++c) {
                if (*c < '0' || *c > '9') {
                    numeric = false;
                    break;
                }
                fd = fd * 10 + (*c - '0');
            }
            if (numeric && fd >= first && fd != dir) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
    }
    ::close(dir);
    return true;
}

}  // namespace

bool mark_cloexec_from(int first) noexcept {
    if (::syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, CLOSE_RANGE_CLOEXEC) == 0) {
        return true;
    }
    return mark_from_proc(first);  // kernels before 5.11
}

util::Result<std::filesystem::path> current_executable() {
    std::error_code ec;
    auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) {
        return util::fail(util::ErrorCode::io,
                          "cannot find the running executable (/proc/self/exe): " + ec.message());
    }
    return path;
}

}  // namespace sluice::exec::platform
