// Linux implementations of runner/exec/platform_linux.hpp.
#include "runner/exec/platform_linux.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
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

std::optional<Scheduling> ask_for_short_slices(std::chrono::nanoseconds slice) noexcept {
    constexpr std::uint64_t k_reset_on_fork = 0x01;  // SCHED_FLAG_RESET_ON_FORK
    Scheduling current;
    if (::syscall(SYS_sched_getattr, 0, &current, sizeof current, 0) != 0) return std::nullopt;
    // Resetting on fork would also reset a negative nice: such a thread is left alone.
    if ((current.policy != SCHED_OTHER && current.policy != SCHED_BATCH) || current.nice < 0) {
        return std::nullopt;
    }
    current.size = sizeof current;
    Scheduling shorter = current;
    shorter.flags = k_reset_on_fork;
    shorter.runtime = static_cast<std::uint64_t>(slice.count());
    if (::syscall(SYS_sched_setattr, 0, &shorter, 0) != 0) return std::nullopt;
    return current;
}

void restore_scheduling(const Scheduling& scheduling) noexcept {
    ::syscall(SYS_sched_setattr, 0, &scheduling, 0);
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
