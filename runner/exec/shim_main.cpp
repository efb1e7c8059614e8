// sluice-shim: the process every stage command runs under, so that a stage is always a whole
// process tree the runner can end: the shim is a child subreaper, so background jobs,
// double-forked daemons and processes that called setsid() stay its descendants; it forwards
// termination to all of them, kills what the command left behind, and reports how the command
// ended and what the tree used. It runs either for one stage, or as the runner's fork server,
// whose lanes (forked, not executed) each run one stage after another. Protocol:
// runner/exec/shim_protocol.hpp.
//
// Deliberately tiny: libc only, single-threaded, no heap on the normal path but a request's
// lists, no iostreams, so it adds little to each stage. The process table is only scanned when
// something must be signalled (termination, or leftovers when the command ended).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <string_view>

// Relative on purpose: the sluice-shim target links nothing and has no include directories.
#include "runner/exec/shim_protocol.hpp"

namespace {

namespace shim = sluice::exec::shim;

// After the final SIGKILL sweep the tree is normally reaped within milliseconds; if children
// are still there after this long, one was forked in a race with the sweep: sweep again.
constexpr long long k_resweep_ms = 500;

struct Options {
    bool serve = false;  // --serve: the fork server (see shim_protocol.hpp)
    const char* status_path = nullptr;
    long grace_ms = shim::k_default_grace_ms;
    long parent_pid = 0;
    const char* cwd = nullptr;
    char** command = nullptr;  // null-terminated, like argv
};

// What goes into the status.
struct Report {
    bool ended = false;  // the command ran and was reaped: command_status is meaningful
    int command_status = 0;
    int exec_errno = 0;
    int chdir_errno = 0;
    int terminated_by = 0;
    long leftovers = 0;
    // What wait4 reported for every process reaped during the stage: the command (with the
    // descendants it reaped itself) and the orphans that came to the shim. Times add up; the
    // peak is the largest single process's.
    long max_rss_kb = 0;
    long long user_us = 0;
    long long system_us = 0;
};

void write_all(int fd, const char* data, size_t size) {
    while (size > 0) {
        ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        data += n;
        size -= static_cast<size_t>(n);
    }
}

// Messages go to the stage's stderr (fd), so they land in the stage's log where the user looks.
void complain(int fd, const char* a, const char* b = "", const char* c = "", const char* d = "") {
    char text[1024];
    int n = snprintf(text, sizeof text, "sluice: %s%s%s%s\n", a, b, c, d);
    if (n <= 0) return;
    size_t size = static_cast<size_t>(n) < sizeof text ? static_cast<size_t>(n) : sizeof text - 1;
    write_all(fd, text, size);
}

long long now_ms() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

bool parse_number(const char* text, long& out) {
    char* end = nullptr;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 0) return false;
    out = value;
    return true;
}

bool parse_options(int argc, char** argv, Options& options) {
    int i = 1;
    bool saw_end = false;
    while (i < argc) {
        std::string_view arg = argv[i];
        if (arg == shim::k_opt_serve) {
            options.serve = true;
            ++i;
            continue;
        }
        if (arg == shim::k_end_of_options) {
            saw_end = true;
            ++i;
            break;
        }
        if (i + 1 >= argc) return false;
        const char* value = argv[i + 1];
        i += 2;
        if (arg == shim::k_opt_status) {
            options.status_path = value;
        } else if (arg == shim::k_opt_grace_ms) {
            if (!parse_number(value, options.grace_ms)) return false;
        } else if (arg == shim::k_opt_parent_pid) {
            if (!parse_number(value, options.parent_pid)) return false;
        } else if (arg == shim::k_opt_cwd) {
            options.cwd = value;
        } else {
            return false;
        }
    }
    if (options.serve) return !saw_end;
    if (!saw_end || i >= argc || options.status_path == nullptr || *options.status_path == '\0') {
        return false;
    }
    options.command = argv + i;
    return true;
}

// ---- the process table (kill paths only) ----

struct ProcEntry {
    pid_t pid;
    pid_t ppid;
    bool alive;    // not a zombie: signalling it can still change something
    bool in_tree;  // a descendant of the root
};

// A growable array on malloc: the shim avoids libstdc++ containers to stay small.
template <class T>
class Array {
public:
    Array() = default;
    Array(const Array&) = delete;
    Array& operator=(const Array&) = delete;
    ~Array() { free(items_); }

    bool push(const T& item) {
        if (size_ == capacity_) {
            size_t capacity = capacity_ == 0 ? 256 : capacity_ * 2;
            void* grown = realloc(items_, capacity * sizeof(T));
            if (grown == nullptr) return false;
            items_ = static_cast<T*>(grown);
            capacity_ = capacity;
        }
        items_[size_++] = item;
        return true;
    }
    void clear() { size_ = 0; }
    void truncate(size_t size) {
        if (size < size_) size_ = size;
    }
    size_t size() const { return size_; }
    T& operator[](size_t i) { return items_[i]; }
    T* begin() { return items_; }
    T* end() { return items_ + size_; }

private:
    T* items_ = nullptr;
    size_t size_ = 0;
    size_t capacity_ = 0;
};

