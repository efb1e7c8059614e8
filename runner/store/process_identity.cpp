// Process identity and liveness from Linux's /proc (see process_identity.hpp).
#include "runner/store/process_identity.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string_view>

namespace sluice::store {

namespace {

// Reads a small /proc file whole; empty when it cannot be opened.
std::optional<std::string> read_small_file(const char* path) {
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string text;
    char buffer[1024];
    while (true) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return text;
}

}  // namespace

std::optional<ProcessStat> read_process_stat(int pid) {
    if (pid <= 0) return std::nullopt;
    std::string path = "/proc/" + std::to_string(pid) + "/stat";
    auto text = read_small_file(path.c_str());
    if (!text) return std::nullopt;
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and ')', so fields are counted
    // from the last ')'. STATE is field 3, starttime field 22.
    auto close = text->rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::string_view rest = std::string_view(*text).substr(close + 1);
    ProcessStat stat;
    int field = 2;
    std::size_t i = 0;
    while (i < rest.size()) {
        while (i < rest.size() && rest[i] == ' ') ++i;
        std::size_t end = rest.find(' ', i);
        if (end == std::string_view::npos) end = rest.size();
        if (end == i) break;
        ++field;
        std::string_view token = rest.substr(i, end - i);
        if (field == 3) {
            stat.state = token.front();
        } else if (field == 22) {
            auto [ptr, ec] =
                std::from_chars(token.data(), token.data() + token.size(), stat.start_ticks);
            if (ec != std::errc()) return std::nullopt;
            return stat;
        }
        i = end;
    }
    return std::nullopt;  // a stat line this short is not one we understand
}

std::string read_boot_id() {
    auto text = read_small_file("/proc/sys/kernel/random/boot_id");
    if (!text) return {};
    while (!text->empty() && (text->back() == '\n' || text->back() == ' ')) text->pop_back();
    return *text;
}

ProcessIdentity current_process(const std::string& boot_id) {
    ProcessIdentity self;
    self.pid = static_cast<int>(::getpid());
    if (auto stat = read_process_stat(self.pid)) self.start_ticks = stat->start_ticks;
    self.boot_id = boot_id;
    return self;
}

bool process_alive(const ProcessIdentity& owner, const std::string& current_boot_id) {
    if (owner.pid <= 0) return false;
    // Recorded during an earlier boot: every process of that boot is gone.
    if (!owner.boot_id.empty() && !current_boot_id.empty() && owner.boot_id != current_boot_id) {
        return false;
    }
    if (auto stat = read_process_stat(owner.pid)) {
        if (stat->state == 'Z' || stat->state == 'X') return false;  // exited, not yet reaped
        return owner.start_ticks == 0 || stat->start_ticks == owner.start_ticks;
    }
    // No /proc entry. Usually the process is gone; but /proc may be missing or mounted
    // with hidepid, so ask the kernel before calling it dead (EPERM = exists, not ours).
    if (::kill(owner.pid, 0) == 0) return true;
    return errno == EPERM;
}

}  // namespace sluice::store
