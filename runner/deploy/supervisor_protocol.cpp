// The supervisor's socket and its client.
#include "runner/deploy/supervisor_protocol.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runner/util/sha256.hpp"

namespace sluice::deploy {

namespace {

using util::ErrorCode;
using util::fail;

socklen_t fill_address(sockaddr_un& address, const std::string& name) {
    std::memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    // Abstract namespace: a leading NUL, then the name (not NUL-terminated).
    std::size_t length = std::min(name.size(), sizeof address.sun_path - 1);
    std::memcpy(address.sun_path + 1, name.data(), length);
    return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + length);
}

}  // namespace

std::filesystem::path deploy_root(const std::filesystem::path& state_dir) {
    return state_dir / "deploy";
}

std::string supervisor_address(const std::filesystem::path& state_dir) {
    std::error_code ec;
    auto canonical = std::filesystem::weakly_canonical(state_dir, ec);
    std::string key = ec ? std::filesystem::absolute(state_dir).string() : canonical.string();
    return "sluice-supervisor-" + util::sha256_hex(key).substr(0, 32);
}

util::Result<util::UniqueFd> listen_on(const std::string& name) {
    util::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail(ErrorCode::io, std::string("socket: ") + std::strerror(errno));
    sockaddr_un address;
    socklen_t size = fill_address(address, name);
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), size) != 0) {
        if (errno == EADDRINUSE)
            return fail(ErrorCode::conflict, "a supervisor is running already");
        return fail(ErrorCode::io, std::string("bind: ") + std::strerror(errno));
    }
    if (::listen(fd.get(), 16) != 0) {
        return fail(ErrorCode::io, std::string("listen: ") + std::strerror(errno));
    }
    return fd;
}

bool peer_is_same_user(int fd) {
    ucred credentials{};
    socklen_t size = sizeof credentials;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &size) != 0) return false;
    return credentials.uid == ::getuid();
}

util::Result<SupervisorClient> SupervisorClient::connect(const std::filesystem::path& state_dir) {
    util::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return fail(ErrorCode::io, std::string("socket: ") + std::strerror(errno));
    sockaddr_un address;
    socklen_t size = fill_address(address, supervisor_address(state_dir));
    int r;
    while ((r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), size)) != 0 &&
           errno == EINTR) {
    }
    if (r != 0) {
        return fail(ErrorCode::unavailable, "no deploy supervisor is running for " +
                                                state_dir.string() + " (" + std::strerror(errno) +
                                                ")");
    }
    if (!peer_is_same_user(fd.get())) {
        return fail(ErrorCode::unavailable,
                    "the deploy supervisor's socket belongs to another user");
    }
    return SupervisorClient(std::move(fd));
}

util::Result<nlohmann::json> SupervisorClient::call(const nlohmann::json& request,
                                                    std::chrono::milliseconds timeout) {
    std::string line = request.dump() + "\n";
    std::size_t sent = 0;
    while (sent < line.size()) {
        ssize_t n = ::send(fd_.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            return fail(ErrorCode::unavailable,
                        std::string("the deploy supervisor went away: ") + std::strerror(errno));
        }
        sent += static_cast<std::size_t>(n);
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto end = buffer_.find('\n');
        if (end != std::string::npos) {
            auto answer = nlohmann::json::parse(buffer_.substr(0, end), nullptr, false);
            buffer_.erase(0, end + 1);
            if (answer.is_discarded() || !answer.is_object()) {
                return fail(ErrorCode::unavailable, "the deploy supervisor answered garbage");
            }
            if (answer.value("ok", false) != true) {
                return fail(ErrorCode::conflict,
                            answer.value("error", std::string("the deploy supervisor refused")));
            }
            return answer;
        }
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return fail(ErrorCode::unavailable, "the deploy supervisor did not answer " +
                                                    request.value("op", std::string("a request")));
        }
        pollfd p{fd_.get(), POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        char chunk[4096];
        ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return fail(ErrorCode::unavailable, "the deploy supervisor closed the connection");
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
}

void SupervisorClient::wait_closed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return;
        pollfd p{fd_.get(), POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(left.count()));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return;
        char chunk[4096];
        ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
    }
}

}  // namespace sluice::deploy
