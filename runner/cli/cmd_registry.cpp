// `sluice registry models | versions MODEL | metrics MODEL VERSION | alias MODEL ALIAS
// [VERSION]`: reading and writing the model registry (builtin by default, or MLflow
// with --registry mlflow and MLFLOW_TRACKING_URI or --uri). Moving an alias that belongs
// to a protected environment needs that environment's token (stages/environment_guard.hpp).
#include <iomanip>
#include <iostream>

#include "runner/cli/commands.hpp"
#include "runner/pipeline/loader.hpp"
#include "runner/util/local_identity.hpp"
#include "stages/environment_guard.hpp"
#include "stages/registry_factory.hpp"

namespace sluice::cli {

namespace {

struct RegistryOptions {
    std::string backend = "builtin";
    std::string uri;
    bool json = false;
};

util::Result<std::unique_ptr<registry::Registry>> open_for_cli(const GlobalOptions& global,
                                                               const RegistryOptions& options) {
    nlohmann::json config = options.backend;
    if (options.backend == "mlflow") {
        nlohmann::json settings = nlohmann::json::object();
        if (!options.uri.empty()) settings["uri"] = options.uri;
        config = {{"mlflow", settings}};
    }
    // The builtin registry lives in the state directory; an MLflow one needs none, but
    // the state directory is cheap and keeps the options uniform.
    auto session = open_session(global, std::filesystem::current_path());
    if (!session) return std::unexpected(session.error());
    return stages::open_registry(config, session->state.root);
}

nlohmann::json version_json(const registry::ModelVersion& v) {
    nlohmann::json metrics = nlohmann::json::object();
    for (const auto& [k, value] : v.metrics) metrics[k] = value;
    return {{"model", v.model},   {"version", v.version}, {"run_id", v.run_id},
            {"commit", v.commit}, {"source", v.source},   {"metrics", metrics},
            {"aliases", v.aliases}, {"created_ms", v.created_ms}};
}

std::string number(double value) {
    std::ostringstream out;
    out << std::setprecision(6) << value;
    return out.str();
}

int list_models(const GlobalOptions& global, const RegistryOptions& options) {
    auto reg = open_for_cli(global, options);
    if (!reg) return report_error(reg.error());
    auto models = (*reg)->models();
    if (!models) return report_error(models.error());
    if (options.json) {
        std::cout << nlohmann::json(*models).dump() << "\n";
        return 0;
    }
    if (models->empty()) std::cout << "no models yet in " << (*reg)->describe() << "\n";
    for (const auto& m : *models) std::cout << m << "\n";
    return 0;
}

int list_versions(const GlobalOptions& global, const RegistryOptions& options,
                  const std::string& model) {
    auto reg = open_for_cli(global, options);
    if (!reg) return report_error(reg.error());
    auto versions = (*reg)->versions(model);
    if (!versions) return report_error(versions.error());
    if (options.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& v : *versions) out.push_back(version_json(v));
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::cout << "VERSION  CREATED              RUN     COMMIT    ALIASES      METRICS\n";
    for (const auto& v : *versions) {
        std::string aliases;
        for (const auto& a : v.aliases) aliases += (aliases.empty() ? "" : ",") + a;
        std::string metrics;
        for (const auto& [k, value] : v.metrics) {
            metrics += (metrics.empty() ? "" : " ") + k + "=" + number(value);
        }
        std::cout << std::left << std::setw(9) << v.version << std::setw(21)
                  << local_time(v.created_ms) << std::setw(8) << v.run_id << std::setw(10)
                  << v.commit.substr(0, 8) << std::setw(13) << (aliases.empty() ? "-" : aliases)
                  << metrics << "\n";
    }
    return 0;
}

int show_metrics(const GlobalOptions& global, const RegistryOptions& options,
                 const std::string& model, const std::string& version) {
    auto reg = open_for_cli(global, options);
    if (!reg) return report_error(reg.error());
    auto v = (*reg)->version(model, version);
    if (!v) return report_error(v.error());
    if (options.json) {
        std::cout << version_json(*v)["metrics"].dump(2) << "\n";
        return 0;
    }
    for (const auto& [k, value] : v->metrics) std::cout << k << " = " << number(value) << "\n";
    return 0;
}

int alias(const GlobalOptions& global, const RegistryOptions& options, const std::string& model,
          const std::string& alias_name, const std::string& version, const std::string& reason) {
    auto reg = open_for_cli(global, options);
    if (!reg) return report_error(reg.error());
    if (version.empty()) {
        auto v = (*reg)->by_alias(model, alias_name);
        if (!v) return report_error(v.error());
        if (!*v) {
            return report_error({util::ErrorCode::not_found,
                                 "alias `" + alias_name + "` of model `" + model + "` is not set",
                                 {}});
        }
        if (options.json) {
            std::cout << version_json(**v).dump(2) << "\n";
        } else {
            std::cout << model << "@" << alias_name << " = version " << (*v)->version << "\n";
        }
        return 0;
    }
    // Moving an alias is a write to every environment it belongs to: the environment
    // named like it and, in the sluice.yml here (one that loads), those that promote to it.
    auto session = open_session(global, std::filesystem::current_path());
    if (!session) return report_error(session.error());
    std::optional<pipeline::Pipeline> here;
    if (std::error_code ec; std::filesystem::is_regular_file("sluice.yml", ec)) {
        if (auto loaded = pipeline::load_pipeline_file("sluice.yml")) here = std::move(*loaded);
    }
    auto guarded = stages::check_environment_writes(
        session->state.root, stages::environments_of_alias(here ? &*here : nullptr, alias_name),
        access::process_variables());
    if (!guarded) return report_error(guarded.error());
    for (const auto& w : *guarded) std::cerr << "sluice: warning: " << w << "\n";
    // Who moved the alias, kept in its history: the account, not what $USER says.
    auto who = util::local_identity();
    std::string actor = who.known() ? who.name : "unknown (" + who.unknown_why + ")";
    auto before = (*reg)->by_alias(model, alias_name);
    if (!before) return report_error(before.error());
    if (auto set = (*reg)->set_alias(model, alias_name, version, actor, reason); !set) {
        return report_error(set.error());
    }
    std::cout << model << "@" << alias_name << " = version " << version;
    if (*before && (*before)->version != version) std::cout << " (was " << (*before)->version << ")";
    std::cout << "\n";
    return 0;
}

}  // namespace

void add_registry_command(CLI::App& app, const GlobalOptions& global, int& exit_status) {
    auto* cmd = app.add_subcommand("registry", "Read and write the model registry");
    cmd->require_subcommand(1);
    auto options = std::make_shared<RegistryOptions>();
    auto add_common = [options](CLI::App* sub) {
        sub->add_option("--registry", options->backend, "builtin (default) or mlflow")
            ->check(CLI::IsMember({"builtin", "mlflow"}));
        sub->add_option("--uri", options->uri,
                        "MLflow tracking URI (default: $MLFLOW_TRACKING_URI)");
        sub->add_flag("--json", options->json, "Print JSON");
    };
    auto* models = cmd->add_subcommand("models", "List the registered models");
    add_common(models);
    models->callback([&global, &exit_status, options] {
        exit_status = list_models(global, *options);
    });

    auto model = std::make_shared<std::string>();
    auto version = std::make_shared<std::string>();
    auto* versions = cmd->add_subcommand("versions", "List a model's versions, newest first");
    add_common(versions);
    versions->add_option("MODEL", *model, "The model")->required();
    versions->callback([&global, &exit_status, options, model] {
        exit_status = list_versions(global, *options, *model);
    });

    auto* metrics = cmd->add_subcommand("metrics", "Print a model version's metrics");
    add_common(metrics);
    metrics->add_option("MODEL", *model, "The model")->required();
    metrics->add_option("VERSION", *version, "The version")->required();
    metrics->callback([&global, &exit_status, options, model, version] {
        exit_status = show_metrics(global, *options, *model, *version);
    });

    auto alias_name = std::make_shared<std::string>();
    auto reason = std::make_shared<std::string>();
    auto* alias_cmd = cmd->add_subcommand(
        "alias", "Print which version an alias points to, or point it at VERSION");
    add_common(alias_cmd);
    alias_cmd->add_option("MODEL", *model, "The model")->required();
    alias_cmd->add_option("ALIAS", *alias_name, "The alias (e.g. production)")->required();
    alias_cmd->add_option("VERSION", *version, "Point the alias at this version");
    alias_cmd->add_option("--reason", *reason, "Why (kept in the alias history)");
    alias_cmd->callback([&global, &exit_status, options, model, alias_name, version, reason] {
        exit_status = alias(global, *options, *model, *alias_name, *version, *reason);
    });
}

}  // namespace sluice::cli
