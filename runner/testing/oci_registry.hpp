// A real OCI registry for tests: /usr/bin/docker-registry (Distribution v2) on a free
// 127.0.0.1 port with its storage in a temporary directory, started from a generated
// config.yml and ready once /v2/ answers (polled until a deadline); killed and reaped
// when the fixture goes away. Options: Basic authentication (an htpasswd file with
// bcrypt hashes), and a flaky front, a loopback TCP proxy that answers 503 to the first
// N connections and then forwards bytes both ways untouched.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "runner/testing/temp_dir.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::testing {

struct OciRegistryOptions {
    std::string user;      // with password: the registry demands Basic authentication
    std::string password;
    int fail_first = 0;    // a front that answers 503 to the first N connections
};

class OciTestRegistry {
public:
    explicit OciTestRegistry(OciRegistryOptions options = {});
    ~OciTestRegistry();
    OciTestRegistry(const OciTestRegistry&) = delete;
    OciTestRegistry& operator=(const OciTestRegistry&) = delete;

    // False when the registry could not be started (no docker-registry, no htpasswd
    // tool, no answer in time); error() says why, for GTEST_SKIP.
    bool ok() const { return error_.empty(); }
    const std::string& error() const { return error_; }
    // "127.0.0.1:PORT": the front when there is one, else the registry.
    std::string host() const;
    // The registry itself, bypassing any front.
    std::string direct_host() const;
    // What the registry logged (its access log included).
    std::string log() const;
    // Connections the front refused with 503 so far.
    int refused() const { return refused_.load(); }

private:
    bool start_registry(const OciRegistryOptions& options);
    void start_front(int fail_first);
    void serve_front();

    TempDir dir_;
    int pid_ = -1;
    int port_ = 0;
    int front_port_ = 0;
    std::string error_;
    util::UniqueFd front_listener_;
    std::atomic<bool> stopping_{false};
    std::atomic<int> refused_{0};
    int fail_first_ = 0;
    std::thread front_thread_;
    std::vector<std::thread> pumps_;
};

// Whether /usr/bin/docker-registry and skopeo are installed (the integration tests skip
// with that reason when not).
std::string missing_registry_tools();

}  // namespace sluice::testing