// Reads a process's parent and state from /proc/NAME/stat ("pid (comm) S ppid ...").
bool read_stat(const char* name, ProcEntry& entry) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/stat", name);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char text[512];
    ssize_t n;
    do {
        n = ::read(fd, text, sizeof text - 1);
    } while (n < 0 && errno == EINTR);
    ::close(fd);
    if (n <= 0) return false;
    text[n] = '\0';
    // comm may itself contain ") ", so the last ')' ends it.
    const char* paren = strrchr(text, ')');
    if (paren == nullptr || paren[1] != ' ' || paren[2] == '\0' || paren[3] != ' ') return false;
    char state = paren[2];
    entry.pid = static_cast<pid_t>(strtol(text, nullptr, 10));
    entry.ppid = static_cast<pid_t>(strtol(paren + 4, nullptr, 10));
    entry.alive = state != 'Z' && state != 'X' && state != 'x';
    entry.in_tree = false;
    return true;
}

int compare_pid(const void* a, const void* b) {
    pid_t x = static_cast<const ProcEntry*>(a)->pid;
    pid_t y = static_cast<const ProcEntry*>(b)->pid;
    return (x > y) - (x < y);
}

// Fills tree with every live descendant of root. Orphans of a stage's tree were reparented to
// its shim (a subreaper), so following parent links from the shim finds them all, including
// processes that left the shim's session or process group.
void find_descendants(pid_t root, Array<ProcEntry>& tree) {
    tree.clear();
    DIR* proc = opendir("/proc");
    if (proc == nullptr) return;
    while (dirent* entry = readdir(proc)) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
        ProcEntry info{};
        if (read_stat(entry->d_name, info)) tree.push(info);
    }
    closedir(proc);
    qsort(tree.begin(), tree.size(), sizeof(ProcEntry), compare_pid);
    // Mark generation by generation; trees are shallow, so few passes.
    for (bool changed = true; changed;) {
        changed = false;
        for (ProcEntry& e : tree) {
            if (e.in_tree) continue;
            bool parent_in_tree = e.ppid == root;
            if (!parent_in_tree) {
                ProcEntry key{};
                key.pid = e.ppid;
                auto* parent = static_cast<ProcEntry*>(
                    bsearch(&key, tree.begin(), tree.size(), sizeof(ProcEntry), compare_pid));
                parent_in_tree = parent != nullptr && parent->in_tree;
            }
            if (parent_in_tree) {
                e.in_tree = true;
                changed = true;
            }
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < tree.size(); ++i) {
        if (tree[i].in_tree && tree[i].alive) tree[kept++] = tree[i];
    }
    tree.truncate(kept);
}

// Asks every live descendant of root to end; returns how many there were.
long terminate_tree(pid_t root) {
    Array<ProcEntry> tree;
    find_descendants(root, tree);
    for (ProcEntry& e : tree) {
        kill(e.pid, SIGTERM);
        // A stopped process only acts on SIGTERM once continued (systemd does the same).
        kill(e.pid, SIGCONT);
    }
    return static_cast<long>(tree.size());
}

// SIGKILLs every descendant of root. Repeats until a scan finds nobody new: a process forked
// while we were scanning shows up in the next scan, and a SIGKILLed process can no longer fork.
void kill_tree(pid_t root) {
    Array<pid_t> killed;
    Array<ProcEntry> tree;
    for (int round = 0; round < 100; ++round) {
        find_descendants(root, tree);
        bool found_new = false;
        for (ProcEntry& e : tree) {
            bool already = false;
            for (pid_t pid : killed) already = already || pid == e.pid;
            if (already) continue;
            kill(e.pid, SIGKILL);
            killed.push(e.pid);
            found_new = true;
        }
        if (!found_new) return;
    }
}

// ---- the command ----

void add_usage(Report& report, const rusage& usage) {
    report.user_us +=
        static_cast<long long>(usage.ru_utime.tv_sec) * 1000000 + usage.ru_utime.tv_usec;
    report.system_us +=
        static_cast<long long>(usage.ru_stime.tv_sec) * 1000000 + usage.ru_stime.tv_usec;
    if (usage.ru_maxrss > report.max_rss_kb) report.max_rss_kb = usage.ru_maxrss;
}

// Reaps every child that ended, adding up what each used; returns false when the shim has no
// children left at all.
bool reap_children(pid_t command, Report& report) {
    for (;;) {
        int status = 0;
        rusage usage{};
        pid_t pid = wait4(-1, &status, WNOHANG, &usage);
        if (pid > 0) {
            add_usage(report, usage);
            if (pid == command) {
                report.command_status = status;
                report.ended = true;
            }
            continue;
        }
        if (pid == 0) return true;
        if (errno == EINTR) continue;
        return false;  // ECHILD
    }
}

// The kernel's struct sched_attr and flag (glibc 2.36 does not declare them).
constexpr uint64_t k_sched_flag_reset_on_fork = 0x01;
struct SchedAttr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;  // for SCHED_OTHER/BATCH: the EEVDF slice (Linux 6.12+), 0: default
    uint64_t sched_deadline;
    uint64_t sched_period;
    uint32_t sched_util_min;
    uint32_t sched_util_max;
};

// How to start a stage's command.
struct Launch {
    char** argv;
    const char* cwd;  // null or empty: the shim's own
    int out = -1;     // descriptors for the command's stdout and stderr; -1: the shim's own
    int err = -1;
    bool own_group = false;  // lead a new process group (a lane's stages; a shim started for
                             // one stage leads the group itself)
};

// Where the child of start_command() says what failed; it shares our memory until it execs.
struct LaunchFailure {
    volatile int step = 0;  // 0: none, else one of the k_failed_* below
    volatile int error = 0;
};
constexpr int k_failed_setup = 1;
constexpr int k_failed_chdir = 2;
constexpr int k_failed_exec = 3;

