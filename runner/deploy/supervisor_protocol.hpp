// How the deploy supervisor (one daemon per state directory, see supervisor.hpp) and its
// clients (`sluice internal deploy-local`, `sluice env stop`) talk: one JSON object per
// line over a Unix stream socket in the abstract namespace, named after the state
// directory (so no socket file can go stale and no path is too long), and only a process
// of the daemon's own user may connect (SO_PEERCRED). Each request gets one answer line:
// {"ok": true, ...} or {"ok": false, "error": "..."}.
//
// Requests ("op"):
//   ping                                    → {pid}
//   start    {environment, id, argv, env, cwd, log, port, url, image, stop_grace_ms}
//                                           → {pid}   a candidate, owned by this connection:
//                                             when the connection closes before it is
//                                             promoted it is stopped (fail closed)
//   status   {environment, id}              → {running, pid, exit}
//   promote  {environment, id}              → {previous: {id, pid} | null} the candidate
//                                             becomes the environment's current service;
//                                             the previous one is stopped before the answer
//   discard  {environment, id}              → {}   stops a candidate
//   stop     {environment}                  → {stopped: [ids], remaining}  ("" = all)
//   list                                    → {services: [...]}
//   shutdown                                → {}   stops everything; the daemon exits
#pragma once

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "runner/util/error.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::deploy {

// STATE/deploy: the supervisor's log and pid file, one directory per environment.
std::filesystem::path deploy_root(const std::filesystem::path& state_dir);

// The abstract socket name (without its leading NUL) of the state directory's supervisor.
std::string supervisor_address(const std::filesystem::path& state_dir);

// Binds and listens on the address; ErrorCode::conflict when another process has it.
util::Result<util::UniqueFd> listen_on(const std::string& address);

// Whether the peer of a connected Unix socket runs as this process's user.
bool peer_is_same_user(int fd);

class SupervisorClient {
  public:
    // ErrorCode::unavailable when no supervisor listens for this state directory.
    static util::Result<SupervisorClient> connect(const std::filesystem::path& state_dir);

    // Sends request, waits (up to timeout) for its answer; an {"ok": false} answer is an
    // ErrorCode::conflict error with the supervisor's message.
    util::Result<nlohmann::json> call(const nlohmann::json& request,
                                      std::chrono::milliseconds timeout = std::chrono::minutes(2));

    // Waits until the supervisor closes the connection (it exits after `shutdown`).
    void wait_closed(std::chrono::milliseconds timeout);

  private:
    explicit SupervisorClient(util::UniqueFd fd) : fd_(std::move(fd)) {}
    util::UniqueFd fd_;
    std::string buffer_;
};

}  // namespace sluice::deploy
