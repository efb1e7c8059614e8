// The deploy supervisor's loop: clients, services, restarts, current.json.
#include "runner/deploy/supervisor.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <iostream>
#include <thread>

#include "runner/deploy/supervisor_protocol.hpp"
#include "runner/util/atomic_file.hpp"

namespace sluice::deploy {

namespace {

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string timestamp() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

nlohmann::json failure(const std::string& message) { return {{"ok", false}, {"error", message}}; }

std::string key_of(const std::string& environment, const std::string& id) {
    return environment + '\n' + id;
}

void send_line(int fd, const nlohmann::json& answer) {
    std::string line = answer.dump() + "\n";
    std::size_t sent = 0;
    while (sent < line.size()) {
        ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the client is gone; its candidates go with its connection
        sent += static_cast<std::size_t>(n);
    }
}

}  // namespace

Supervisor::Supervisor(SupervisorOptions options, util::UniqueFd listener)
    : options_(std::move(options)), listener_(std::move(listener)), last_activity_(Clock::now()) {}

Supervisor::~Supervisor() { stop_all(); }

void Supervisor::log(const std::string& line) {
    std::cerr << timestamp() << " " << line << std::endl;
}

Supervisor::Service* Supervisor::find(const std::string& environment, const std::string& id) {
    for (auto& s : services_) {
        if (s.environment == environment && s.id == id) return &s;
    }
    return nullptr;
}

nlohmann::json Supervisor::describe(const Service& s) const {
    std::string state = s.pid != 0     ? "running"
                        : s.failed     ? "failed"
                        : s.restart_at ? "restarting"
                                       : "exited";
    nlohmann::json j = {{"environment", s.environment},
                        {"deployment", s.id},
                        {"role", s.current ? "current" : "candidate"},
                        {"state", state},
                        {"pid", s.pid},
                        {"port", s.port},
                        {"url", s.url},
                        {"image", s.image},
                        {"started_ms", s.started_ms},
                        {"restarts", s.restarts},
                        {"argv", s.launch.argv},
                        {"cwd", s.launch.cwd.string()},
                        {"log", s.launch.log.string()}};
    if (!s.last_exit.empty()) j["last_exit"] = s.last_exit;
    return j;
}

void Supervisor::write_current(const Service& s) {
    auto file = deploy_root(options_.state_dir) / s.environment / "current.json";
    if (auto done = util::write_file_atomically(file, describe(s).dump(2) + "\n"); !done) {
        log("cannot write " + file.string() + ": " + done.error().message);
    }
}

void Supervisor::remove_current(const std::string& environment) {
    std::error_code ec;
    std::filesystem::remove(deploy_root(options_.state_dir) / environment / "current.json", ec);
}

void Supervisor::launch(Service& s) {
    auto pid = spawn_service(s.launch);
    if (!pid) {
        s.pid = 0;
        s.last_exit = pid.error().message;
        log("environment " + s.environment + ": " + s.id + ": " + pid.error().message);
        return;
    }
    s.pid = *pid;
    s.started = Clock::now();
    s.started_ms = wall_ms();
    log("environment " + s.environment + ": started " + s.id + " (pid " + std::to_string(s.pid) +
        ", port " + std::to_string(s.port) + ")");
}

void Supervisor::stop(Service& s) {
    s.stopping = true;
    s.restart_at.reset();
    if (s.pid == 0) return;
    pid_t group = s.pid;
    log("environment " + s.environment + ": stopping " + s.id + " (pid " + std::to_string(group) +
        ")");
    signal_group(group, SIGTERM);
    signal_group(group, SIGCONT);
    auto deadline = Clock::now() + s.stop_grace;
    auto pause = std::chrono::milliseconds(5);
    bool killed = false;
    auto hard_deadline = deadline + std::chrono::seconds(5);
    while (s.pid != 0 || group_exists(group)) {
        reap();
        if (s.pid == 0 && !group_exists(group)) break;
        auto now = Clock::now();
        if (!killed && now >= deadline) {
            signal_group(group, SIGKILL);
            killed = true;
        }
        if (now >= hard_deadline) {
            log("environment " + s.environment + ": " + s.id + " did not end after SIGKILL");
            break;
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
}

void Supervisor::on_exit(Service& s, int status) {
    pid_t group = s.pid;
    s.pid = 0;
    s.last_exit = describe_wait_status(status);
    signal_group(group, SIGKILL);  // what it left behind in its group
    if (s.stopping) return;
    log("environment " + s.environment + ": " + s.id + " " + s.last_exit);
    if (!s.current) return;  // a candidate's client sees it through `status`
    if (Clock::now() - s.started > std::chrono::minutes(1)) s.restarts = 0;
    if (s.restarts >= options_.max_restarts) {
        s.failed = true;
        log("environment " + s.environment + ": " + s.id + " gave up after " +
            std::to_string(s.restarts) + " restarts");
    } else {
        auto backoff = options_.first_backoff * (1 << std::min(s.restarts, 10));
        s.restart_at = Clock::now() + std::min(backoff, options_.max_backoff);
    }
    write_current(s);
}

void Supervisor::reap() {
    while (true) {
        int status = 0;
        pid_t pid = ::waitpid(-1, &status, WNOHANG);
        if (pid < 0 && errno == EINTR) continue;
        if (pid <= 0) return;
        for (auto& s : services_) {
            if (s.pid == pid) on_exit(s, status);
        }
    }
}

void Supervisor::restart_due() {
    auto now = Clock::now();
    for (auto& s : services_) {
        if (!s.restart_at || *s.restart_at > now) continue;
        s.restart_at.reset();
        ++s.restarts;
        launch(s);
        if (s.pid == 0) {
            int failed_status = 127 << 8;  // an exec that failed: as an exit status of 127
            s.pid = -1;                    // so on_exit counts it like a crash
            on_exit(s, failed_status);
            continue;
        }
        write_current(s);
    }
}

void Supervisor::forget(const std::vector<std::string>& keys) {
    std::erase_if(services_, [&](const Service& s) {
        return std::find(keys.begin(), keys.end(), key_of(s.environment, s.id)) != keys.end();
    });
}

nlohmann::json Supervisor::start(const nlohmann::json& r, int connection) {
    std::string environment = r.value("environment", "");
    std::string id = r.value("id", "");
    if (environment.empty() || id.empty()) return failure("start needs an environment and an id");
    if (find(environment, id) != nullptr) {
        return failure("environment " + environment + " already has a service " + id);
    }
    Service s;
    s.environment = environment;
    s.id = id;
    try {
        s.launch.argv = r.at("argv").get<std::vector<std::string>>();
        for (const auto& pair : r.value("env", nlohmann::json::array())) {
            s.launch.env.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
        }
        s.launch.cwd = r.at("cwd").get<std::string>();
        s.launch.log = r.at("log").get<std::string>();
    } catch (const nlohmann::json::exception& e) {
        return failure(std::string("malformed start request: ") + e.what());
    }
    s.port = r.value("port", 0);
    s.url = r.value("url", "");
    s.image = r.value("image", "");
    s.stop_grace = std::chrono::milliseconds(r.value("stop_grace_ms", 5000));
    s.owner = connection;
    launch(s);
    if (s.pid == 0) return failure(s.last_exit);
    services_.push_back(std::move(s));
    return {{"ok", true}, {"pid", services_.back().pid}};
}

nlohmann::json Supervisor::promote(const std::string& environment, const std::string& id) {
    Service* candidate = find(environment, id);
    if (candidate == nullptr || candidate->current) {
        return failure("environment " + environment + " has no candidate " + id);
    }
    if (candidate->pid == 0) {
        return failure("the service " + id + " is not running (" + candidate->last_exit + ")");
    }
    candidate->current = true;
    candidate->owner = -1;
    write_current(*candidate);
    nlohmann::json previous = nullptr;
    std::vector<std::string> gone;
    for (auto& s : services_) {
        if (s.environment != environment || !s.current || s.id == id) continue;
        previous = {{"id", s.id}, {"pid", s.pid}};
        stop(s);
        gone.push_back(key_of(s.environment, s.id));
    }
    forget(gone);
    Service* now = find(environment, id);
    log("environment " + environment + ": " + id + " is current" +
        (previous.is_null() ? std::string()
                            : " (replaced " + previous["id"].get<std::string>() + ")"));
    if (now != nullptr) write_current(*now);  // stopping others may have taken a while
    return {{"ok", true}, {"previous", previous}};
}

nlohmann::json Supervisor::handle(const nlohmann::json& r, int connection, bool& exit_after) {
    std::string op = r.value("op", "");
    if (op == "ping") return {{"ok", true}, {"pid", ::getpid()}};
    if (op == "start") return start(r, connection);
    if (op == "promote") return promote(r.value("environment", ""), r.value("id", ""));
    if (op == "status") {
        Service* s = find(r.value("environment", ""), r.value("id", ""));
        if (s == nullptr) return failure("no such service");
        return {{"ok", true}, {"running", s->pid != 0}, {"pid", s->pid}, {"exit", s->last_exit}};
    }
    if (op == "discard") {
        Service* s = find(r.value("environment", ""), r.value("id", ""));
        if (s == nullptr || s->current) return {{"ok", true}};
        stop(*s);
        forget({key_of(s->environment, s->id)});
        return {{"ok", true}};
    }
    if (op == "stop") {
        std::string environment = r.value("environment", "");
        nlohmann::json stopped = nlohmann::json::array();
        std::vector<std::string> gone;
        for (auto& s : services_) {
            if (!environment.empty() && s.environment != environment) continue;
            stop(s);
            if (s.current) remove_current(s.environment);
            stopped.push_back(s.id);
            gone.push_back(key_of(s.environment, s.id));
        }
        forget(gone);
        return {{"ok", true}, {"stopped", stopped}, {"remaining", services_.size()}};
    }
    if (op == "list") {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& s : services_) list.push_back(describe(s));
        return {{"ok", true}, {"services", list}};
    }
    if (op == "shutdown") {
        stop_all();
        exit_after = true;
        return {{"ok", true}};
    }
    return failure("unknown request `" + op + "`");
}

void Supervisor::close_connection(std::size_t index) {
    int fd = connections_[index].fd.get();
    std::vector<std::string> gone;
    for (auto& s : services_) {
        if (!s.current && s.owner == fd) {  // its deploy-local process went away: fail closed
            log("environment " + s.environment + ": discarding " + s.id + " (its deploy ended)");
            stop(s);
            gone.push_back(key_of(s.environment, s.id));
        }
    }
    forget(gone);
    connections_.erase(connections_.begin() + static_cast<std::ptrdiff_t>(index));
}

bool Supervisor::step(std::chrono::milliseconds wait) {
    auto now = Clock::now();
    for (const auto& s : services_) {
        if (s.restart_at) {
            auto until = std::chrono::duration_cast<std::chrono::milliseconds>(*s.restart_at - now);
            wait = std::max(std::chrono::milliseconds(0), std::min(wait, until));
        }
    }
    std::vector<pollfd> fds;
    fds.push_back({listener_.get(), POLLIN, 0});
    for (const auto& c : connections_) fds.push_back({c.fd.get(), POLLIN, 0});
    int ready = ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));
    bool exit_now = false;
    if (ready > 0) {
        // Clients first (their indexes match fds), newest connections after.
        for (std::size_t i = fds.size() - 1; i >= 1; --i) {
            if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
            std::size_t index = i - 1;
            char chunk[8192];
            ssize_t n = ::recv(connections_[index].fd.get(), chunk, sizeof chunk, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                close_connection(index);
                continue;
            }
            last_activity_ = Clock::now();
            auto& input = connections_[index].input;
            input.append(chunk, static_cast<std::size_t>(n));
            std::size_t end;
            while ((end = input.find('\n')) != std::string::npos) {
                auto request = nlohmann::json::parse(input.substr(0, end), nullptr, false);
                input.erase(0, end + 1);
                bool exit_after = false;
                nlohmann::json answer =
                    request.is_object() ? handle(request, connections_[index].fd.get(), exit_after)
                                        : failure("a request must be a JSON object");
                send_line(connections_[index].fd.get(), answer);
                exit_now = exit_now || exit_after;
            }
        }
        if ((fds[0].revents & POLLIN) != 0) {
            int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC);
            if (fd >= 0) {
                util::UniqueFd connection(fd);
                if (peer_is_same_user(fd)) connections_.push_back({std::move(connection), {}});
                last_activity_ = Clock::now();
            }
        }
    }
    reap();
    restart_due();
    if (exit_now) return false;
    if (services_.empty() && connections_.empty() &&
        Clock::now() - last_activity_ >= options_.idle_exit) {
        log("nothing to supervise: exiting");
        return false;
    }
    return true;
}

void Supervisor::run(const volatile int& stop_requested) {
    while (stop_requested == 0 && step(std::chrono::milliseconds(200))) {
    }
    stop_all();
}

void Supervisor::stop_all() {
    for (auto& s : services_) {
        stop(s);
        if (s.current) remove_current(s.environment);
    }
    services_.clear();
}

}  // namespace sluice::deploy
