// One `target: local` deployment, as `sluice internal deploy-local SPEC` performs it in the
// deploy stage's own process (so nothing here runs on the runner's loop): prepare the
// service's files (unpack the image's layers, or copy the stage's working directory for a
// `run:` service), pick a free port, have the supervisor start the service as a candidate,
// poll its health, and only when it is healthy promote it (the supervisor then stops the
// previous one); otherwise discard it, so the previous service keeps running (rollback).
// Outputs (`url`, `port`, `pid`, `deployment`, and `digest` for an image) go to
// $SLUICE_OUTPUT; a JSON result for the stage kind goes to `result_file`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "runner/http/http_client.hpp"
#include "runner/util/error.hpp"

namespace sluice::deploy {

struct LocalDeploySpec {
    std::string environment;
    std::string deployment;  // unique per stage attempt: r<run>-<stage>-<attempt>
    std::filesystem::path state_dir;
    std::filesystem::path workspace;   // the stage's working directory
    std::string image;                 // an OCI image layout directory; "" for a run: service
    std::vector<std::string> command;  // the run: lines' argv (shell or direct); may be empty
    std::vector<std::pair<std::string, std::string>> env;  // the stage's environment
    std::string health_url;                                // may contain $PORT / ${PORT}
    std::int64_t health_timeout_ms = 60'000;
    std::int64_t stop_grace_ms = 5'000;
    std::filesystem::path output_file;  // $SLUICE_OUTPUT
    std::filesystem::path result_file;
};

nlohmann::json to_json(const LocalDeploySpec& spec);
util::Result<LocalDeploySpec> local_deploy_spec_from_json(const nlohmann::json& json);

// Performs the deployment, printing what it does (the stage's log). ok when the new
// service is healthy and current; an error saying why not otherwise (nothing switched).
util::Status deploy_local(const LocalDeploySpec& spec, http::HttpClient& client);

// STATE/deploy/ENV: current.json and one directory per deployment.
std::filesystem::path environment_dir(const std::filesystem::path& state_dir,
                                      const std::string& environment);

}  // namespace sluice::deploy