// The vfork child: sets up its descriptors, group, directory and signal state, and execs. Only
// async-signal-safe calls, and nothing written but `failure`.
[[noreturn]] void become_command(const Launch& launch, LaunchFailure& failure) {
    if (launch.own_group) setpgid(0, 0);
    if ((launch.out >= 0 && dup2(launch.out, STDOUT_FILENO) < 0) ||
        (launch.err >= 0 && dup2(launch.err, STDERR_FILENO) < 0)) {
        failure.error = errno;
        failure.step = k_failed_setup;
        _exit(shim::k_exit_cannot_execute);
    }
    if (launch.cwd != nullptr && *launch.cwd != '\0' && chdir(launch.cwd) != 0) {
        failure.error = errno;
        failure.step = k_failed_chdir;
        _exit(shim::k_exit_cannot_execute);
    }
    signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    // Should the shim itself be SIGKILLed, the command goes with it (the runner then kills the
    // rest of the tree).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execvp(launch.argv[0], launch.argv);
    failure.error = errno;
    failure.step = k_failed_exec;
    _exit(shim::k_exit_not_found);
}

// Starts the command; returns its pid, or -1 with report.chdir_errno or report.exec_errno set.
// vfork: the child only sets itself up and execs, so sharing the shim's memory until then is
// safe, it spares copying page tables, and a failure comes back through memory, not a pipe.
pid_t start_command(const Launch& launch, Report& report) {
    static LaunchFailure failure;
    failure.step = 0;
    failure.error = 0;
    pid_t pid = vfork();
    if (pid < 0) {
        report.exec_errno = errno;
        return -1;
    }
    if (pid == 0) become_command(launch, failure);
    if (failure.step == 0) return pid;
    int status = 0;
    rusage usage{};
    while (wait4(pid, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    add_usage(report, usage);
    if (failure.step == k_failed_chdir) {
        report.chdir_errno = failure.error;
    } else {
        report.exec_errno = failure.error;
    }
    return -1;
}

// Gives up the runner's controlling terminal, if it has one, for the shim and everything it
// starts: a stage that tries to prompt (ssh, git asking for a password) gets ENXIO from
// /dev/tty and fails at once, instead of being stopped by SIGTTIN as a background process
// group until its timeout. TIOCNOTTY from a process that is not the session leader detaches
// only that process (Linux), and children inherit the detachment.
void leave_terminal() {
    int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (tty < 0) return;  // no controlling terminal (CI, services): nothing to do
    ioctl(tty, TIOCNOTTY);
    ::close(tty);
}

void explain_start_failure(int fd, const Launch& launch, const Report& report) {
    const char* program = launch.argv[0];
    if (report.chdir_errno != 0) {
        complain(fd, "cannot change to directory ", launch.cwd, ": ", strerror(report.chdir_errno));
    } else if (report.exec_errno == ENOENT && strchr(program, '/') == nullptr) {
        complain(fd, program, ": command not found");
    } else {
        complain(fd, "cannot run ", program, ": ", strerror(report.exec_errno));
    }
}

// ---- waiting ----

// A lane relays its stage's stdout and stderr to the runner: the command writes to pipes of
// the lane's, fresh for each stage, and the lane sends what it reads as "out"/"err" datagrams.
// One socket per lane is then all the runner watches, and the lane knows when the stage's
// output is complete (EOF on both pipes), which is when it sends the status.
struct Relay {
    int fds[2] = {-1, -1};  // read ends for stdout and stderr; -1 once at EOF (or cut)
    size_t pending = 0;     // bytes of `datagram` not sent yet: the runner's socket was full
    bool cut = false;       // stopped reading before EOF (a process that escaped held a pipe)
    char datagram[shim::k_max_output_datagram];
};
static_assert(shim::k_datagram_out.size() + 1 + shim::k_output_chunk <=
              shim::k_max_output_datagram);
static_assert(shim::k_datagram_err.size() == shim::k_datagram_out.size());

// What the shim waits on while a stage runs: its signals (a signalfd of SIGCHLD, SIGTERM,
// SIGINT, SIGHUP) and, in a lane, the runner's socket, where "term" requests arrive, and the
// stage's output.
struct Channel {
    int signals = -1;
    int control = -1;              // -1: none (a shim started for one stage), or closed
    unsigned long long stage = 0;  // the id "term" requests must name
    bool closing = false;          // told to end by a signal or the runner's going: no more
                                   // stages after this one
    Relay* relay = nullptr;        // a lane's stage output
};

// The runner is gone: nobody to send output or a status to, and the stage must end.
int lose_runner(Channel& channel) {
    channel.control = -1;
    channel.closing = true;
    if (channel.relay != nullptr) channel.relay->pending = 0;
    return SIGTERM;
}

// A request's NUL-separated fields.
class Fields {
  public:
    Fields(char* data, size_t size) : at_(data), end_(data + size) {}
    // The next field, or nullptr when the request ends (or a field is not terminated).
    char* next() {
        if (at_ >= end_) return nullptr;
        char* field = at_;
        auto* nul = static_cast<char*>(memchr(at_, '\0', static_cast<size_t>(end_ - at_)));
        if (nul == nullptr) return nullptr;
        at_ = nul + 1;
        return field;
    }

  private:
    char* at_;
    char* end_;
};

// Receives one datagram with up to `max_fds` descriptors (close-on-exec); descriptors beyond
// that are closed. Returns its size (0: the peer closed, -1: nothing there or an error).
ssize_t receive(int socket, char* data, size_t size, int* fds, int max_fds, int& fd_count,
                bool& truncated) {
    alignas(cmsghdr) char control_data[CMSG_SPACE(4 * sizeof(int))];
    iovec vector{data, size};
    msghdr message{};
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    message.msg_control = control_data;
    message.msg_controllen = sizeof control_data;
    ssize_t n;
    do {
        n = recvmsg(socket, &message, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    fd_count = 0;
    for (cmsghdr* header = CMSG_FIRSTHDR(&message); n >= 0 && header != nullptr;
         header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; ++i) {
            int fd;
            memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof fd);
            if (fd_count < max_fds) {
                fds[fd_count++] = fd;
            } else {
                ::close(fd);
            }
        }
    }
    truncated = n > 0 && (message.msg_flags & MSG_TRUNC) != 0;
    return n;
}

// Reads what the lane's socket holds while a stage runs: "term ID" for this stage asks to end
// it (as SIGTERM would); EOF means the runner is gone. Returns the signal to act as, or 0.
int read_control(Channel& channel) {
    char data[256];
    int fds[4];
    int fd_count = 0;
    bool truncated = false;
    ssize_t n = receive(channel.control, data, sizeof data, fds, 4, fd_count, truncated);
    for (int i = 0; i < fd_count; ++i) ::close(fds[i]);  // only a "run" has any: not now
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    if (n <= 0) return lose_runner(channel);  // not closed here: the lane owns it
    if (truncated) return 0;
    Fields fields(data, static_cast<size_t>(n));
    char* verb = fields.next();
    char* id_text = fields.next();
    long id = 0;
    if (verb == nullptr || id_text == nullptr || !parse_number(id_text, id)) return 0;
    if (std::string_view(verb) != shim::k_request_term) return 0;
    return static_cast<unsigned long long>(id) == channel.stage ? SIGTERM : 0;
}

// Reads every pending signal; returns the last one asking to end the tree (0 if none).
int read_signals(Channel& channel) {
    int asked = 0;
    for (;;) {
        signalfd_siginfo info{};
        ssize_t n = ::read(channel.signals, &info, sizeof info);
        if (n < 0 && errno == EINTR) continue;
        if (n != static_cast<ssize_t>(sizeof info)) return asked;
        if (info.ssi_signo == SIGCHLD) continue;
        // SIGTERM, SIGINT or SIGHUP: the runner's timeout or cancel (a shim of its own), the
        // server closing, or the death of the parent (PDEATHSIG).
        asked = static_cast<int>(info.ssi_signo);
        channel.closing = true;
    }
}

// Sends what the relay holds; returns the signal to act as (SIGTERM when the runner is gone).
int flush_relay(Channel& channel) {
    Relay& relay = *channel.relay;
    ssize_t n;
    do {
        n = send(channel.control, relay.datagram, relay.pending, MSG_DONTWAIT | MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
        relay.pending = 0;
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) return 0;  // POLLOUT later
    return lose_runner(channel);
}

// Reads a chunk of stdout (i = 0) or stderr (1) and passes it on; EOF closes the pipe.
int relay_output(Channel& channel, int i) {
    Relay& relay = *channel.relay;
    std::string_view kind = i == 0 ? shim::k_datagram_out : shim::k_datagram_err;
    size_t header = kind.size() + 1;
    ssize_t n;
    do {
        n = ::read(relay.fds[i], relay.datagram + header, shim::k_output_chunk);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        ::close(relay.fds[i]);
        relay.fds[i] = -1;
        return 0;
    }
    if (channel.control < 0) return 0;  // the runner is gone: the output goes nowhere
    memcpy(relay.datagram, kind.data(), kind.size());
    relay.datagram[kind.size()] = '\0';
    relay.pending = header + static_cast<size_t>(n);
    return flush_relay(channel);
}

// Waits until a signal, a request or output arrives, the runner's socket has room again, or
// timeout_ms passes (-1: no limit); returns the signal to act as when one asks to end the
// tree, else 0. Output is not read while some waits to be sent (the runner sets the pace).
int wait_for_event(Channel& channel, long long timeout_ms) {
    Relay* relay = channel.relay;
    bool sending = relay != nullptr && relay->pending > 0;
    short control_events = static_cast<short>(POLLIN | (sending ? POLLOUT : 0));
    pollfd waits[4] = {{channel.signals, POLLIN, 0},
                       {channel.control, control_events, 0},
                       {relay != nullptr && !sending ? relay->fds[0] : -1, POLLIN, 0},
                       {relay != nullptr && !sending ? relay->fds[1] : -1, POLLIN, 0}};
    int timeout = timeout_ms < 0         ? -1
                  : timeout_ms > INT_MAX ? INT_MAX
                                         : static_cast<int>(timeout_ms);
    int n = poll(waits, relay != nullptr ? 4 : 2, timeout);
    if (n <= 0) return 0;  // a timeout, or EINTR
    int asked = 0;
    auto ask = [&asked](int sig) {
        if (sig != 0) asked = sig;
    };
    if (waits[0].revents != 0) ask(read_signals(channel));
    if (channel.control >= 0 && (waits[1].revents & POLLOUT) != 0) ask(flush_relay(channel));
    if (channel.control >= 0 && (waits[1].revents & ~POLLOUT) != 0) ask(read_control(channel));
    for (int i = 0; i < 2; ++i) {
        // One chunk at a time: a chunk the runner could not take yet holds up the next.
        if (waits[2 + i].revents != 0 && relay->fds[i] >= 0 && relay->pending == 0) {
            ask(relay_output(channel, i));
        }
    }
    return asked;
}

// After the tree is gone: relays what is left of the output, until EOF on both pipes. A pipe
// still open drain_ms later is held by a process that escaped the stage (one the lane could
// not see, say it got the descriptor through a socket): the lane stops reading it (cut).
void drain_output(Channel& channel, long drain_ms) {
    Relay& relay = *channel.relay;
    const long long deadline = now_ms() + drain_ms;
    for (;;) {
        bool open = relay.fds[0] >= 0 || relay.fds[1] >= 0;
        if (channel.control < 0 || (!open && relay.pending == 0)) break;
        long long left = deadline - now_ms();
        if (left <= 0 && relay.pending == 0) {
            relay.cut = open;
            break;
        }
        // While the runner is slow to take output, that is what is waited for, not the pipes.
        wait_for_event(channel, relay.pending > 0 ? -1 : left);
    }
    for (int& fd : relay.fds) {
        if (fd >= 0) ::close(fd);
        fd = -1;
    }
}

// Waits for the command and everything it started; on a termination request or when the
// command leaves processes behind, ends the tree (SIGTERM, grace, SIGKILL).
void supervise(pid_t command, long grace_ms, Channel& channel, Report& report) {
    const pid_t self = getpid();
    enum class Phase { running, stopping, killing } phase = Phase::running;
    long long deadline = -1;
    for (;;) {
        bool children_left = reap_children(command, report);
        if (!children_left) return;
        long long now = now_ms();
        if (report.ended && phase == Phase::running) {
            // The command is done and left processes behind (background jobs, daemons): end
            // them, as GitLab does at the end of a job, so the stage is really over.
            report.leftovers = terminate_tree(self);
            phase = Phase::stopping;
            long grace =
                grace_ms < shim::k_leftover_grace_cap_ms ? grace_ms : shim::k_leftover_grace_cap_ms;
            deadline = now + grace;
        }
        if (deadline >= 0 && now >= deadline) {
            kill_tree(self);
            phase = Phase::killing;
            deadline = now + k_resweep_ms;
            continue;
        }
        int sig = wait_for_event(channel, deadline >= 0 ? deadline - now : -1);
        if (sig == 0) continue;  // a timeout, or a child changed
        if (report.terminated_by == 0) report.terminated_by = sig;
        if (phase == Phase::running) {
            terminate_tree(self);
            phase = Phase::stopping;
            deadline = now_ms() + grace_ms;  // `now` is from before the wait
        }
    }
}

// ---- the status ----

void append(char* text, size_t size, size_t& used, std::string_view key, long long value) {
    if (used >= size) return;
    int n = snprintf(text + used, size - used, "%.*s %lld\n", static_cast<int>(key.size()),
                     key.data(), value);
    if (n > 0) used += static_cast<size_t>(n);
}

void append_line(char* text, size_t size, size_t& used, std::string_view line) {
    if (used >= size) return;
    int n =
        snprintf(text + used, size - used, "%.*s\n", static_cast<int>(line.size()), line.data());
    if (n > 0) used += static_cast<size_t>(n);
}

// The status text (shim_protocol.hpp) into text; returns its length.
size_t format_status(const Report& report, bool lane_ends, bool output_cut, char* text,
                     size_t size) {
    size_t used = 0;
    append_line(text, size, used, shim::k_status_magic);
    if (report.ended) {
        if (WIFSIGNALED(report.command_status)) {
            append(text, size, used, shim::k_key_signal, WTERMSIG(report.command_status));
        } else {
            append(text, size, used, shim::k_key_exit, WEXITSTATUS(report.command_status));
        }
    }
    if (report.exec_errno != 0) {
        append(text, size, used, shim::k_key_exec_errno, report.exec_errno);
        append(text, size, used, shim::k_key_exit,
               report.exec_errno == ENOENT ? shim::k_exit_not_found : shim::k_exit_cannot_execute);
    }
    if (report.chdir_errno != 0) {
        append(text, size, used, shim::k_key_chdir_errno, report.chdir_errno);
    }
    if (report.terminated_by != 0) {
        append(text, size, used, shim::k_key_terminated_by, report.terminated_by);
    }
    if (report.leftovers != 0) append(text, size, used, shim::k_key_leftovers, report.leftovers);
    append(text, size, used, shim::k_key_max_rss_kb, report.max_rss_kb);
    append(text, size, used, shim::k_key_user_us, report.user_us);
    append(text, size, used, shim::k_key_system_us, report.system_us);
    if (output_cut) append(text, size, used, shim::k_key_output_cut, 1);
    if (lane_ends) append(text, size, used, shim::k_key_lane_ends, 1);
    append_line(text, size, used, shim::k_key_end);
    return used > size ? size : used;
}

// A shim started for one stage leaves its status in a file (atomically: FILE.tmp, then
// rename), written last, after the whole tree was reaped.
void write_status_file(const char* path, const Report& report) {
    char text[1024];
    size_t used = format_status(report, false, false, text, sizeof text);
    char temp[PATH_MAX];
    if (snprintf(temp, sizeof temp, "%s.tmp", path) >= static_cast<int>(sizeof temp)) {
        complain(STDERR_FILENO, "status file path too long: ", path);
        return;
    }
    int fd = ::open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        complain(STDERR_FILENO, "cannot write the status file ", temp, ": ", strerror(errno));
        return;
    }
    write_all(fd, text, used);
    ::close(fd);
    if (rename(temp, path) != 0) {
        complain(STDERR_FILENO, "cannot write the status file ", path, ": ", strerror(errno));
    }
}

void send_datagram(int socket, const char* text, size_t size) {
    while (send(socket, text, size, MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
}

// What the runner gets when a stage could not even be started by the server or a lane.
void send_spawn_failure(int socket, int error) {
    char text[256];
    size_t used = 0;
    memcpy(text, shim::k_datagram_status.data(), shim::k_datagram_status.size());
    used = shim::k_datagram_status.size();
    text[used++] = '\0';
    append_line(text, sizeof text, used, shim::k_status_magic);
    append(text, sizeof text, used, shim::k_key_spawn_errno, error);
    append(text, sizeof text, used, shim::k_key_lane_ends, 1);
    append_line(text, sizeof text, used, shim::k_key_end);
    send_datagram(socket, text, used > sizeof text ? sizeof text : used);
}

int exit_code_of(const Report& report) {
    if (report.chdir_errno != 0) return shim::k_exit_cannot_execute;
    if (report.exec_errno != 0) {
        return report.exec_errno == ENOENT ? shim::k_exit_not_found : shim::k_exit_cannot_execute;
    }
    if (WIFSIGNALED(report.command_status)) return 128 + WTERMSIG(report.command_status);
    return WEXITSTATUS(report.command_status);
}

// ---- setting up ----

// Puts the process in the state every stage starts from; returns the signals the shim takes
// synchronously (blocked, then read from a signalfd).
sigset_t prepare_process() {
    // Start the stage from a clean slate: ignored signals survive exec (a runner started under
    // nohup, or one that ignores SIGPIPE, would otherwise pass that on to every stage).
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &default_action, nullptr);
    }
    // The shim must live to write its status even when the runner closed the pipes.
    signal(SIGPIPE, SIG_IGN);
    // Signals are taken synchronously: no handlers, no races with waitpid.
    sigset_t handled;
    sigemptyset(&handled);
    sigaddset(&handled, SIGCHLD);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGINT);
    sigaddset(&handled, SIGHUP);
    sigprocmask(SIG_SETMASK, &handled, nullptr);
    // Its own process group (the executor normally made it already, between fork and exec).
    // Not a new session: setsid() also creates a scheduler autogroup (CONFIG_SCHED_AUTOGROUP),
    // which measured ~3 ms per stage on a busy machine, and the chain benchmark against ninja
    // pays that on every stage. What a session would add is handled here and by the
    // subreaper: leaving the terminal, and keeping processes that leave the group.
    if (getpgrp() != getpid()) setpgid(0, 0);
    leave_terminal();
    return handled;
}

// Arms what ties the shim to its parent (the runner, or the fork server); false when the
// parent is already gone.
bool tie_to_parent(pid_t parent) {
    // Orphans of the tree come to the shim instead of init, so none escapes.
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    // When the parent dies, even by SIGKILL, the shim is told to end the tree...
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    // ...unless it died before that was armed.
    return parent <= 0 || getppid() == parent;
}

// A shim started for one stage: runs it to its end and writes the status file; returns the
// shim's exit status.
int run_one_stage(const Options& options, const sigset_t& handled) {
    Channel channel;
    channel.signals = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
    if (channel.signals < 0) {
        complain(STDERR_FILENO, "signalfd: ", strerror(errno));
        return shim::k_exit_usage;
    }
    Launch launch{options.command, options.cwd};
    Report report;
    pid_t command = start_command(launch, report);
    if (command < 0) {
        explain_start_failure(STDERR_FILENO, launch, report);
    } else {
        supervise(command, options.grace_ms, channel, report);
    }
    write_status_file(options.status_path, report);
    return exit_code_of(report);
}

// ---- lanes ----

// Fills a null-terminated array with the next `count` fields (malloc; nullptr when the request
// is short).
char** take_list(Fields& fields, long count) {
    auto** list = static_cast<char**>(malloc(sizeof(char*) * static_cast<size_t>(count + 1)));
    if (list == nullptr) return nullptr;
    for (long i = 0; i < count; ++i) {
        list[i] = fields.next();
        if (list[i] == nullptr) {
            free(list);
            return nullptr;
        }
    }
    list[count] = nullptr;
    return list;
}

// A "run" request after its verb: ID GRACE_MS DRAIN_MS CWD ARGC ARG... ENVC NAME=VALUE...
struct StageRequest {
    unsigned long long id = 0;
    long grace_ms = 0;
    long drain_ms = 0;
    const char* cwd = nullptr;
    char** argv = nullptr;  // malloc'd lists pointing into the request
    char** env = nullptr;

    StageRequest() = default;
    StageRequest(const StageRequest&) = delete;
    StageRequest& operator=(const StageRequest&) = delete;
    ~StageRequest() {
        free(argv);
        free(env);
    }
};

bool parse_stage_request(Fields& fields, StageRequest& request) {
    char* id = fields.next();
    char* grace = fields.next();
    char* drain = fields.next();
    request.cwd = fields.next();
    char* argc_text = fields.next();
    long number = 0;
    long argc = 0;
    if (id == nullptr || !parse_number(id, number) || grace == nullptr ||
        !parse_number(grace, request.grace_ms) || drain == nullptr ||
        !parse_number(drain, request.drain_ms) || request.cwd == nullptr || argc_text == nullptr ||
        !parse_number(argc_text, argc) || argc < 1) {
        return false;
    }
    request.id = static_cast<unsigned long long>(number);
    request.argv = take_list(fields, argc);
    char* envc_text = fields.next();
    long envc = 0;
    if (request.argv == nullptr || envc_text == nullptr || !parse_number(envc_text, envc)) {
        return false;
    }
    request.env = take_list(fields, envc);
    return request.env != nullptr;
}

// The stage's stdout and stderr: a pipe each, the read ends kept by the relay, the write ends
// returned for the command. False when out of descriptors.
bool open_output(Relay& relay, int write_ends[2]) {
    for (int i = 0; i < 2; ++i) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) {
            for (int j = 0; j < i; ++j) {
                ::close(relay.fds[j]);
                ::close(write_ends[j]);
                relay.fds[j] = -1;
            }
            return false;
        }
        relay.fds[i] = fds[0];
        write_ends[i] = fds[1];
    }
    relay.pending = 0;
    relay.cut = false;
    return true;
}

