// sluice-shim: the process every stage command runs under, so that a stage is always a whole
// process tree the runner can end: the shim leads its own process group and is a child
// subreaper, so background jobs, double-forked daemons and processes that called setsid() stay
// its descendants; it forwards termination to all of them, kills what the command left behind,
// and reports how the command ended and what the tree used. It runs either for one stage, or
// as the runner's fork server that forks such a shim per stage without exec. Protocol:
// runner/exec/shim_protocol.hpp.
//
// Deliberately tiny: libc only, single-threaded, no heap on the normal path, no iostreams, so
// its start-up and teardown add little to each stage. The process table is only scanned when
// something must be signalled (termination, or leftovers when the command ended).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
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
    int status_fd = -1;  // a stage of the fork server reports here instead
    long grace_ms = shim::k_default_grace_ms;
    long parent_pid = 0;
    const char* cwd = nullptr;
    char** command = nullptr;  // null-terminated, like argv
};

// What goes into the status file.
struct Report {
    bool ended = false;  // the command ran and was reaped: command_status is meaningful
    int command_status = 0;
    int exec_errno = 0;
    int chdir_errno = 0;
    int terminated_by = 0;
    long leftovers = 0;
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

// Messages go to the stage's stderr, so they land in the stage's log where the user looks.
void complain(const char* a, const char* b = "", const char* c = "", const char* d = "") {
    char text[1024];
    int n = snprintf(text, sizeof text, "sluice: %s%s%s%s\n", a, b, c, d);
    if (n <= 0) return;
    size_t size = static_cast<size_t>(n) < sizeof text ? static_cast<size_t>(n) : sizeof text - 1;
    write_all(STDERR_FILENO, text, size);
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
    bool in_tree;  // a descendant of the shim
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

// Fills tree with every descendant of self. Orphans of the tree were reparented to the shim
// (subreaper), so following parent links from self finds them all, including processes that
// left the shim's session or process group.
void find_descendants(pid_t self, Array<ProcEntry>& tree) {
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
            bool parent_in_tree = e.ppid == self;
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

// Asks every live descendant to end; returns how many there were.
long terminate_tree(pid_t self) {
    Array<ProcEntry> tree;
    find_descendants(self, tree);
    for (ProcEntry& e : tree) {
        kill(e.pid, SIGTERM);
        // A stopped process only acts on SIGTERM once continued (systemd does the same).
        kill(e.pid, SIGCONT);
    }
    return static_cast<long>(tree.size());
}

// SIGKILLs the whole tree. Repeats until a scan finds nobody new: a process forked while we
// were scanning shows up in the next scan, and a SIGKILLed process can no longer fork.
void kill_tree(pid_t self) {
    Array<pid_t> killed;
    Array<ProcEntry> tree;
    for (int round = 0; round < 100; ++round) {
        find_descendants(self, tree);
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

// Reaps every child that ended; returns false when the shim has no children left at all.
bool reap_children(pid_t command, Report& report) {
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
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

// Starts the command; returns its pid, or -1 with report.exec_errno set when exec failed.
pid_t start_command(char** command, Report& report) {
    int error_pipe[2];
    if (pipe2(error_pipe, O_CLOEXEC) != 0) {
        report.exec_errno = errno;
        return -1;
    }
    // vfork: the child only sets its signal state and execs, so sharing the shim's memory
    // until then is safe, and it spares copying the page tables for every stage.
    pid_t pid = vfork();
    if (pid < 0) {
        report.exec_errno = errno;
        ::close(error_pipe[0]);
        ::close(error_pipe[1]);
        return -1;
    }
    if (pid == 0) {
        ::close(error_pipe[0]);
        signal(SIGPIPE, SIG_DFL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, nullptr);
        // Should the shim itself be SIGKILLed, the command goes with it (the runner then
        // kills the rest of the group).
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        execvp(command[0], command);
        int error = errno;
        write_all(error_pipe[1], reinterpret_cast<const char*>(&error), sizeof error);
        _exit(shim::k_exit_not_found);
    }
    ::close(error_pipe[1]);
    // EOF (exec succeeded and closed the pipe) or the errno of a failed exec.
    int error = 0;
    ssize_t n;
    do {
        n = ::read(error_pipe[0], &error, sizeof error);
    } while (n < 0 && errno == EINTR);
    ::close(error_pipe[0]);
    if (n == static_cast<ssize_t>(sizeof error)) {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        report.exec_errno = error;
        return -1;
    }
    return pid;
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

void explain_exec_failure(const char* program, int error) {
    if (error == ENOENT && strchr(program, '/') == nullptr) {
        complain(program, ": command not found");
    } else {
        complain("cannot run ", program, ": ", strerror(error));
    }
}

// Waits for the command and everything it started; on a termination request or when the
// command leaves processes behind, ends the tree (SIGTERM, grace, SIGKILL).
void supervise(pid_t command, const Options& options, const sigset_t& handled, Report& report) {
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
            long grace = options.grace_ms < shim::k_leftover_grace_cap_ms
                             ? options.grace_ms
                             : shim::k_leftover_grace_cap_ms;
            deadline = now + grace;
        }
        if (deadline >= 0 && now >= deadline) {
            kill_tree(self);
            phase = Phase::killing;
            deadline = now + k_resweep_ms;
            continue;
        }
        timespec timeout{};
        timespec* wait_for = nullptr;
        if (deadline >= 0) {
            long long left = deadline - now;
            timeout.tv_sec = static_cast<time_t>(left / 1000);
            timeout.tv_nsec = static_cast<long>(left % 1000) * 1000000;
            wait_for = &timeout;
        }
        int sig = sigtimedwait(&handled, nullptr, wait_for);
        if (sig < 0 || sig == SIGCHLD) continue;  // a timeout, EINTR, or a child changed
        // SIGTERM, SIGINT or SIGHUP: the runner's timeout or cancel, or its death (PDEATHSIG).
        if (report.terminated_by == 0) report.terminated_by = sig;
        if (phase == Phase::running) {
            terminate_tree(self);
            phase = Phase::stopping;
            deadline = now_ms() + options.grace_ms;  // `now` is from before the wait
        }
    }
}

void append(char* text, size_t size, size_t& used, std::string_view key, long long value) {
    if (used >= size) return;
    int n = snprintf(text + used, size - used, "%.*s %lld\n", static_cast<int>(key.size()),
                     key.data(), value);
    if (n > 0) used += static_cast<size_t>(n);
}

long long micros(const timeval& tv) {
    return static_cast<long long>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

// Written last, after the whole tree was reaped, so RUSAGE_CHILDREN covers all of it.
void write_status(const Options& options, const Report& report) {
    rusage usage{};
    getrusage(RUSAGE_CHILDREN, &usage);
    char text[1024];
    size_t used = 0;
    used += static_cast<size_t>(snprintf(text, sizeof text, "%.*s\n",
                                         static_cast<int>(shim::k_status_magic.size()),
                                         shim::k_status_magic.data()));
    if (report.ended) {
        if (WIFSIGNALED(report.command_status)) {
            append(text, sizeof text, used, shim::k_key_signal, WTERMSIG(report.command_status));
        } else {
            append(text, sizeof text, used, shim::k_key_exit, WEXITSTATUS(report.command_status));
        }
    }
    if (report.exec_errno != 0) {
        append(text, sizeof text, used, shim::k_key_exec_errno, report.exec_errno);
        append(text, sizeof text, used, shim::k_key_exit,
               report.exec_errno == ENOENT ? shim::k_exit_not_found : shim::k_exit_cannot_execute);
    }
    if (report.chdir_errno != 0) {
        append(text, sizeof text, used, shim::k_key_chdir_errno, report.chdir_errno);
    }
    if (report.terminated_by != 0) {
        append(text, sizeof text, used, shim::k_key_terminated_by, report.terminated_by);
    }
    if (report.leftovers != 0)
        append(text, sizeof text, used, shim::k_key_leftovers, report.leftovers);
    append(text, sizeof text, used, shim::k_key_max_rss_kb, usage.ru_maxrss);
    append(text, sizeof text, used, shim::k_key_user_us, micros(usage.ru_utime));
    append(text, sizeof text, used, shim::k_key_system_us, micros(usage.ru_stime));
    if (used < sizeof text) {
        int n = snprintf(text + used, sizeof text - used, "%.*s\n",
                         static_cast<int>(shim::k_key_end.size()), shim::k_key_end.data());
        if (n > 0) used += static_cast<size_t>(n);
    }
    if (used > sizeof text) used = sizeof text;

    if (options.status_fd >= 0) {
        write_all(options.status_fd, text, used);
        return;
    }
    char temp[PATH_MAX];
    if (snprintf(temp, sizeof temp, "%s.tmp", options.status_path) >=
        static_cast<int>(sizeof temp)) {
        complain("status file path too long: ", options.status_path);
        return;
    }
    int fd = ::open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        complain("cannot write the status file ", temp, ": ", strerror(errno));
        return;
    }
    write_all(fd, text, used);
    ::close(fd);
    if (rename(temp, options.status_path) != 0) {
        complain("cannot write the status file ", options.status_path, ": ", strerror(errno));
    }
}

int exit_code_of(const Report& report) {
    if (report.chdir_errno != 0) return shim::k_exit_cannot_execute;
    if (report.exec_errno != 0) {
        return report.exec_errno == ENOENT ? shim::k_exit_not_found : shim::k_exit_cannot_execute;
    }
    if (WIFSIGNALED(report.command_status)) return 128 + WTERMSIG(report.command_status);
    return WEXITSTATUS(report.command_status);
}

// Puts the process in the state every stage starts from; returns the signals the shim takes
// synchronously (blocked, then read with sigtimedwait or a signalfd).
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

// Arms what ties the stage to its parent (the runner, or the fork server); false when the
// parent is already gone.
bool tie_to_parent(pid_t parent) {
    // Orphans of the tree come to the shim instead of init, so none escapes.
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    // When the parent dies, even by SIGKILL, the shim is told to end the tree...
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    // ...unless it died before that was armed.
    return parent <= 0 || getppid() == parent;
}

// Runs one stage to its end and reports it; returns the shim's exit status.
int run_stage(const Options& options, const sigset_t& handled) {
    Report report;
    if (options.cwd != nullptr && *options.cwd != '\0' && chdir(options.cwd) != 0) {
        report.chdir_errno = errno;
        complain("cannot change to directory ", options.cwd, ": ", strerror(report.chdir_errno));
        write_status(options, report);
        return exit_code_of(report);
    }
    pid_t command = start_command(options.command, report);
    if (command < 0) {
        explain_exec_failure(options.command[0], report.exec_errno);
    } else {
        supervise(command, options, handled, report);
    }
    write_status(options, report);
    return exit_code_of(report);
}

// ---- the fork server ----

struct ServedStage {
    unsigned long long id;
    pid_t pid;
};

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

// Fills a null-terminated array with the next `count` fields (malloc: this runs in a fresh,
// single-threaded child).
char** take_list(Fields& fields, long count) {
    auto** list = static_cast<char**>(malloc(sizeof(char*) * static_cast<size_t>(count + 1)));
    if (list == nullptr) return nullptr;
    for (long i = 0; i < count; ++i) {
        list[i] = fields.next();
        if (list[i] == nullptr) return nullptr;
    }
    list[count] = nullptr;
    return list;
}

// A stage's shim, forked from the server without exec: the same work as a shim started for
// one stage, from the request's fields (after "run" and the id).
[[noreturn]] void serve_stage(Fields fields, int out, int err, int status_fd, int dev_null,
                              pid_t server, const sigset_t& handled) {
    setpgid(0, 0);
    if (!tie_to_parent(server)) _exit(shim::k_exit_usage);
    if (dup2(dev_null, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
        dup2(err, STDERR_FILENO) < 0) {
        _exit(shim::k_exit_usage);
    }
    ::close(out);
    ::close(err);
    ::close(dev_null);
    Options options;
    options.status_fd = status_fd;
    char* grace = fields.next();
    options.cwd = fields.next();
    char* argc_text = fields.next();
    long argc = 0;
    if (grace == nullptr || !parse_number(grace, options.grace_ms) || options.cwd == nullptr ||
        argc_text == nullptr || !parse_number(argc_text, argc) || argc < 1) {
        complain("malformed request from the runner");
        _exit(shim::k_exit_usage);
    }
    options.command = take_list(fields, argc);
    char* envc_text = fields.next();
    long envc = 0;
    if (options.command == nullptr || envc_text == nullptr || !parse_number(envc_text, envc)) {
        complain("malformed request from the runner");
        _exit(shim::k_exit_usage);
    }
    char** env = take_list(fields, envc);
    if (env == nullptr) {
        complain("malformed request from the runner");
        _exit(shim::k_exit_usage);
    }
    // execvp looks the command up in the PATH of this environment, the stage's.
    environ = env;
    int code = run_stage(options, handled);
    // The stage is over for the runner at EOF of these: close them before the exit's
    // teardown, so the runner starts the next stage meanwhile.
    ::close(status_fd);
    ::close(STDOUT_FILENO);
    ::close(STDERR_FILENO);
    _exit(code);
}

void signal_stages(Array<ServedStage>& stages, int sig) {
    for (ServedStage& stage : stages) kill(stage.pid, sig);
}

// Tells the runner a stage could not even be forked, through its status descriptor.
void report_spawn_failure(int status_fd, int error) {
    char text[128];
    int n =
        snprintf(text, sizeof text, "%.*s\n%.*s %d\n%.*s\n",
                 static_cast<int>(shim::k_status_magic.size()), shim::k_status_magic.data(),
                 static_cast<int>(shim::k_key_spawn_errno.size()), shim::k_key_spawn_errno.data(),
                 error, static_cast<int>(shim::k_key_end.size()), shim::k_key_end.data());
    if (n > 0) write_all(status_fd, text, static_cast<size_t>(n));
}

void handle_request(char* data, size_t size, int* fds, int fd_count, int dev_null,
                    const sigset_t& handled, int control, int signals, Array<ServedStage>& stages) {
    Fields fields(data, size);
    char* verb = fields.next();
    char* id_text = fields.next();
    long id = 0;
    if (verb == nullptr || id_text == nullptr || !parse_number(id_text, id)) return;
    std::string_view what = verb;
    if (what == shim::k_request_run) {
        if (fd_count != 3) return;
        pid_t pid = fork();
        if (pid == 0) {
            ::close(control);
            ::close(signals);
            serve_stage(fields, fds[0], fds[1], fds[2], dev_null, getppid(), handled);
        }
        if (pid < 0) {
            report_spawn_failure(fds[2], errno);
        } else {
            stages.push(ServedStage{static_cast<unsigned long long>(id), pid});
        }
        return;
    }
    bool hard = what == shim::k_request_kill;
    if (!hard && what != shim::k_request_term) return;
    // Only stages not reaped yet are signalled, so a pid is never reused under us.
    for (ServedStage& stage : stages) {
        if (stage.id != static_cast<unsigned long long>(id)) continue;
        if (hard) {
            kill(-stage.pid, SIGKILL);
            kill(stage.pid, SIGKILL);
        } else {
            kill(stage.pid, SIGTERM);
        }
    }
}

// The fork server: one per runner, started once; forks a stage's shim for each request, which
// saves an exec per stage (measured: about a millisecond of CPU each on a virtual machine,
// half of a no-op stage). Single-threaded, so forking it is safe.
int serve(const Options& options, const sigset_t& handled) {
    if (!tie_to_parent(static_cast<pid_t>(options.parent_pid))) return shim::k_exit_usage;
    // The server itself is no subreaper: only the stages' shims are.
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    const int control = STDIN_FILENO;
    int signals = signalfd(-1, &handled, SFD_CLOEXEC);
    int dev_null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (signals < 0 || dev_null < 0) return shim::k_exit_usage;
    static char request[shim::k_max_request];
    Array<ServedStage> stages;
    bool closing = false;
    for (;;) {
        if (closing && stages.size() == 0) return 0;
        pollfd waits[2] = {{signals, POLLIN, 0}, {control, POLLIN, 0}};
        int n = poll(waits, closing ? 1 : 2, -1);
        if (n < 0) continue;  // EINTR
        if (waits[0].revents != 0) {
            signalfd_siginfo info{};
            while (::read(signals, &info, sizeof info) < 0 && errno == EINTR) {
            }
            if (info.ssi_signo == SIGCHLD) {
                for (;;) {
                    int status = 0;
                    pid_t pid = waitpid(-1, &status, WNOHANG);
                    if (pid <= 0 && errno == EINTR) continue;
                    if (pid <= 0) break;
                    size_t kept = 0;
                    for (size_t i = 0; i < stages.size(); ++i) {
                        if (stages[i].pid != pid) stages[kept++] = stages[i];
                    }
                    stages.truncate(kept);
                }
            } else if (!closing) {
                // The runner is going (PDEATHSIG, or asked to): end every stage's tree.
                closing = true;
                signal_stages(stages, SIGTERM);
            }
        }
        if (closing || waits[1].revents == 0) continue;
        alignas(cmsghdr) char control_data[CMSG_SPACE(3 * sizeof(int))];
        iovec vector{request, sizeof request};
        msghdr message{};
        message.msg_iov = &vector;
        message.msg_iovlen = 1;
        message.msg_control = control_data;
        message.msg_controllen = sizeof control_data;
        ssize_t size = recvmsg(control, &message, MSG_CMSG_CLOEXEC);
        if (size < 0 && errno == EINTR) continue;
        int fds[3] = {-1, -1, -1};
        int fd_count = 0;
        for (cmsghdr* header = CMSG_FIRSTHDR(&message); header != nullptr;
             header = CMSG_NXTHDR(&message, header)) {
            if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
            size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; ++i) {
                int fd;
                memcpy(&fd, CMSG_DATA(header) + i * sizeof(int), sizeof fd);
                if (fd_count < 3) {
                    fds[fd_count++] = fd;
                } else {
                    ::close(fd);
                }
            }
        }
        if (size <= 0) {
            // The runner closed its end (it is ending, or died): end every stage's tree.
            closing = true;
            signal_stages(stages, SIGTERM);
        } else if ((message.msg_flags & MSG_TRUNC) != 0) {
            if (fd_count == 3) report_spawn_failure(fds[2], E2BIG);
        } else {
            handle_request(request, static_cast<size_t>(size), fds, fd_count, dev_null, handled,
                           control, signals, stages);
        }
        for (int i = 0; i < fd_count; ++i) ::close(fds[i]);
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options options;
    if (!parse_options(argc, argv, options)) {
        complain(
            "usage: sluice-shim --status FILE [--grace-ms N] [--parent-pid PID] "
            "[--cwd DIR] -- COMMAND [ARG]...\n"
            "       sluice-shim --serve [--parent-pid PID]   (requests on stdin)");
        return shim::k_exit_usage;
    }
    sigset_t handled = prepare_process();
    if (options.serve) return serve(options, handled);
    if (!tie_to_parent(static_cast<pid_t>(options.parent_pid))) {
        complain("the runner is gone; not starting ", options.command[0]);
        return shim::k_exit_usage;
    }
    return run_stage(options, handled);
}
