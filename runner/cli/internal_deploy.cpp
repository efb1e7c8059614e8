// `sluice internal supervisor [--detach]`: the state directory's deploy supervisor
// daemon (runner/deploy/supervisor.hpp); --state names it. `sluice internal
// deploy-local SPEC`: the process of a `target: local` deploy stage: reads the spec its
// stage kind wrote and deploys (runner/deploy/local_deploy.hpp); exit 0 when the new
// service is healthy and current, 1 otherwise.
#include <iostream>

#include "runner/cli/internal_commands.hpp"
#include "runner/cli/session.hpp"
#include "runner/cli/spec_file.hpp"
#include "runner/deploy/local_deploy.hpp"
#include "runner/deploy/supervisor.hpp"
#include "runner/http/curl_http_client.hpp"
#include "runner/util/atomic_file.hpp"

namespace sluice::cli {

int internal_supervisor(const GlobalOptions& global, bool detach) {
    std::string state = global.state;
    if (state.empty()) {
        if (const char* home = std::getenv("SLUICE_HOME"); home != nullptr) state = home;
    }
    if (state.empty()) {
        return report_error({util::ErrorCode::bad_input,
                             "internal supervisor needs --state DIR (or SLUICE_HOME)",
                             {}});
    }
    return deploy::run_supervisor_daemon(state, detach);
}

int internal_deploy_local(const std::string& spec_path) {
    auto json = read_spec_file(spec_path, "deploy spec");
    if (!json) return report_error(json.error());
    auto spec = deploy::local_deploy_spec_from_json(*json);
    if (!spec) return report_error(spec.error());
    http::CurlHttpClient client;
    auto done = deploy::deploy_local(*spec, client);
    if (!done) {
        // The stage's reason: the result file says why (an exit status would not).
        if (!spec->result_file.empty()) {
            (void)util::write_file_atomically(
                spec->result_file, nlohmann::json{{"error", done.error().message}}.dump() + "\n");
        }
        report_error(done.error());
        return util::exit_status::k_failed;
    }
    return util::exit_status::k_ok;
}

}  // namespace sluice::cli
