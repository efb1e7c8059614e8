// MlflowRegistry: sluice's Registry calls as sequences of MLflow REST calls.
#include "plugins/mlflow/mlflow_registry.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <tuple>

#include "runner/http/curl_http_client.hpp"

namespace sluice::mlflow {

using util::ErrorCode;

struct MlflowRegistry::Owned {
    explicit Owned(Settings settings) : client(std::move(settings), http) {}
    util::SystemClock clock;
    http::CurlHttpClient http;
    MlflowClient client;
};

namespace {

constexpr std::size_t k_metrics_per_batch = 1000;  // MLflow's log-batch limit

// Newest first: versions are decimal strings, so compare them as numbers.
bool newer(const ModelVersion& a, const ModelVersion& b) {
    if (a.version.size() != b.version.size()) return a.version.size() > b.version.size();
    return a.version > b.version;
}

registry::ModelVersion to_registry(const ModelVersion& v) {
    registry::ModelVersion out;
    out.model = v.name;
    out.version = v.version;
    out.run_id = v.run_id;
    out.source = v.source;
    out.aliases = v.aliases;
    out.created_ms = v.creation_timestamp;
    if (auto it = v.tags.find(std::string(k_commit_tag)); it != v.tags.end())
        out.commit = it->second;
    return out;
}

}  // namespace

registry::Metrics latest_metrics(const std::vector<Metric>& metrics) {
    std::map<std::string, const Metric*> latest;
    for (const auto& m : metrics) {
        auto [it, inserted] = latest.try_emplace(m.key, &m);
        if (!inserted && std::tie(m.step, m.timestamp, m.value) >
                             std::tie(it->second->step, it->second->timestamp, it->second->value)) {
            it->second = &m;
        }
    }
    registry::Metrics out;
    for (const auto& [key, m] : latest) out[key] = m->value;
    return out;
}

std::optional<std::string> fallback_stage(std::string_view alias) {
    std::string lower(alias);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "production") return "Production";
    if (lower == "staging") return "Staging";
    return std::nullopt;
}

MlflowRegistry::MlflowRegistry(MlflowClient& client, const util::Clock& clock)
    : client_(client), clock_(clock) {}

MlflowRegistry::MlflowRegistry(std::unique_ptr<Owned> owned)
    : owned_(std::move(owned)), client_(owned_->client), clock_(owned_->clock) {}

MlflowRegistry::~MlflowRegistry() = default;

std::unique_ptr<MlflowRegistry> MlflowRegistry::open(Settings settings) {
    return std::unique_ptr<MlflowRegistry>(
        new MlflowRegistry(std::make_unique<Owned>(std::move(settings))));
}

std::string MlflowRegistry::describe() const {
    return "mlflow (" + client_.settings().tracking_uri + ")";
}

Result<registry::ModelVersion> MlflowRegistry::complete(const ModelVersion& version) {
    registry::ModelVersion out = to_registry(version);
    if (version.run_id.empty()) return out;
    auto run = client_.get_run(version.run_id);
    if (!run) {
        // A run that is gone (or lives in another tracking server) leaves the version
        // without metrics: a gate on them then fails, which is the safe way round.
        if (run.error().code == ErrorCode::not_found) return out;
        return std::unexpected(run.error());
    }
    out.metrics = latest_metrics(run->data.metrics);
    if (auto it = run->data.tags.find(std::string(k_commit_tag)); it != run->data.tags.end()) {
        out.commit = it->second;
    }
    return out;
}

Result<registry::Metrics> MlflowRegistry::run_metrics(const std::string& run_id) {
    auto run = client_.get_run(run_id);
    if (!run) return std::unexpected(run.error());
    return latest_metrics(run->data.metrics);
}

Result<std::vector<std::string>> MlflowRegistry::models() {
    auto models = client_.search_all_registered_models({});
    if (!models) return std::unexpected(models.error());
    std::vector<std::string> names;
    for (const auto& m : *models) names.push_back(m.name);
    std::sort(names.begin(), names.end());
    return names;
}

Result<std::vector<registry::ModelVersion>> MlflowRegistry::versions(const std::string& model) {
    if (model.find('\'') != std::string::npos) {
        return util::fail(ErrorCode::bad_input,
                          "mlflow: model names with a single quote cannot be searched: " + model);
    }
    SearchModelVersionsRequest request;
    request.filter = "name='" + model + "'";
    auto found = client_.search_all_model_versions(request);
    if (!found) return std::unexpected(found.error());
    if (found->empty()) {
        // Nothing found: a model without versions, or no such model (not_found).
        auto registered = client_.get_registered_model(model);
        if (!registered) return std::unexpected(registered.error());
        return std::vector<registry::ModelVersion>{};
    }
    std::sort(found->begin(), found->end(), newer);
    std::vector<registry::ModelVersion> out;
    for (const auto& v : *found) {
        auto completed = complete(v);
        if (!completed) return std::unexpected(completed.error());
        out.push_back(std::move(*completed));
    }
    return out;
}

Result<registry::ModelVersion> MlflowRegistry::version(const std::string& model,
                                                       const std::string& version) {
    auto found = client_.get_model_version(model, version);
    if (!found) return std::unexpected(found.error());
    return complete(*found);
}