// Starts the request's command and supervises its tree while relaying its output.
void run_command(Channel& channel, const StageRequest& request, Report& report) {
    int write_ends[2];
    if (!open_output(*channel.relay, write_ends)) {
        report.exec_errno = errno;
        return;
    }
    // execvp looks the command up in the PATH of this environment, the stage's; nothing of an
    // earlier stage's survives, since the whole array is the request's.
    static char* no_environment[] = {nullptr};
    environ = request.env;
    Launch launch{request.argv, request.cwd, write_ends[0], write_ends[1], true};
    pid_t command = start_command(launch, report);
    environ = no_environment;
    if (command < 0) explain_start_failure(write_ends[1], launch, report);
    // Only the command's tree holds the write ends now: EOF comes when it is gone.
    ::close(write_ends[0]);
    ::close(write_ends[1]);
    if (command >= 0) supervise(command, request.grace_ms, channel, report);
    drain_output(channel, request.drain_ms);
}

// Runs one stage in a lane, from a "run" request, and sends the status back after the last of
// its output. The lane is the stage's subreaper; the command leads its own process group.
void run_lane_stage(Channel& channel, char* data, size_t size) {
    Fields fields(data, size);
    fields.next();  // the verb
    StageRequest request;
    if (!parse_stage_request(fields, request)) {
        send_spawn_failure(channel.control, EINVAL);
        channel.closing = true;
        return;
    }
    channel.stage = request.id;
    Report report;
    run_command(channel, request, report);
    if (channel.control < 0) return;
    char* text = channel.relay->datagram;
    size_t size_left = sizeof channel.relay->datagram;
    size_t header = shim::k_datagram_status.size() + 1;
    memcpy(text, shim::k_datagram_status.data(), shim::k_datagram_status.size());
    text[header - 1] = '\0';
    size_t used = format_status(report, channel.closing, channel.relay->cut, text + header,
                                size_left - header);
    send_datagram(channel.control, text, header + used);
}

