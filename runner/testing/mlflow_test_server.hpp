// Starts tests/mlflow_server/mlflow_test_server.py (an in-memory stand-in for an MLflow
// 2.x tracking server and model registry) as a child process on a free 127.0.0.1 port,
// for tests that talk MLflow's REST API over real HTTP. The process is killed and reaped
// when the fixture goes away (and dies with the test process, via PR_SET_PDEATHSIG).
#pragma once

#include <filesystem>
#include <string>

namespace sluice::testing {

struct MlflowServerOptions {
    std::string seed_json;      // the server's starting state (format: the script's docstring)
    bool html = false;          // answer HTML 200 to everything
    bool hang = false;          // accept connections and never answer
    int fail_first = 0;         // answer 503 to the first N API requests
    std::string require_token;  // 401 unless "Authorization: Bearer TOKEN"
    std::string require_basic;  // "user:pass": 401 unless that Basic authorization
};

class MlflowTestServer {
public:
    explicit MlflowTestServer(MlflowServerOptions options = {});
    ~MlflowTestServer();
    MlflowTestServer(const MlflowTestServer&) = delete;
    MlflowTestServer& operator=(const MlflowTestServer&) = delete;

    // False when the server could not be started (no python3, script missing, no port
    // within 10 s); error() says why, for GTEST_SKIP or a failure message.
    bool ok() const { return port_ > 0; }
    const std::string& error() const { return error_; }
    int port() const { return port_; }
    // "http://127.0.0.1:PORT", the tracking URI.
    std::string uri() const;

private:
    int pid_ = -1;
    int port_ = 0;
    std::string error_;
    std::filesystem::path seed_file_;
};

// The script: $SLUICE_MLFLOW_TEST_SERVER, else tests/mlflow_server/ of this source tree.
std::filesystem::path mlflow_test_server_script();

// A 127.0.0.1 port nothing listens on (bound, then closed), and its URI: a server that is down.
int free_port();
std::string down_uri();

}  // namespace sluice::testing
