// MlflowTestServer: fork + exec of /usr/bin/python3 with stdout on a pipe; the first line
// the script prints is its port. Teardown is SIGKILL + waitpid.
#include "runner/testing/mlflow_test_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "runner/util/unique_fd.hpp"

namespace sluice::testing {

namespace {

constexpr auto k_start_timeout = std::chrono::seconds(10);

const char* python() {
    const char* env = std::getenv("SLUICE_PYTHON3");
    return env != nullptr && *env != '\0' ? env : "/usr/bin/python3";
}

// Reads stdout up to the first newline, waiting at most until the deadline.
std::string read_first_line(int fd) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + k_start_timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return line;
        pollfd p{fd, POLLIN, 0};
        int n = ::poll(&p, 1, static_cast<int>(left.count()));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return line;
        char c = 0;
        ssize_t got = ::read(fd, &c, 1);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0 || c == '\n') return line;
        line += c;
    }
}

}  // namespace

std::filesystem::path mlflow_test_server_script() {
    if (const char* env = std::getenv("SLUICE_MLFLOW_TEST_SERVER"); env != nullptr && *env) {
        return env;
    }
    // This file is runner/testing/mlflow_test_server.cpp of the source tree.
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "tests" /
           "mlflow_server" / "mlflow_test_server.py";
}

MlflowTestServer::MlflowTestServer(MlflowServerOptions options) {
    auto script = mlflow_test_server_script();
    if (!std::filesystem::exists(script)) {
        error_ = "the MLflow test server script is missing: " + script.string();
        return;
    }
    if (::access(python(), X_OK) != 0) {
        error_ = std::string("no python3 at ") + python() + " to run the MLflow test server";
        return;
    }
    std::vector<std::string> args = {python(), script.string()};
    if (!options.seed_json.empty()) {
        static std::atomic<int> counter{0};
        seed_file_ = std::filesystem::temp_directory_path() /
                     ("sluice-mlflow-seed-" + std::to_string(::getpid()) + "-" +
                      std::to_string(counter++) + ".json");
        std::ofstream(seed_file_) << options.seed_json;
        args.insert(args.end(), {"--seed", seed_file_.string()});
    }
    if (options.html) args.emplace_back("--html");
    if (options.hang) args.emplace_back("--hang");
    if (options.fail_first > 0) {
        args.insert(args.end(), {"--fail-first", std::to_string(options.fail_first)});
    }
    if (!options.require_token.empty()) {
        args.insert(args.end(), {"--require-token", options.require_token});
    }
    if (!options.require_basic.empty()) {
        args.insert(args.end(), {"--require-basic", options.require_basic});
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
        error_ = "pipe2 failed";
        return;
    }
    util::UniqueFd read_end(pipe_fds[0]);
    util::UniqueFd write_end(pipe_fds[1]);
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
        error_ = "fork failed";
        return;
    }
    if (pid_ == 0) {
        // Only async-signal-safe calls until exec.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) _exit(127);
        ::dup2(write_end.get(), STDOUT_FILENO);
        int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (null >= 0) ::dup2(null, STDIN_FILENO);
        ::execv(argv[0], argv.data());
        _exit(127);
    }
    write_end.reset();
    std::string line = read_first_line(read_end.get());
    try {
        port_ = line.empty() ? 0 : std::stoi(line);
    } catch (const std::exception&) {
        port_ = 0;
    }
    if (port_ <= 0) error_ = "the MLflow test server did not print its port (got \"" + line + "\")";
}

MlflowTestServer::~MlflowTestServer() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
    if (!seed_file_.empty()) {
        std::error_code ec;
        std::filesystem::remove(seed_file_, ec);
    }
}

std::string MlflowTestServer::uri() const { return "http://127.0.0.1:" + std::to_string(port_); }

int free_port() {
    util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return 0;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return 0;
    socklen_t length = sizeof address;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length);
    return ntohs(address.sin_port);
}

std::string down_uri() { return "http://127.0.0.1:" + std::to_string(free_port()); }

}  // namespace sluice::testing
