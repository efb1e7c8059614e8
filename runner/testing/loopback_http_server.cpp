// LoopbackHttpServer: poll() on the listening socket and a stop pipe; each connection is
// read (request line, headers, Content-Length body), recorded, answered and closed.
#include "runner/testing/loopback_http_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace sluice::testing {

namespace {

constexpr int k_read_timeout_ms = 5'000;

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::string trim(const std::string& text) {
    auto begin = text.find_first_not_of(" \t\r\n");
    if (begin == std::string::npos) return "";
    auto end = text.find_last_not_of(" \t\r\n");
    return text.substr(begin, end - begin + 1);
}

// Waits until fd is readable; false when the stop pipe fired, on timeout or on error.
bool wait_readable(int fd, int stop_fd) {
    pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    for (;;) {
        int n = ::poll(fds, 2, k_read_timeout_ms);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        if (fds[1].revents != 0) return false;
        return fds[0].revents != 0;
    }
}

void send_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the client went away; nothing to tell it
        data.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace

std::optional<std::string> RecordedRequest::header(std::string_view name) const {
    std::string wanted = lower(std::string(name));
    for (const auto& [key, value] : headers) {
        if (key == wanted) return value;
    }
    return std::nullopt;
}

LoopbackHttpServer::LoopbackHttpServer(Handler handler) : handler_(std::move(handler)) {
    listener_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!listener_) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    int yes = 1;
    ::setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_.get(), 16) != 0) {
        throw std::runtime_error("bind/listen: " + std::string(std::strerror(errno)));
    }
    socklen_t length = sizeof address;
    ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    stop_read_.reset(pipe_fds[0]);
    stop_write_.reset(pipe_fds[1]);
    thread_ = std::thread([this] { serve(); });
}

LoopbackHttpServer::~LoopbackHttpServer() {
    char byte = 1;
    while (::write(stop_write_.get(), &byte, 1) < 0 && errno == EINTR) {
    }
    thread_.join();
}

std::string LoopbackHttpServer::url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

std::vector<RecordedRequest> LoopbackHttpServer::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

void LoopbackHttpServer::serve() {
    for (;;) {
        if (!wait_readable(listener_.get(), stop_read_.get())) {
            // Timeouts only mean no client came; the stop pipe means we are done.
            pollfd stop{stop_read_.get(), POLLIN, 0};
            if (::poll(&stop, 1, 0) > 0) return;
            continue;
        }
        util::UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!connection) continue;
        handle(std::move(connection));
    }
}

void LoopbackHttpServer::handle(util::UniqueFd connection) {
    std::string data;
    std::size_t header_end = std::string::npos;
    char buffer[4096];
    while (header_end == std::string::npos) {
        if (!wait_readable(connection.get(), stop_read_.get())) return;
        ssize_t n = ::recv(connection.get(), buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        data.append(buffer, static_cast<std::size_t>(n));
        header_end = data.find("\r\n\r\n");
    }

    RecordedRequest request;
    std::string head = data.substr(0, header_end);
    std::size_t line_end = head.find("\r\n");
    std::string request_line = head.substr(0, line_end);
    auto first_space = request_line.find(' ');
    auto second_space = request_line.find(' ', first_space + 1);
    request.method = request_line.substr(0, first_space);
    request.target = request_line.substr(first_space + 1, second_space - first_space - 1);
    std::size_t content_length = 0;
    while (line_end != std::string::npos && line_end < head.size()) {
        std::size_t next = head.find("\r\n", line_end + 2);
        std::string line = head.substr(
            line_end + 2, next == std::string::npos ? std::string::npos : next - line_end - 2);
        line_end = next;
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = lower(trim(line.substr(0, colon)));
        std::string value = trim(line.substr(colon + 1));
        if (name == "content-length") content_length = std::stoul(value);
        request.headers.emplace_back(std::move(name), std::move(value));
    }
    request.body = data.substr(header_end + 4);
    while (request.body.size() < content_length) {
        if (!wait_readable(connection.get(), stop_read_.get())) return;
        ssize_t n = ::recv(connection.get(), buffer, sizeof buffer, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        request.body.append(buffer, static_cast<std::size_t>(n));
    }

    CannedResponse response = handler_(request);
    {
        std::lock_guard lock(mutex_);
        requests_.push_back(request);
        if (response.hang) {
            hung_.push_back(std::move(connection));
            return;
        }
    }
    if (!response.raw.empty()) {
        send_all(connection.get(), response.raw);
        return;
    }
    std::string out =
        "HTTP/1.1 " + std::to_string(response.status) + " " + response.reason + "\r\n";
    for (const auto& [name, value] : response.headers) out += name + ": " + value + "\r\n";
    out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
    out += "Connection: close\r\n\r\n";
    out += response.body;
    send_all(connection.get(), out);
}

}  // namespace sluice::testing
