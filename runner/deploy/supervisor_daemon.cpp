// Starting the deploy supervisor as a daemon: detached from whoever started it (a new
// session, reparented to init), no inherited descriptors, its output in
// STATE/deploy/supervisor.log, its pid in STATE/deploy/supervisor.pid.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <thread>

#include "runner/deploy/supervisor.hpp"
#include "runner/deploy/supervisor_protocol.hpp"
#include "runner/exec/platform_linux.hpp"
#include "runner/util/atomic_file.hpp"

extern char** environ;

namespace sluice::deploy {

namespace {

volatile int g_stop = 0;

void on_stop_signal(int) { g_stop = 1; }

void say(int fd, std::string_view text) {
    if (fd >= 0) [[maybe_unused]]
        auto n = ::write(fd, text.data(), text.size());
}

// The daemon proper. ready_fd (or -1) hears "ok", "running" or an error, then is closed.
int serve(const std::filesystem::path& state_dir, int ready_fd) {
    auto root = deploy_root(state_dir);
    std::error_code ec;
    std::filesystem::create_directories(root, ec);
    auto listener = listen_on(supervisor_address(state_dir));
    if (!listener) {
        bool running = listener.error().code == util::ErrorCode::conflict;
        say(ready_fd, running ? "running" : "cannot listen: " + listener.error().message);
        return running ? 0 : 1;
    }
    // A service whose parent dies is reparented here, so its whole tree can be reaped.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGTERM, &action, nullptr);
    ::sigaction(SIGINT, &action, nullptr);
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGPIPE, SIG_IGN);
    (void)util::write_file_atomically(root / "supervisor.pid", std::to_string(::getpid()) + "\n");
    std::cerr << "supervisor: pid " << ::getpid() << " for " << state_dir.string() << std::endl;
    say(ready_fd, "ok");
    if (ready_fd >= 0) ::close(ready_fd);
    {
        Supervisor supervisor({state_dir}, std::move(*listener));
        supervisor.run(g_stop);
    }
    std::filesystem::remove(root / "supervisor.pid", ec);
    return 0;
}

}  // namespace

int run_supervisor_daemon(const std::filesystem::path& state_dir_in, bool detach) {
    std::error_code ec;
    auto state_dir = std::filesystem::absolute(state_dir_in, ec);
    if (ec) state_dir = state_dir_in;
    if (!detach) return serve(state_dir, -1);

    std::filesystem::create_directories(deploy_root(state_dir), ec);
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        std::cerr << "sluice: pipe: " << std::strerror(errno) << "\n";
        return 1;
    }
    pid_t child = ::fork();
    if (child < 0) {
        std::cerr << "sluice: fork: " << std::strerror(errno) << "\n";
        return 1;
    }
    if (child == 0) {
        ::close(pipe_fds[0]);
        ::setsid();
        pid_t daemon = ::fork();
        if (daemon != 0) ::_exit(daemon < 0 ? 1 : 0);  // the daemon is reparented to init
        // Nothing of the starter's but the pipe: a runner's descriptors (its fork server's
        // socket, ...) must not be kept open by a process that outlives it.
        int ready = ::fcntl(pipe_fds[1], F_DUPFD_CLOEXEC, 3);
        for (int fd = 3; fd < 1024; ++fd) {
            if (fd != ready) ::close(fd);
        }
        exec::platform::mark_cloexec_from(3);
        int null_fd = ::open("/dev/null", O_RDWR);
        if (null_fd >= 0) ::dup2(null_fd, 0);
        auto log = deploy_root(state_dir) / "supervisor.log";
        int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (log_fd >= 0) {
            ::dup2(log_fd, 1);
            ::dup2(log_fd, 2);
            ::close(log_fd);
        }
        if (null_fd > 2) ::close(null_fd);
        [[maybe_unused]] int r = ::chdir("/");
        ::_exit(serve(state_dir, ready));
    }
    ::close(pipe_fds[1]);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    std::string answer;
    char buffer[512];
    while (true) {
        pollfd p{pipe_fds[0], POLLIN, 0};
        int r = ::poll(&p, 1, 10'000);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        ssize_t n = ::read(pipe_fds[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        answer.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(pipe_fds[0]);
    if (answer == "ok" || answer == "running") return 0;
    std::cerr << "sluice: the deploy supervisor did not start: "
              << (answer.empty() ? "see " + (deploy_root(state_dir) / "supervisor.log").string()
                                 : answer)
              << "\n";
    return 1;
}

util::Status ensure_supervisor(const std::filesystem::path& state_dir,
                               const std::filesystem::path& sluice_exe) {
    if (auto client = SupervisorClient::connect(state_dir); client) return {};
    std::error_code ec;
    std::filesystem::create_directories(deploy_root(state_dir), ec);
    auto log = (deploy_root(state_dir) / "supervisor.log").string();
    std::vector<std::string> args = {sluice_exe.string(), "--state",    state_dir.string(),
                                     "internal",          "supervisor", "--detach"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    int spawned = ::posix_spawn(&pid, args[0].c_str(), &actions, &attributes, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    if (spawned != 0) {
        return util::fail(util::ErrorCode::process, "cannot start the deploy supervisor: " +
                                                        std::string(std::strerror(spawned)));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return util::fail(util::ErrorCode::process,
                          "the deploy supervisor did not start (see " + log + ")");
    }
    return {};
}

}  // namespace sluice::deploy