// Waits until the lane's socket has a request; false when the lane must end instead (told to
// by a signal, or the runner closed its end).
bool wait_for_request(Channel& channel) {
    for (;;) {
        if (channel.closing || channel.control < 0) return false;
        pollfd waits[2] = {{channel.signals, POLLIN, 0}, {channel.control, POLLIN, 0}};
        if (poll(waits, 2, -1) <= 0) continue;  // EINTR
        if (waits[0].revents != 0) {
            read_signals(channel);
            Report ignored;
            reap_children(0, ignored);  // an idle lane has no children; just in case
        }
        if (waits[1].revents != 0 && !channel.closing) return true;
    }
}

// A lane spends its life waking up for short moments (a request, the command's exit) while the
// CPUs run commands; with the default slice (0.7 ms × log CPUs) such a wake-up often waits
// that long behind a command that just started. A short slice (EEVDF, Linux 6.12+; older
// kernels take the call and ignore the slice) lets it run at once. SCHED_RESET_ON_FORK gives
// its children, commands included, the default slice back from their first instant (it would
// also reset a negative nice, so a lane with one keeps the default slice).
void shorten_slice() {
    SchedAttr attr{};
    if (syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) != 0) return;
    if ((attr.sched_policy != SCHED_OTHER && attr.sched_policy != SCHED_BATCH) ||
        attr.sched_nice < 0) {
        return;
    }
    attr.size = sizeof attr;
    attr.sched_flags = k_sched_flag_reset_on_fork;
    attr.sched_runtime = shim::k_lane_slice_ns;
    syscall(SYS_sched_setattr, 0, &attr, 0);
}

