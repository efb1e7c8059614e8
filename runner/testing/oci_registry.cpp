// OciTestRegistry: fork + exec of docker-registry (PR_SET_PDEATHSIG, so it dies with
// the test), readiness by polling GET /v2/ over a raw socket, and the flaky front as a
// thread per connection pumping bytes with poll().
#include "runner/testing/oci_registry.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "runner/testing/command.hpp"
#include "runner/testing/mlflow_test_server.hpp"

namespace sluice::testing {

namespace {

constexpr const char* k_registry = "/usr/bin/docker-registry";
constexpr auto k_start_timeout = std::chrono::seconds(15);

util::UniqueFd connect_to(int port) {
    util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return {};
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) return {};
    return fd;
}

// The status of GET /v2/, or 0 when nothing answers.
int probe(int port) {
    auto fd = connect_to(port);
    if (!fd) return 0;
    std::string request = "GET /v2/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) < 0) return 0;
    char buffer[64] = {};
    pollfd p{fd.get(), POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) return 0;
    ssize_t n = ::recv(fd.get(), buffer, sizeof buffer - 1, 0);
    if (n < 12 || std::strncmp(buffer, "HTTP/1.", 7) != 0) return 0;
    return std::atoi(buffer + 9);
}

// Copies bytes both ways until either side closes or the test ends.
void pump(util::UniqueFd client, util::UniqueFd backend, const std::atomic<bool>& stopping) {
    char buffer[1 << 16];
    pollfd fds[2] = {{client.get(), POLLIN, 0}, {backend.get(), POLLIN, 0}};
    while (!stopping.load()) {
        int n = ::poll(fds, 2, 100);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return;
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t got = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
            if (got <= 0) return;
            int to = fds[1 - i].fd;
            for (ssize_t sent = 0; sent < got;) {
                ssize_t w = ::send(to, buffer + sent, static_cast<std::size_t>(got - sent), MSG_NOSIGNAL);
                if (w <= 0) return;
                sent += w;
            }
        }
    }
}

// Reads a request's head (what a 503 needs before it is sent), at most a second.
void read_head(int fd) {
    std::string head;
    char buffer[4096];
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (head.find("\r\n\r\n") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
        if (n <= 0) return;
        head.append(buffer, static_cast<std::size_t>(n));
    }
}

std::string bcrypt_line(const std::string& user, const std::string& password) {
    // htpasswd (apache2-utils) when installed, else Python's crypt (it has $2b$ here).
    // Cost 4, the lowest: the registry checks the hash on every request.
    if (::access("/usr/bin/htpasswd", X_OK) == 0) {
        auto r = run_command({"/usr/bin/htpasswd", "-Bbn", "-C", "4", user, password});
        if (r.exit_code == 0) return r.out.substr(0, r.out.find('\n'));
    }
    auto r = run_command({"/usr/bin/python3", "-W", "ignore", "-c",
                          "import crypt, sys; print(sys.argv[1] + ':' + crypt.crypt(sys.argv[2], "
                          "crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))",
                          user, password});
    if (r.exit_code != 0 || r.out.find("$2") == std::string::npos) return "";
    return r.out.substr(0, r.out.find('\n'));
}

}  // namespace

std::string missing_registry_tools() {
    if (::access(k_registry, X_OK) != 0) return "docker-registry is not installed (apt install docker-registry)";
    if (::access("/usr/bin/skopeo", X_OK) != 0) return "skopeo is not installed (apt install skopeo)";
    return "";
}

OciTestRegistry::OciTestRegistry(OciRegistryOptions options) {
    error_ = missing_registry_tools();
    if (!error_.empty()) return;
    // A port picked free may be taken by someone else before the registry binds it: try again.
    for (int attempt = 0; attempt < 3; ++attempt) {
        error_.clear();
        if (start_registry(options)) break;
    }
    if (error_.empty() && options.fail_first > 0) start_front(options.fail_first);
}

bool OciTestRegistry::start_registry(const OciRegistryOptions& options) {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    port_ = free_port();
    std::string config = "version: 0.1\n"
                         "log:\n  level: info\n  accesslog:\n    disabled: false\n"
                         "storage:\n  filesystem:\n    rootdirectory: " + (dir_ / "storage").string() +
                         "\n  delete:\n    enabled: true\n"
                         "http:\n  addr: 127.0.0.1:" + std::to_string(port_) +
                         "\n  secret: sluice-test-secret\n";
    if (!options.user.empty()) {
        std::string line = bcrypt_line(options.user, options.password);
        if (line.empty()) {
            error_ = "cannot make a bcrypt htpasswd file (no htpasswd, no python3 crypt)";
            return true;  // trying again will not help
        }
        dir_.write("htpasswd", line + "\n");
        config += "auth:\n  htpasswd:\n    realm: sluice-test\n    path: " + (dir_ / "htpasswd").string() + "\n";
    }
    auto config_file = dir_.write("config.yml", config);
    auto log_file = dir_ / "registry.log";
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
        error_ = "fork failed";
        return true;
    }
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) _exit(127);
        int log = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (log >= 0) {
            ::dup2(log, STDOUT_FILENO);
            ::dup2(log, STDERR_FILENO);
        }
        if (null >= 0) ::dup2(null, STDIN_FILENO);
        ::execl(k_registry, k_registry, "serve", config_file.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + k_start_timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = probe(port_);
        if (status == 200 || status == 401) return true;
        int wstatus = 0;
        if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
            pid_ = -1;
            error_ = "docker-registry exited at start: " + read_file(log_file).substr(0, 500);
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    error_ = "docker-registry did not answer /v2/ within 15 s";
    return false;
}

void OciTestRegistry::start_front(int fail_first) {
    fail_first_ = fail_first;
    front_listener_ = util::UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!front_listener_ ||
        ::bind(front_listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(front_listener_.get(), 64) != 0) {
        error_ = "cannot listen for the flaky front";
        return;
    }
    socklen_t length = sizeof address;
    ::getsockname(front_listener_.get(), reinterpret_cast<sockaddr*>(&address), &length);
    front_port_ = ntohs(address.sin_port);
    front_thread_ = std::thread([this] { serve_front(); });
}

void OciTestRegistry::serve_front() {
    while (!stopping_.load()) {
        pollfd p{front_listener_.get(), POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        util::UniqueFd client(::accept4(front_listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!client) continue;
        if (refused_.load() < fail_first_) {
            ++refused_;
            read_head(client.get());
            std::string answer = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                 "Connection: close\r\n\r\n";
            (void)::send(client.get(), answer.data(), answer.size(), MSG_NOSIGNAL);
            continue;
        }
        auto backend = connect_to(port_);
        if (!backend) continue;
        pumps_.emplace_back(pump, std::move(client), std::move(backend), std::cref(stopping_));
    }
}

OciTestRegistry::~OciTestRegistry() {
    stopping_ = true;
    if (front_thread_.joinable()) front_thread_.join();
    for (auto& t : pumps_) t.join();
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
    }
}

std::string OciTestRegistry::host() const {
    return "127.0.0.1:" + std::to_string(front_port_ > 0 ? front_port_ : port_);
}

std::string OciTestRegistry::direct_host() const { return "127.0.0.1:" + std::to_string(port_); }

std::string OciTestRegistry::log() const { return read_file(dir_ / "registry.log"); }

}  // namespace sluice::testing
