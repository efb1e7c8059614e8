// One mapping per MLflow request and response: requests to the JSON MLflow expects (empty
// fields left out, as MLflow's own client does) and answers from JSON, checked. An answer
// that lacks a field sluice needs, or has a field of the wrong type, is an error
// (ErrorCode::unavailable: the server answered garbage); absent optional fields are
// defaults, as in proto3 JSON.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plugins/mlflow/mlflow_types.hpp"
#include "runner/util/error.hpp"

namespace sluice::mlflow {

using util::Result;

// ---- requests: the JSON body of a POST/PATCH/DELETE, or the parameters of a GET
nlohmann::json to_json(const CreateExperimentRequest& request);
nlohmann::json to_json(const CreateRunRequest& request);
nlohmann::json to_json(const UpdateRunRequest& request);
nlohmann::json to_json(const LogBatchRequest& request);
nlohmann::json to_json(const SearchRunsRequest& request);
nlohmann::json to_json(const CreateRegisteredModelRequest& request);
nlohmann::json to_json(const SearchRegisteredModelsRequest& request);
nlohmann::json to_json(const CreateModelVersionRequest& request);
nlohmann::json to_json(const SearchModelVersionsRequest& request);
nlohmann::json to_json(const GetLatestVersionsRequest& request);
nlohmann::json to_json(const SetModelVersionTagRequest& request);
nlohmann::json to_json(const SetRegisteredModelAliasRequest& request);
nlohmann::json to_json(const TransitionModelVersionStageRequest& request);

// ---- answers. The message of an error names the field ("model_version.version is missing").
// experiments/get-by-name, experiments/get: {"experiment": {...}}
Result<Experiment> parse_experiment_response(const nlohmann::json& answer);
// experiments/create: {"experiment_id": "..."}
Result<std::string> parse_create_experiment_response(const nlohmann::json& answer);
// runs/get, runs/create: {"run": {...}}
Result<Run> parse_run_response(const nlohmann::json& answer);
// runs/update: {"run_info": {...}}
Result<RunInfo> parse_update_run_response(const nlohmann::json& answer);
Result<SearchRunsResponse> parse_search_runs_response(const nlohmann::json& answer);
// registered-models/create, registered-models/get: {"registered_model": {...}}
Result<RegisteredModel> parse_registered_model_response(const nlohmann::json& answer);
Result<SearchRegisteredModelsResponse> parse_search_registered_models_response(
    const nlohmann::json& answer);
// model-versions/create, model-versions/get, registered-models/alias (GET),
// model-versions/transition-stage: {"model_version": {...}}
Result<ModelVersion> parse_model_version_response(const nlohmann::json& answer);
Result<SearchModelVersionsResponse> parse_search_model_versions_response(
    const nlohmann::json& answer);
// registered-models/get-latest-versions: {"model_versions": [...]}
Result<std::vector<ModelVersion>> parse_latest_versions_response(const nlohmann::json& answer);

}  // namespace sluice::mlflow