// A lane: forked by the server for one socket of the runner's, it runs the stages the runner
// sends there one after the other, until the runner closes its end or a signal ends it.
[[noreturn]] void run_lane(int control, int signals, int dev_null, pid_t server) {
    // A group of its own, so that a SIGKILL to the server's group spares the lanes, which then
    // end their stages' trees on PDEATHSIG.
    setpgid(0, 0);
    if (!tie_to_parent(server) || dup2(dev_null, STDIN_FILENO) < 0) _exit(shim::k_exit_usage);
    ::close(dev_null);  // the lane's stdin, stdout and stderr are all /dev/null now
    shorten_slice();
    static Relay relay;
    Channel channel;
    channel.signals = signals;
    channel.control = control;
    channel.relay = &relay;
    static char request[shim::k_max_request];
    while (wait_for_request(channel)) {
        int fds[1];
        int fd_count = 0;
        bool truncated = false;
        ssize_t n = receive(channel.control, request, sizeof request, fds, 0, fd_count, truncated);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (n <= 0) break;  // the runner closed its end
        Fields fields(request, static_cast<size_t>(n));
        char* verb = fields.next();
        bool is_run = verb != nullptr && std::string_view(verb) == shim::k_request_run;
        // A late "term" for a stage already over is normal; a run we cannot take is not.
        if (!is_run) continue;
        if (truncated) {
            send_spawn_failure(channel.control, E2BIG);
            break;
        }
        run_lane_stage(channel, request, static_cast<size_t>(n));
    }
    _exit(0);
}

