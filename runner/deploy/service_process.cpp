// Starting and ending supervised services (Linux).
#include "runner/deploy/service_process.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runner/exec/command_path.hpp"
#include "runner/exec/platform_linux.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::deploy {

util::Result<pid_t> spawn_service(const ServiceLaunch& launch) {
    using util::ErrorCode;
    if (launch.argv.empty()) return util::fail(ErrorCode::bad_input, "the service has no command");
    std::string program = launch.argv.front();
    if (program.find('/') == std::string::npos) {
        std::string path = "/usr/local/bin:/usr/bin:/bin";
        for (const auto& [k, v] : launch.env) {
            if (k == "PATH") path = v;
        }
        auto found = exec::find_in_path(program, path);
        if (!found) {
            return util::fail(ErrorCode::process, "cannot start the service: " + program +
                                                      " is not in its PATH (" + path + ")");
        }
        program = *found;
    } else if (program.front() != '/') {
        program = (launch.cwd / program).string();
    }
    // Everything the child needs is built before fork: it only makes system calls.
    std::vector<char*> argv;
    for (const auto& a : launch.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<std::string> env_text;
    for (const auto& [k, v] : launch.env) env_text.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_text) envp.push_back(e.data());
    envp.push_back(nullptr);

    int log_fd = ::open(launch.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        return util::fail(ErrorCode::io,
                          "cannot open " + launch.log.string() + ": " + std::strerror(errno));
    }
    util::UniqueFd log(log_fd);
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        return util::fail(ErrorCode::process, std::string("pipe: ") + std::strerror(errno));
    }
    util::UniqueFd report_read(pipe_fds[0]);
    util::UniqueFd report_write(pipe_fds[1]);
    pid_t pid = ::fork();
    if (pid < 0)
        return util::fail(ErrorCode::process, std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        ::setsid();
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT}) ::signal(sig, SIG_DFL);
        int null_fd = ::open("/dev/null", O_RDONLY);
        if (null_fd >= 0) ::dup2(null_fd, 0);
        ::dup2(log.get(), 1);
        ::dup2(log.get(), 2);
        exec::platform::mark_cloexec_from(3);
        int err = 0;
        if (::chdir(launch.cwd.c_str()) != 0) {
            err = errno;
        } else {
            ::execve(program.c_str(), argv.data(), envp.data());
            err = errno;
        }
        // Tell the supervisor why, through the pipe (closed on a successful exec).
        [[maybe_unused]] auto n = ::write(report_write.get(), &err, sizeof err);
        ::_exit(127);
    }
    report_write.reset();
    int err = 0;
    ssize_t n;
    while ((n = ::read(report_read.get(), &err, sizeof err)) < 0 && errno == EINTR) {
    }
    if (n == static_cast<ssize_t>(sizeof err)) {
        int status = 0;
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        bool cwd_missing = !std::filesystem::is_directory(launch.cwd);
        return util::fail(ErrorCode::process,
                          "cannot start the service " +
                              (cwd_missing ? "in " + launch.cwd.string() : program) + ": " +
                              std::strerror(err));
    }
    return pid;
}

void signal_group(pid_t pgid, int sig) {
    if (pgid > 1) ::kill(-pgid, sig);
}

bool group_exists(pid_t pgid) { return pgid > 1 && (::kill(-pgid, 0) == 0 || errno == EPERM); }

util::Result<int> pick_free_port() {
    util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return util::fail(util::ErrorCode::io, std::string("socket: ") + std::strerror(errno));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t size = sizeof address;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &size) != 0) {
        return util::fail(util::ErrorCode::io,
                          std::string("cannot pick a free port: ") + std::strerror(errno));
    }
    return static_cast<int>(ntohs(address.sin_port));
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char* name = sigabbrev_np(sig);
        return "was killed by signal " + std::to_string(sig) +
               (name != nullptr ? std::string(" (SIG") + name + ")" : std::string());
    }
    return "stopped";
}

}  // namespace sluice::deploy
