// `sluice env list` and `sluice env history ENV`: the environments' deployments (what
// was deployed where, from which run and commit, which model version, approved by
// whom), from the run store. `list` also shows what sluice.yml declares (branches,
// protected), when there is a sluice.yml here.
#include <iomanip>
#include <iostream>

#include "runner/cli/commands.hpp"
#include "runner/cli/pipeline_file.hpp"

namespace sluice::cli {

namespace {

nlohmann::json deployment_json(const store::Deployment& d) {
    return {{"id", d.id},         {"environment", d.environment}, {"run", d.run_id},
            {"stage", d.stage},   {"commit", d.commit},           {"branch", d.branch},
            {"model", d.model},   {"model_version", d.model_version},
            {"approved_by", d.approved_by}, {"status", d.status}, {"reason", d.reason},
            {"at_ms", d.at_ms}};
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
              << std::setw(14) << model << std::setw(8) << d.status
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
        std::cout << "ENVIRONMENT  LAST DEPLOYED          RUN    COMMIT    MODEL         STATUS  "
                     "APPROVED BY\n";
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
    std::cout << "DEPLOYED             RUN    COMMIT    MODEL         STATUS  APPROVED BY\n";
    for (const auto& d : *all) print_row(d);
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
}

}  // namespace sluice::cli