// ---- the fork server ----

struct ServedLane {
    unsigned long long id;
    pid_t pid;
};

void signal_lanes(Array<ServedLane>& lanes, int sig) {
    for (ServedLane& lane : lanes) kill(lane.pid, sig);
}

// The last resort for a lane that did not end its stage in time (stopped, say): SIGKILL for
// the whole tree below it, then for the lane. Only lanes not reaped yet are in `lanes`, so a
// pid is never reused under us.
void kill_lane(Array<ServedLane>& lanes, unsigned long long id) {
    for (ServedLane& lane : lanes) {
        if (lane.id != id) continue;
        kill_tree(lane.pid);
        kill(lane.pid, SIGKILL);
    }
}

void reap_lanes(Array<ServedLane>& lanes) {
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno == EINTR) continue;
        if (pid <= 0) return;
        size_t kept = 0;
        for (size_t i = 0; i < lanes.size(); ++i) {
            if (lanes[i].pid != pid) lanes[kept++] = lanes[i];
        }
        lanes.truncate(kept);
    }
}

struct Server {
    int control = STDIN_FILENO;
    int signals = -1;
    int dev_null = -1;
    pid_t self = 0;
    Array<ServedLane> lanes;
    bool closing = false;
};

void close_server(Server& server) {
    if (server.closing) return;
    server.closing = true;
    signal_lanes(server.lanes, SIGTERM);
}

