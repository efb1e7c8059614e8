// `sluice env list` and `sluice env history ENV`: the environments' deployments (what
// was deployed where, from which run and commit, which model version and image, approved
// by whom), from the run store. `list` also shows what sluice.yml declares (branches,
// protected), when there is a sluice.yml here, and the local service an environment runs.
// `sluice env rollback ENV` re-deploys the previous good deployment; `sluice env stop`
// stops local services (and the deploy supervisor once none is left).
#include <signal.h>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <thread>

#include "runner/cli/commands.hpp"
#include "runner/cli/pipeline_file.hpp"
#include "runner/cli/run_driver.hpp"
#include "runner/cli/run_source.hpp"
#include "runner/pipeline/loader.hpp"
#include "runner/deploy/local_deploy.hpp"
#include "runner/deploy/service_process.hpp"
#include "runner/deploy/supervisor_protocol.hpp"
#include "runner/pipeline/model_names.hpp"
#include "runner/util/local_identity.hpp"
#include "stages/environment_guard.hpp"

namespace sluice::cli {

namespace {

nlohmann::json deployment_json(const store::Deployment& d) {
    return {{"id", d.id},         {"environment", d.environment}, {"run", d.run_id},
            {"stage", d.stage},   {"commit", d.commit},           {"branch", d.branch},
            {"model", d.model},   {"model_version", d.model_version}, {"image", d.image},
            {"approved_by", d.approved_by}, {"status", d.status}, {"reason", d.reason},
            {"at_ms", d.at_ms}};
}

// The image column: a digest shortened like a commit ("sha256:0123456789ab"), a
// reference shortened to its repository and that ("repo@sha256:0123456789ab").
std::string short_image(const std::string& image) {
    if (image.empty()) return "-";
    auto at = image.find("sha256:");
    if (at == std::string::npos) return image;
    return image.substr(0, std::min(image.size(), at + 7 + 12));
}

// STATE/deploy/ENV/current.json: the local service the environment runs (null if none).
nlohmann::json current_service(const std::filesystem::path& state, const std::string& environment) {
    std::ifstream in(deploy::environment_dir(state, environment) / "current.json");
    std::stringstream text;
    text << in.rdbuf();
    auto json = nlohmann::json::parse(text.str(), nullptr, false);
    return in && json.is_object() ? json : nlohmann::json();
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
    return out;
}

void print_row(const store::Deployment& d) {
    std::string model = d.model.empty() ? "-" : d.model + " v" + d.model_version;
    std::cout << std::left << std::setw(21) << local_time(d.at_ms) << std::setw(7)
              << d.run_id << std::setw(10) << (d.commit.empty() ? "-" : d.commit.substr(0, 8))
              << std::setw(14) << model << std::setw(21) << short_image(d.image) << std::setw(8)
              << d.status
              << (d.approved_by.empty() ? "-" : joined(d.approved_by));
    if (!d.reason.empty()) std::cout << "  (" << d.reason << ")";
    std::cout << "\n";
}

int list(const GlobalOptions& global, bool json) {
    auto session = open_session(global, std::filesystem::current_path());
    if (!session) return report_error(session.error());
    auto names = session->store.environments();
    if (!names) return report_error(names.error());
    std::vector<pipeline::Environment> declared;
    if (std::filesystem::exists("sluice.yml")) {
        if (auto loaded = load_for_cli("sluice.yml")) declared = loaded->pipeline.environments;
    }
    for (const auto& e : declared) {
        if (std::find(names->begin(), names->end(), e.name) == names->end()) {
            names->push_back(e.name);
        }
    }
    nlohmann::json out = nlohmann::json::array();
    if (!json) {
        std::cout << "ENVIRONMENT  LAST DEPLOYED          RUN    COMMIT    MODEL         IMAGE"
                     "                STATUS  APPROVED BY\n";
    }
    for (const auto& name : *names) {
        auto last = session->store.deployments(name, 1);
        if (!last) return report_error(last.error());
        const pipeline::Environment* env = nullptr;
        for (const auto& e : declared) {
            if (e.name == name) env = &e;
        }
        if (json) {
            nlohmann::json j = {{"environment", name}};
            if (!last->empty()) j["last"] = deployment_json(last->front());
            if (auto service = current_service(session->state.root, name); !service.is_null()) {
                j["service"] = service;
            }
            if (env != nullptr) {
                j["branches"] = env->branches;
                j["protected"] = env->is_protected;
                j["alias"] = env->alias;
            }
            out.push_back(j);
            continue;
        }
        std::cout << std::left << std::setw(13) << name;
        if (last->empty()) {
            std::cout << "never deployed";
        } else {
            print_row(last->front());
            auto service = current_service(session->state.root, name);
            if (!service.is_null()) {
                std::cout << std::setw(13) << "" << "serving " << service.value("url", "?") << " ("
                          << service.value("deployment", "?") << ", pid " << service.value("pid", 0)
                          << ", " << service.value("state", "?") << ")\n";
            }
            continue;
        }
        std::cout << "\n";
    }
    if (json) std::cout << out.dump(2) << "\n";
    return 0;
}

int history(const GlobalOptions& global, const std::string& environment, bool json) {
    auto session = open_session(global, std::filesystem::current_path());
    if (!session) return report_error(session.error());
    auto all = session->store.deployments(environment, 0);
    if (!all) return report_error(all.error());
    if (all->empty()) {
        return report_error({util::ErrorCode::not_found,
                             "no deployments to environment " + environment + " yet", {}});
    }
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& d : *all) out.push_back(deployment_json(d));
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::cout << "ID    DEPLOYED             RUN    COMMIT    MODEL         IMAGE                "
                 "STATUS  APPROVED BY\n";
    for (const auto& d : *all) {
        std::cout << std::left << std::setw(6) << d.id;
        print_row(d);
    }
    return 0;
}

// Re-deploys the previous good deployment of an environment: a new run of that
// deployment's pipeline, at its commit, with only the deploy stage (what it needs is
// not re-run), under the same approval and protection as any deploy; its promotion
// moves the alias back to the version that deployment had.
int rollback(const GlobalOptions& global, const std::string& environment, std::int64_t to,
             int jobs, bool json) {
    auto session = open_session(global, std::filesystem::current_path());
    if (!session) return report_error(session.error());
    auto all = session->store.deployments(environment, 0);
    if (!all) return report_error(all.error());
    const store::Deployment* current = nullptr;
    const store::Deployment* target = nullptr;
    for (const auto& d : *all) {  // newest first
        if (d.status != "passed") continue;
        if (to > 0) {
            if (d.id == to) target = &d;
            continue;
        }
        if (current == nullptr) {
            current = &d;
        } else if (d.commit != current->commit || d.model_version != current->model_version ||
                   d.image != current->image) {
            target = &d;
            break;
        }
    }
    if (target == nullptr) {
        return report_error({util::ErrorCode::not_found,
                             to > 0 ? "no good deployment " + std::to_string(to) + " of " +
                                          environment
                                    : "no earlier good deployment of " + environment +
                                          " to roll back to (see `sluice env history " +
                                          environment + "`)",
                             {}});
    }
    auto run = session->store.find_run(target->run_id);
    if (!run) return report_error(run.error());
    if (!*run) {
        return report_error({util::ErrorCode::not_found,
                             "run " + std::to_string(target->run_id) + " is gone", {}});
    }
    const store::RunRecord& old = **run;
    auto loaded = pipeline::load_pipeline_string(old.yaml, old.file);
    if (!loaded) {
        return report_error({util::ErrorCode::bad_input,
                             "the pipeline of run " + std::to_string(old.id) +
                                 " no longer loads: " + loaded.error().front().to_string(),
                             {}});
    }
    const pipeline::Stage* stage = loaded->find(target->stage);
    if (stage == nullptr) {
        return report_error({util::ErrorCode::internal,
                             "run " + std::to_string(old.id) + " has no stage " + target->stage, {}});
    }
    // The one check of environment writes, before anything starts: a rollback without
    // the environment's token starts no run. (The run checks again when its deploy
    // starts, in whichever process that is, e.g. an approver's; that one shows warnings.)
    if (auto guarded = stages::check_environment_writes(
            session->state.root, stages::environments_of_deploy(*loaded, *stage),
            access::process_variables());
        !guarded) {
        return report_error(guarded.error());
    }
    engine::RunRequest request;
    request.pipeline = std::move(*loaded);
    request.yaml = old.yaml;
    request.jobs = jobs > 0 ? jobs : 1;
    request.only = {target->stage};
    request.trigger = "manual";
    request.event = "manual";
    request.triggered_by = util::local_identity();
    request.source = old.options.value("source", nlohmann::json::object());
    request.rollback = {{"environment", environment},
                        {"deployment", target->id},
                        {"from_run", target->run_id},
                        {"model", target->model},
                        {"model_version", target->model_version}};
    for (const auto* up : pipeline::upstream_stages(request.pipeline, *stage)) {
        request.skipped.emplace_back(up->name, "not re-run: rollback to run " +
                                                   std::to_string(target->run_id));
    }
    std::optional<git::WorkspaceLease> lease;
    request.workspace = old.workdir;
    request.commit = engine::commit_of(old);
    if (request.commit) {
        if (request.source.contains("repo")) {
            auto checked = check_out_commit(*session, request.source["repo"].get<std::string>(),
                                            old.commit, old.branch);
            if (!checked) return report_error(checked.error());
            request.workspace = checked->dir() / request.source.value("subdir", std::string());
            lease = std::move(*checked);
            // Branch rules: the branches that contain the commit now.
            auto branches = deploy_branches(request.source["repo"].get<std::string>(),
                                            request.pipeline, old.commit);
            if (!branches) return report_error(branches.error());
            request.branches_with_commit = std::move(*branches);
        } else {
            // It ran a working tree, which may have changed since: a branch-restricted
            // environment takes no rollback to it (fail closed).
            request.uncommitted = true;
        }
    }
    if (!json) {
        std::cout << "rolling " << environment << " back to the deployment of run "
                  << target->run_id << " (commit "
                  << (old.commit.empty() ? std::string("-") : old.commit.substr(0, 8))
                  << (target->model.empty() ? std::string()
                                            : ", " + target->model + " v" + target->model_version)
                  << ")\n";
    }
    return drive_run(global, *session, json,
                     [&](engine::Engine& engine) { return engine.run(request); });
}

// Without a supervisor (it was killed), a service it left is stopped through its
// current.json: SIGTERM to its process group, 5 s, then SIGKILL.
void stop_orphan(const std::filesystem::path& state, const std::string& environment) {
    auto service = current_service(state, environment);
    if (service.is_null()) return;
    pid_t pid = service.value("pid", 0);
    if (pid > 1 && deploy::group_exists(pid)) {
        deploy::signal_group(pid, SIGTERM);
        for (int i = 0; i < 250 && deploy::group_exists(pid); ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        deploy::signal_group(pid, SIGKILL);
    }
    std::error_code ec;
    std::filesystem::remove(deploy::environment_dir(state, environment) / "current.json", ec);
    std::cout << environment << ": stopped " << service.value("deployment", "?") << "\n";
}

// Stops the local service of environment ("" with all: every one) and, once the
// supervisor has nothing left, the supervisor too.
int stop(const GlobalOptions& global, const std::string& environment, bool all) {
    if (environment.empty() == !all) {
        return report_error({util::ErrorCode::bad_input, "give an environment or --all", {}});
    }
    auto session = open_session(global, std::filesystem::current_path());
    if (!session) return report_error(session.error());
    const auto& state = session->state.root;
    auto client = deploy::SupervisorClient::connect(state);
    if (!client) {
        std::vector<std::string> names = {environment};
        if (all) {
            names.clear();
            std::error_code ec;
            for (const auto& e : std::filesystem::directory_iterator(deploy::deploy_root(state), ec)) {
                if (e.is_directory(ec)) names.push_back(e.path().filename().string());
            }
        }
        for (const auto& name : names) stop_orphan(state, name);
        return 0;
    }
    auto stopped = client->call({{"op", "stop"}, {"environment", all ? "" : environment}});
    if (!stopped) return report_error(stopped.error());
    for (const auto& id : (*stopped)["stopped"]) {
        std::cout << (all ? std::string() : environment + ": ") << "stopped " << id.get<std::string>()
                  << "\n";
    }
    if ((*stopped)["stopped"].empty() && !all) {
        std::cout << environment << ": no local service was running\n";
    }
    if ((*stopped).value("remaining", 1) == 0) {
        if (client->call({{"op", "shutdown"}})) client->wait_closed(std::chrono::seconds(10));
    }
    return 0;
}

}  // namespace

void add_env_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* cmd = app.add_subcommand("env", "Environments and their deployments");
    cmd->require_subcommand(1);
    auto json = std::make_shared<bool>(false);
    auto* list_cmd = cmd->add_subcommand("list", "Each environment and its last deployment");
    list_cmd->add_flag("--json", *json, "Print JSON");
    list_cmd->callback([&global, &exit_status, json] { exit_status = list(global, *json); });
    auto environment = std::make_shared<std::string>();
    auto* history_cmd = cmd->add_subcommand("history", "An environment's deployments, newest first");
    history_cmd->add_option("ENV", *environment, "The environment")->required();
    history_cmd->add_flag("--json", *json, "Print JSON");
    history_cmd->callback([&global, &exit_status, environment, json] {
        exit_status = history(global, *environment, *json);
    });
    auto to = std::make_shared<std::int64_t>(0);
    auto jobs = std::make_shared<int>(0);
    auto* rollback_cmd = cmd->add_subcommand(
        "rollback", "Re-deploy the previous good deployment (same approval as a deploy)");
    rollback_cmd->add_option("ENV", *environment, "The environment")->required();
    rollback_cmd->add_option("--to", *to, "The deployment id to go back to (sluice env history)")
        ->check(positive_integer());
    rollback_cmd->add_option("-j,--jobs", *jobs, "Stages to run at once")->check(positive_integer());
    rollback_cmd->add_flag("--json", *json, "One JSON event per line instead of text");
    rollback_cmd->callback([&global, &exit_status, environment, to, jobs, json] {
        exit_status = rollback(global, *environment, *to, *jobs, *json);
    });
    auto all = std::make_shared<bool>(false);
    auto stop_environment = std::make_shared<std::string>();
    auto* stop_cmd = cmd->add_subcommand(
        "stop", "Stop an environment's local service (target: local); --all: every one");
    stop_cmd->add_option("ENV", *stop_environment, "The environment");
    stop_cmd->add_flag("--all", *all, "Every local service, and the deploy supervisor");
    stop_cmd->callback([&global, &exit_status, stop_environment, all] {
        exit_status = stop(global, *stop_environment, *all);
    });
}

}  // namespace sluice::cli
