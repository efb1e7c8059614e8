// A client of MLflow's REST API 2.x (tracking and model registry) over an HttpClient:
// one typed method per endpoint, paths and methods as MLflow's REST reference gives them,
// with token or basic auth, timeouts, and retries with backoff on connection errors,
// timeouts and 5xx answers (never on 4xx).
//
// Errors (util::Error): MLflow's JSON errors keep their error_code and message,
//   "mlflow: RESOURCE_DOES_NOT_EXIST: Run with id=x not found (GET URL → 404)", and map by
//   error_code (never by message): RESOURCE_DOES_NOT_EXIST → not_found,
//   RESOURCE_ALREADY_EXISTS → conflict, other 4xx → bad_input, 5xx → unavailable.
//   401/403 → bad_input (credentials). No answer (down, timeout), an HTML or other
//   non-JSON answer, or JSON without the fields an answer must have → unavailable: sluice
//   fails closed on anything it cannot read.
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/mlflow/mlflow_settings.hpp"
#include "plugins/mlflow/mlflow_types.hpp"
#include "runner/http/http_client.hpp"
#include "runner/util/error.hpp"

namespace sluice::mlflow {

using util::Result;
using util::Status;

class MlflowClient {
public:
    // Waits between attempts; tests pass one that records instead of sleeping.
    using Sleep = std::function<void(std::chrono::milliseconds)>;

    // settings should come from resolve_settings() or check(); http must outlive the client.
    MlflowClient(Settings settings, http::HttpClient& http, Sleep sleep = {});

    const Settings& settings() const { return settings_; }

    // ---- tracking
    // GET experiments/get-by-name; not_found when there is none.
    Result<Experiment> get_experiment_by_name(const std::string& name);
    // POST experiments/create → the new experiment's id; conflict when the name is taken.
    Result<std::string> create_experiment(const CreateExperimentRequest& request);
    // POST runs/create
    Result<Run> create_run(const CreateRunRequest& request);
    // GET runs/get; not_found for an unknown run.
    Result<Run> get_run(const std::string& run_id);
    // POST runs/update
    Result<RunInfo> update_run(const UpdateRunRequest& request);
    // POST runs/log-batch (at most 1000 metrics, 100 params, 100 tags per call)
    Status log_batch(const LogBatchRequest& request);
    // POST runs/search: one page; search_all_runs follows next_page_token to the end.
    Result<SearchRunsResponse> search_runs(const SearchRunsRequest& request);
    Result<std::vector<Run>> search_all_runs(SearchRunsRequest request);

    // ---- model registry
    // POST registered-models/create; conflict when it exists.
    Result<RegisteredModel> create_registered_model(const CreateRegisteredModelRequest& request);
    // GET registered-models/get; not_found when there is none.
    Result<RegisteredModel> get_registered_model(const std::string& name);
    // GET registered-models/search: one page, or all of them.
    Result<SearchRegisteredModelsResponse> search_registered_models(
        const SearchRegisteredModelsRequest& request);
    Result<std::vector<RegisteredModel>> search_all_registered_models(
        SearchRegisteredModelsRequest request);
    // POST model-versions/create; not_found when the registered model does not exist.
    Result<ModelVersion> create_model_version(const CreateModelVersionRequest& request);
    // GET model-versions/get; not_found for an unknown model or version.
    Result<ModelVersion> get_model_version(const std::string& name, const std::string& version);
    // GET model-versions/search: one page, or all of them.
    Result<SearchModelVersionsResponse> search_model_versions(
        const SearchModelVersionsRequest& request);
    Result<std::vector<ModelVersion>> search_all_model_versions(SearchModelVersionsRequest request);
    // POST registered-models/get-latest-versions (deprecated stages); not_found for an
    // unknown model.
    Result<std::vector<ModelVersion>> get_latest_versions(const GetLatestVersionsRequest& request);
    // POST model-versions/set-tag
    Status set_model_version_tag(const SetModelVersionTagRequest& request);
    // POST registered-models/alias; not_found for an unknown model or version, bad_input
    // for a reserved alias name (v<digits>).
    Status set_registered_model_alias(const SetRegisteredModelAliasRequest& request);
    // GET registered-models/alias. nullopt when the alias is not set: MLflow answers that
    // (and an unknown model) with 400 INVALID_PARAMETER_VALUE, which is "no such alias",
    // not an outage.
    Result<std::optional<ModelVersion>> get_model_version_by_alias(const std::string& name,
                                                                   const std::string& alias);
    // DELETE registered-models/alias; deleting an alias that is not set is not an error.
    Status delete_registered_model_alias(const std::string& name, const std::string& alias);
    // POST model-versions/transition-stage (deprecated since MLflow 2.9: prefer aliases)
    Result<ModelVersion> transition_model_version_stage(
        const TransitionModelVersionStageRequest& request);

private:
    struct Failure;  // an error with MLflow's error_code, for the calls that look at it
    std::expected<nlohmann::json, Failure> call(http::Method method, std::string_view endpoint,
                                                const nlohmann::json& params);
    Result<nlohmann::json> call_or_error(http::Method method, std::string_view endpoint,
                                         const nlohmann::json& params);
    http::Request make_request(http::Method method, std::string_view endpoint,
                               const nlohmann::json& params) const;

    Settings settings_;
    http::HttpClient& http_;
    Sleep sleep_;
};

}  // namespace sluice::mlflow