// "lane ID" with the lane's socket: forks the lane (no exec).
void start_lane(Server& server, unsigned long long id, int socket) {
    pid_t pid = fork();
    if (pid == 0) run_lane(socket, server.signals, server.dev_null, server.self);
    if (pid < 0) {
        send_spawn_failure(socket, errno);
    } else {
        server.lanes.push(ServedLane{id, pid});
    }
}

void handle_request(Server& server) {
    char data[256];
    int fds[1] = {-1};
    int fd_count = 0;
    bool truncated = false;
    ssize_t n = receive(server.control, data, sizeof data, fds, 1, fd_count, truncated);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
        // The runner closed its end (it is ending, or died): end every lane.
        close_server(server);
        return;
    }
    Fields fields(data, static_cast<size_t>(n));
    char* verb = fields.next();
    char* id_text = fields.next();
    long id = 0;
    if (!truncated && verb != nullptr && id_text != nullptr && parse_number(id_text, id)) {
        std::string_view what = verb;
        if (what == shim::k_request_lane && fd_count == 1) {
            start_lane(server, static_cast<unsigned long long>(id), fds[0]);
        } else if (what == shim::k_request_kill) {
            kill_lane(server.lanes, static_cast<unsigned long long>(id));
        }
    }
    for (int i = 0; i < fd_count; ++i) ::close(fds[i]);
}

// The fork server: one per runner, started once; forks a lane for each socket the runner
// sends, which saves an exec per lane and keeps the forks off the stages' path. Single-
// threaded, so forking it is safe.
int serve(const Options& options, const sigset_t& handled) {
    if (!tie_to_parent(static_cast<pid_t>(options.parent_pid))) return shim::k_exit_usage;
    // The server itself is no subreaper: only the lanes are.
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    Server server;
    server.self = getpid();
    // Shared with the lanes (a signalfd reads the signals of whoever reads it).
    server.signals = signalfd(-1, &handled, SFD_CLOEXEC | SFD_NONBLOCK);
    server.dev_null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (server.signals < 0 || server.dev_null < 0) return shim::k_exit_usage;
    for (;;) {
        if (server.closing && server.lanes.size() == 0) return 0;
        pollfd waits[2] = {{server.signals, POLLIN, 0}, {server.control, POLLIN, 0}};
        if (poll(waits, server.closing ? 1 : 2, -1) < 0) continue;  // EINTR
        if (waits[0].revents != 0) {
            Channel channel;
            channel.signals = server.signals;
            // SIGTERM, SIGINT, SIGHUP: the runner is going (PDEATHSIG, or asked to).
            if (read_signals(channel) != 0) close_server(server);
            reap_lanes(server.lanes);
        }
        if (!server.closing && waits[1].revents != 0) handle_request(server);
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (!parse_options(argc, argv, options)) {
        complain(STDERR_FILENO,
                 "usage: sluice-shim --status FILE [--grace-ms N] [--parent-pid PID] "
                 "[--cwd DIR] -- COMMAND [ARG]...\n"
                 "       sluice-shim --serve [--parent-pid PID]   (requests on stdin)");
        return shim::k_exit_usage;
    }
    sigset_t handled = prepare_process();
    if (options.serve) return serve(options, handled);
    if (!tie_to_parent(static_cast<pid_t>(options.parent_pid))) {
        complain(STDERR_FILENO, "the runner is gone; not starting ", options.command[0]);
        return shim::k_exit_usage;
    }
    return run_one_stage(options, handled);
}
