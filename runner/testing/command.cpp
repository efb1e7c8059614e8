// Starting commands for tests: fork+exec with output to temporary files.
#include "runner/testing/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "runner/testing/temp_dir.hpp"

extern char** environ;

namespace sluice::testing {

namespace {

std::filesystem::path temp_name(const char* what) {
    static std::atomic<int> counter{0};
    return std::filesystem::temp_directory_path() /
           ("sluice-cmd-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "." + what);
}

// out_fd >= 0: the command's stdout (a pipe's writing end, closed in the parent by the
// caller), else the file `out`.
int spawn(const std::vector<std::string>& argv, const CommandOptions& options,
          const std::filesystem::path& out, const std::filesystem::path& err, int out_fd = -1) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        std::string entry = *e;
        auto key = entry.substr(0, entry.find('='));
        if (options.env.count(key) == 0) env_strings.push_back(entry);
    }
    for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = argv;
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);

    pid_t pid = fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int o = out_fd >= 0 ? out_fd : open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        signal(SIGPIPE, SIG_DFL);  // as a shell starts a pipeline's commands
        if (!options.cwd.empty() && chdir(options.cwd.c_str()) != 0) _exit(126);
        execvpe(cargv[0], cargv.data(), envp.data());
        _exit(127);
    }
    return pid;
}

CommandResult collect(int pid, const std::filesystem::path& out, const std::filesystem::path& err) {
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    CommandResult r;
    if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
    if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
    r.err = read_file(err);
    std::error_code ec;
    if (!out.empty()) {
        r.out = read_file(out);
        std::filesystem::remove(out, ec);
    }
    std::filesystem::remove(err, ec);
    return r;
}

}  // namespace

CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options) {
    auto out = temp_name("out");
    auto err = temp_name("err");
    return collect(spawn(argv, options, out, err), out, err);
}

Background::Background(const std::vector<std::string>& argv, const CommandOptions& options)
    : out_(temp_name("out")), err_(temp_name("err")) {
    pid_ = spawn(argv, options, out_, err_);
}

Background::~Background() {
    if (!waited_ && pid_ > 0) {
        kill(pid_, SIGKILL);
        wait();
    }
}

CommandResult Background::wait() {
    waited_ = true;
    return collect(pid_, out_, err_);
}

PipedCommand::PipedCommand(const std::vector<std::string>& argv, const CommandOptions& options)
    : err_(temp_name("err")) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    out_fd_ = fds[0];
    pid_ = spawn(argv, options, {}, err_, fds[1]);  // dup2 clears CLOEXEC in the child
    close(fds[1]);
}

PipedCommand::~PipedCommand() {
    if (!waited_ && pid_ > 0) {
        kill(pid_, SIGKILL);
        wait();
    }
    close_output();
}

std::optional<std::string> PipedCommand::read_line(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
            std::string line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            return line;
        }
        if (out_fd_ < 0) return std::nullopt;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        pollfd p{out_fd_, POLLIN, 0};
        int ready = poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) return std::nullopt;
        char chunk[4096];
        ssize_t n = read(out_fd_, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return std::nullopt;  // the end of the output
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
}

void PipedCommand::close_output() {
    if (out_fd_ >= 0) close(out_fd_);
    out_fd_ = -1;
}

CommandResult PipedCommand::wait() {
    waited_ = true;
    std::string rest = std::move(buffer_);
    buffer_.clear();
    if (out_fd_ >= 0) {
        char chunk[4096];
        ssize_t n = 0;
        while ((n = read(out_fd_, chunk, sizeof chunk)) != 0) {
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) break;
            rest.append(chunk, static_cast<std::size_t>(n));
        }
    }
    auto r = collect(pid_, {}, err_);  // stdout was the pipe
    r.out = std::move(rest);
    return r;
}

std::string sluice_binary() { return (build_dir() / "sluice").string(); }

}  // namespace sluice::testing
