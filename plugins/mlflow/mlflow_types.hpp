// MLflow's REST API 2.x as C++ structs: the entities (runs, experiments, registered models,
// model versions) and one struct per request and response sluice sends or reads. Field
// names follow MLflow's REST reference. Every field is optional on the wire (MLflow leaves
// out empty and default values), so absent strings read as "", numbers as 0, lists as {}.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sluice::mlflow {

// Tags and params: key → value (on the wire: [{"key": ..., "value": ...}]).
using KeyValues = std::map<std::string, std::string>;

struct Metric {
    std::string key;
    double value = 0;
    std::int64_t timestamp = 0;  // Unix ms
    std::int64_t step = 0;
};

struct RunInfo {
    std::string run_id;
    std::string run_name;
    std::string experiment_id;  // a string, as MLflow has it
    std::string user_id;
    std::string status;  // RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
    std::int64_t start_time = 0;
    std::optional<std::int64_t> end_time;  // absent while RUNNING
    std::string artifact_uri;
    std::string lifecycle_stage;  // active, deleted
};

struct RunData {
    std::vector<Metric> metrics;  // runs/get: the latest value of each key
    KeyValues params;
    KeyValues tags;
};

struct Run {
    RunInfo info;
    RunData data;
};

struct Experiment {
    std::string experiment_id;
    std::string name;
    std::string artifact_location;
    std::string lifecycle_stage;
    std::int64_t creation_time = 0;
    std::int64_t last_update_time = 0;
    KeyValues tags;
};

struct ModelVersion {
    std::string name;
    std::string version;  // "1", "2", ...
    std::int64_t creation_timestamp = 0;
    std::int64_t last_updated_timestamp = 0;
    std::string user_id;
    std::string current_stage;  // None, Staging, Production, Archived (deprecated)
    std::string description;
    std::string source;
    std::string run_id;
    std::string status;  // PENDING_REGISTRATION, FAILED_REGISTRATION, READY
    std::string status_message;
    KeyValues tags;
    std::string run_link;
    std::vector<std::string> aliases;
};

struct RegisteredModelAlias {
    std::string alias;
    std::string version;
};

struct RegisteredModel {
    std::string name;
    std::int64_t creation_timestamp = 0;
    std::int64_t last_updated_timestamp = 0;
    std::string user_id;
    std::string description;
    std::vector<ModelVersion> latest_versions;  // the latest version in each stage
    KeyValues tags;
    std::vector<RegisteredModelAlias> aliases;
};

// ---- requests and responses (GET-by-key calls take their keys as arguments instead)

struct CreateExperimentRequest {  // POST experiments/create → experiment_id
    std::string name;
    std::string artifact_location;
    KeyValues tags;
};

struct CreateRunRequest {  // POST runs/create → run
    std::string experiment_id;
    std::string run_name;
    std::int64_t start_time = 0;
    KeyValues tags;
};

struct UpdateRunRequest {  // POST runs/update → run_info
    std::string run_id;
    std::string status;
    std::optional<std::int64_t> end_time;
    std::string run_name;
};

struct LogBatchRequest {  // POST runs/log-batch → {}
    std::string run_id;
    std::vector<Metric> metrics;  // at most 1000 per request
    KeyValues params;             // at most 100
    KeyValues tags;               // at most 100
};

struct SearchRunsRequest {  // POST runs/search
    std::vector<std::string> experiment_ids;
    std::string filter;
    std::string run_view_type;  // ACTIVE_ONLY (the default), DELETED_ONLY, ALL
    int max_results = 0;        // 0: the server's default (1000)
    std::vector<std::string> order_by;
    std::string page_token;
};

struct SearchRunsResponse {
    std::vector<Run> runs;
    std::string next_page_token;  // empty on the last page
};

struct CreateRegisteredModelRequest {  // POST registered-models/create → registered_model
    std::string name;
    std::string description;
    KeyValues tags;
};

struct SearchRegisteredModelsRequest {  // GET registered-models/search
    std::string filter;
    int max_results = 0;  // 0: the server's default (100)
    std::vector<std::string> order_by;
    std::string page_token;
};

struct SearchRegisteredModelsResponse {
    std::vector<RegisteredModel> registered_models;
    std::string next_page_token;
};

struct CreateModelVersionRequest {  // POST model-versions/create → model_version
    std::string name;
    std::string source;
    std::string run_id;
    KeyValues tags;
    std::string run_link;
    std::string description;
};

struct SearchModelVersionsRequest {  // GET model-versions/search
    std::string filter;              // e.g. name='churn'
    int max_results = 0;
    std::vector<std::string> order_by;
    std::string page_token;
};

struct SearchModelVersionsResponse {
    std::vector<ModelVersion> model_versions;
    std::string next_page_token;
};

struct GetLatestVersionsRequest {  // POST registered-models/get-latest-versions → model_versions
    std::string name;
    std::vector<std::string> stages;  // empty: the latest version of every stage
};

struct SetModelVersionTagRequest {  // POST model-versions/set-tag → {}
    std::string name;
    std::string version;
    std::string key;
    std::string value;
};

struct SetRegisteredModelAliasRequest {  // POST registered-models/alias → {}
    std::string name;
    std::string alias;
    std::string version;
};

struct TransitionModelVersionStageRequest {  // POST model-versions/transition-stage
    std::string name;
    std::string version;
    std::string stage;  // None, Staging, Production, Archived
    bool archive_existing_versions = false;
};

}  // namespace sluice::mlflow
