// The deploy supervisor: the daemon (one per state directory) that runs the services of
// `target: local` deployments, outside every run's and stage's process tree, so a service
// outlives the run that deployed it. It
// - starts a service as a *candidate* owned by the client connection that asked (a
//   deploy-local process), which then checks its health and either promotes it or
//   discards it; a candidate whose client went away is stopped (fail closed);
// - on `promote` makes the candidate the environment's *current* service and stops the
//   previous one (SIGTERM to its process group, the grace, then SIGKILL);
// - restarts a current service that exits, with backoff (1 s, 2 s, 4 s, ... at most 30 s),
//   at most `max_restarts` times in a row (a run of a minute resets the count); then it is
//   marked failed;
// - keeps STATE/deploy/ENV/current.json (pid, port, url, image, state) up to date;
// - is a child subreaper, so a service's double-forked children are still its to reap;
// - exits on `shutdown`, on SIGTERM (stopping every service), or when it has had no
//   service and no client for `idle_exit`.
// The loop is single-threaded and exposes step(), so a test can drive it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runner/deploy/service_process.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::deploy {

struct SupervisorOptions {
    std::filesystem::path state_dir;
    std::chrono::milliseconds idle_exit{10'000};
    int max_restarts = 5;
    std::chrono::milliseconds first_backoff{1'000};
    std::chrono::milliseconds max_backoff{30'000};
};

class Supervisor {
  public:
    Supervisor(SupervisorOptions options, util::UniqueFd listener);
    ~Supervisor();
    Supervisor(const Supervisor&) = delete;
    Supervisor& operator=(const Supervisor&) = delete;

    // One wake-up: waits up to `wait` for a client, then serves requests, reaps exited
    // processes and restarts what is due. False once the supervisor should exit.
    bool step(std::chrono::milliseconds wait);

    // step() until it returns false or stop_requested becomes true; stops every service.
    void run(const volatile int& stop_requested);

    // Stops every service (SIGTERM, grace, SIGKILL) and forgets them.
    void stop_all();

  private:
    using Clock = std::chrono::steady_clock;

    struct Service {
        std::string environment;
        std::string id;
        ServiceLaunch launch;
        int port = 0;
        std::string url;
        std::string image;
        std::chrono::milliseconds stop_grace{5'000};
        pid_t pid = 0;
        bool current = false;
        bool stopping = false;
        bool failed = false;
        int owner = -1;  // the connection of a candidate's deploy-local process
        int restarts = 0;
        std::optional<Clock::time_point> restart_at;
        Clock::time_point started{};
        std::int64_t started_ms = 0;
        std::string last_exit;
    };
    struct Connection {
        util::UniqueFd fd;
        std::string input;
    };

    nlohmann::json handle(const nlohmann::json& request, int connection, bool& exit_after);
    nlohmann::json start(const nlohmann::json& request, int connection);
    nlohmann::json promote(const std::string& environment, const std::string& id);
    Service* find(const std::string& environment, const std::string& id);
    void launch(Service& service);
    void stop(Service& service);
    void reap();
    void on_exit(Service& service, int status);
    void restart_due();
    void write_current(const Service& service);
    void remove_current(const std::string& environment);
    void forget(const std::vector<std::string>& keys);
    void close_connection(std::size_t index);
    void log(const std::string& line);
    nlohmann::json describe(const Service& service) const;

    SupervisorOptions options_;
    util::UniqueFd listener_;
    std::vector<Connection> connections_;
    std::vector<Service> services_;
    Clock::time_point last_activity_;
};

// The body of `sluice internal supervisor`: with detach, forks into a new session and
// returns in the parent once the daemon listens (0) or failed (1, message on stderr); a
// supervisor already running for the state directory counts as success. Without detach,
// runs the daemon in this process. Returns the process's exit status.
int run_supervisor_daemon(const std::filesystem::path& state_dir, bool detach);

// Makes sure the state directory's supervisor runs, starting `sluice internal supervisor
// --detach` (sluice_exe) when none answers. Called from the runner's process, which is
// outside every stage's tree (a stage's shim ends whatever its stage leaves behind).
util::Status ensure_supervisor(const std::filesystem::path& state_dir,
                               const std::filesystem::path& sluice_exe);

}  // namespace sluice::deploy
