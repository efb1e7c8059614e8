// Starting commands for tests: fork+exec with output to temporary files.
#include "runner/testing/command.hpp"

#include <fcntl.h>
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

int spawn(const std::vector<std::string>& argv, const CommandOptions& options,
          const std::filesystem::path& out, const std::filesystem::path& err) {
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
        int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
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
    r.out = read_file(out);
    r.err = read_file(err);
    std::error_code ec;
    std::filesystem::remove(out, ec);
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

std::string sluice_binary() { return (build_dir() / "sluice").string(); }

}  // namespace sluice::testing