Result<std::optional<registry::ModelVersion>> MlflowRegistry::by_alias(const std::string& model,
                                                                       const std::string& alias) {
    auto found = client_.get_model_version_by_alias(model, alias);
    if (!found) return std::unexpected(found.error());
    if (*found) {
        auto completed = complete(**found);
        if (!completed) return std::unexpected(completed.error());
        return std::optional<registry::ModelVersion>(std::move(*completed));
    }
    // Not set. MLflow says the same for a model that does not exist; tell them apart.
    if (auto stage = fallback_stage(alias)) {
        auto latest = client_.get_latest_versions({model, {*stage}});
        if (!latest) return std::unexpected(latest.error());
        if (latest->empty()) return std::optional<registry::ModelVersion>();
        auto completed = complete(*std::max_element(
            latest->begin(), latest->end(),
            [](const ModelVersion& a, const ModelVersion& b) { return newer(b, a); }));
        if (!completed) return std::unexpected(completed.error());
        return std::optional<registry::ModelVersion>(std::move(*completed));
    }
    auto registered = client_.get_registered_model(model);
    if (!registered) return std::unexpected(registered.error());
    return std::optional<registry::ModelVersion>();
}

Result<std::string> MlflowRegistry::sluice_experiment() {
    std::string name(k_sluice_experiment);
    auto found = client_.get_experiment_by_name(name);
    if (found) return found->experiment_id;
    if (found.error().code != ErrorCode::not_found) return std::unexpected(found.error());
    auto created = client_.create_experiment({name, "", {}});
    if (created) return *created;
    if (created.error().code != ErrorCode::conflict) return std::unexpected(created.error());
    // Another runner created it in between.
    found = client_.get_experiment_by_name(name);
    if (!found) return std::unexpected(found.error());
    return found->experiment_id;
}

Status MlflowRegistry::log_metrics(const std::string& run_id, const registry::Metrics& metrics) {
    std::int64_t now = clock_.epoch_ms();
    LogBatchRequest batch;
    batch.run_id = run_id;
    for (auto it = metrics.begin(); it != metrics.end();) {
        batch.metrics.push_back({it->first, it->second, now, 0});
        ++it;
        if (batch.metrics.size() == k_metrics_per_batch || it == metrics.end()) {
            if (auto logged = client_.log_batch(batch); !logged) return logged;
            batch.metrics.clear();
        }
    }
    return {};
}

Result<registry::ModelVersion> MlflowRegistry::create_version(const registry::NewVersion& nv) {
    if (nv.model.empty())
        return util::fail(ErrorCode::bad_input, "mlflow: a model version needs a model name");
    for (const auto& [key, value] : nv.metrics) {
        if (!std::isfinite(value)) {
            return util::fail(
                ErrorCode::bad_input,
                "metric " + key + " is not a finite number; MLflow cannot gate on it");
        }
    }
    if (nv.run_id.empty() && nv.source.empty() && nv.metrics.empty() && nv.commit.empty()) {
        return util::fail(ErrorCode::bad_input,
                          "mlflow: a model version needs a source, a run, metrics or a commit");
    }

    CreateRegisteredModelRequest new_model;
    new_model.name = nv.model;
    if (auto created = client_.create_registered_model(new_model);
        !created && created.error().code != ErrorCode::conflict) {
        return std::unexpected(created.error());
    }

    std::string run_id = nv.run_id;
    if (run_id.empty() && (!nv.metrics.empty() || !nv.commit.empty())) {
        auto experiment_id = sluice_experiment();
        if (!experiment_id) return std::unexpected(experiment_id.error());
        CreateRunRequest new_run;
        new_run.experiment_id = *experiment_id;
        new_run.run_name = nv.model + (nv.commit.empty() ? "" : "@" + nv.commit.substr(0, 12));
        new_run.start_time = clock_.epoch_ms();
        new_run.tags["sluice.model"] = nv.model;
        if (!nv.commit.empty()) new_run.tags[std::string(k_commit_tag)] = nv.commit;
        auto run = client_.create_run(new_run);
        if (!run) return std::unexpected(run.error());
        run_id = run->info.run_id;
        if (auto logged = log_metrics(run_id, nv.metrics); !logged) {
            return std::unexpected(logged.error());
        }
        UpdateRunRequest finish;
        finish.run_id = run_id;
        finish.status = "FINISHED";
        finish.end_time = clock_.epoch_ms();
        if (auto finished = client_.update_run(finish); !finished) {
            return std::unexpected(finished.error());
        }
    } else if (!nv.metrics.empty()) {
        if (auto logged = log_metrics(run_id, nv.metrics); !logged) {
            return std::unexpected(logged.error());
        }
    }

    CreateModelVersionRequest request;
    request.name = nv.model;
    request.source = nv.source.empty() ? "runs:/" + run_id + "/model" : nv.source;
    request.run_id = run_id;  // empty only when a source was given
    if (!nv.commit.empty()) request.tags[std::string(k_commit_tag)] = nv.commit;
    auto created = client_.create_model_version(request);
    if (!created) return std::unexpected(created.error());
    return complete(*created);
}

Status MlflowRegistry::set_alias(const std::string& model, const std::string& alias,
                                 const std::string& version, const std::string& /*actor*/,
                                 const std::string& /*reason*/) {
    // MLflow has nowhere to keep who moved an alias or why; sluice's environment history does.
    return client_.set_registered_model_alias({model, alias, version});
}

Result<std::vector<registry::AliasMove>> MlflowRegistry::alias_history(const std::string&,
                                                                       const std::string&) {
    return util::fail(ErrorCode::bad_input,
                      "MLflow keeps no history of alias moves; sluice keeps each environment's "
                      "history itself (sluice env history ENV)");
}

}  // namespace sluice::mlflow
