// The JSON mappings of MLflow's requests and answers. Reading goes through a JsonReader
// that remembers the first problem and returns defaults after it, so each mapping reads
// like the struct it fills and is checked once at the end.
#include "plugins/mlflow/mlflow_json.hpp"

#include <cmath>
#include <limits>
#include <optional>

namespace sluice::mlflow {

using nlohmann::json;

namespace {

class JsonReader {
public:
    bool ok() const { return !problem_.has_value(); }
    util::Error error() const { return {util::ErrorCode::unavailable, *problem_, {}}; }

    // The object at key (or the answer itself for an empty key); absent → empty object
    // unless required.
    const json& object(const json& parent, const std::string& path, const char* key,
                       bool required = false) {
        const json* value = find(parent, key);
        if (value == nullptr) {
            if (required) complain(join(path, key) + " is missing");
            return empty_object();
        }
        if (!value->is_object()) {
            complain(join(path, key) + " is not an object");
            return empty_object();
        }
        return *value;
    }

    const json& array(const json& parent, const std::string& path, const char* key) {
        const json* value = find(parent, key);
        if (value == nullptr) return empty_array();
        if (!value->is_array()) {
            complain(join(path, key) + " is not a list");
            return empty_array();
        }
        return *value;
    }

    std::string string(const json& parent, const std::string& path, const char* key,
                       bool required = false) {
        const json* value = find(parent, key);
        if (value == nullptr ||
            (value->is_string() && value->get_ref<const std::string&>().empty())) {
            if (required) complain(join(path, key) + " is missing");
            return "";
        }
        if (!value->is_string()) {
            complain(join(path, key) + " is not a string");
            return "";
        }
        return value->get<std::string>();
    }

    // int64 in proto3 JSON: a number or a decimal string.
    std::optional<std::int64_t> optional_integer(const json& parent, const std::string& path,
                                                 const char* key) {
        const json* value = find(parent, key);
        if (value == nullptr) return std::nullopt;
        if (value->is_number_integer()) return value->get<std::int64_t>();
        if (value->is_number_float()) {
            double d = value->get<double>();
            if (std::trunc(d) == d && std::abs(d) < 9.2e18) return static_cast<std::int64_t>(d);
        }
        if (value->is_string()) {
            const auto& text = value->get_ref<const std::string&>();
            try {
                std::size_t used = 0;
                long long n = std::stoll(text, &used);
                if (used == text.size()) return n;
            } catch (const std::exception&) {
            }
        }
        complain(join(path, key) + " is not an integer");
        return std::nullopt;
    }

    std::int64_t integer(const json& parent, const std::string& path, const char* key) {
        return optional_integer(parent, path, key).value_or(0);
    }

    // double in proto3 JSON: a number, or "NaN", "Infinity", "-Infinity".
    double number(const json& parent, const std::string& path, const char* key) {
        const json* value = find(parent, key);
        if (value == nullptr) return 0;
        if (value->is_number()) return value->get<double>();
        if (value->is_string()) {
            const auto& text = value->get_ref<const std::string&>();
            if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
            if (text == "Infinity") return std::numeric_limits<double>::infinity();
            if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
        }
        complain(join(path, key) + " is not a number");
        return 0;
    }

    // [{"key": ..., "value": ...}] → map
    KeyValues key_values(const json& parent, const std::string& path, const char* key) {
        KeyValues out;
        const json& list = array(parent, path, key);
        for (std::size_t i = 0; i < list.size(); ++i) {
            std::string item_path = join(path, key) + "[" + std::to_string(i) + "]";
            if (!list[i].is_object()) {
                complain(item_path + " is not an object");
                break;
            }
            std::string k = string(list[i], item_path, "key", true);
            out[k] = string(list[i], item_path, "value");
        }
        return out;
    }

    std::vector<std::string> strings(const json& parent, const std::string& path, const char* key) {
        std::vector<std::string> out;
        const json& list = array(parent, path, key);
        for (const auto& item : list) {
            if (!item.is_string()) {
                complain(join(path, key) + " is not a list of strings");
                break;
            }
            out.push_back(item.get<std::string>());
        }
        return out;
    }

    void complain(std::string problem) {
        if (!problem_) problem_ = std::move(problem);
    }

    static std::string join(const std::string& path, const char* key) {
        return path.empty() ? key : path + "." + key;
    }

private:
    const json* find(const json& parent, const char* key) {
        if (!parent.is_object()) return nullptr;
        auto it = parent.find(key);
        if (it == parent.end() || it->is_null()) return nullptr;
        return &*it;
    }
    static const json& empty_object() {
        static const json k_empty = json::object();
        return k_empty;
    }
    static const json& empty_array() {
        static const json k_empty = json::array();
        return k_empty;
    }

    std::optional<std::string> problem_;
};

template <class T>
Result<T> checked(const JsonReader& reader, T value) {
    if (!reader.ok()) return std::unexpected(reader.error());
    return value;
}

json key_values_json(const KeyValues& values) {
    json out = json::array();
    for (const auto& [key, value] : values) out.push_back({{"key", key}, {"value", value}});
    return out;
}

void put(json& out, const char* key, const std::string& value) {
    if (!value.empty()) out[key] = value;
}

void put(json& out, const char* key, const std::vector<std::string>& values) {
    if (!values.empty()) out[key] = values;
}

void put(json& out, const char* key, const KeyValues& values) {
    if (!values.empty()) out[key] = key_values_json(values);
}

void put_positive(json& out, const char* key, std::int64_t value) {
    if (value > 0) out[key] = value;
}

// ---- entities

Metric read_metric(JsonReader& r, const json& o, const std::string& path) {
    Metric m;
    m.key = r.string(o, path, "key", true);
    m.value = r.number(o, path, "value");
    m.timestamp = r.integer(o, path, "timestamp");
    m.step = r.integer(o, path, "step");
    return m;
}

RunInfo read_run_info(JsonReader& r, const json& o, const std::string& path) {
    RunInfo info;
    info.run_id = r.string(o, path, "run_id");
    if (info.run_id.empty()) info.run_id = r.string(o, path, "run_uuid");
    if (info.run_id.empty()) r.complain(JsonReader::join(path, "run_id") + " is missing");
    info.run_name = r.string(o, path, "run_name");
    info.experiment_id = r.string(o, path, "experiment_id");
    info.user_id = r.string(o, path, "user_id");
    info.status = r.string(o, path, "status");
    info.start_time = r.integer(o, path, "start_time");
    info.end_time = r.optional_integer(o, path, "end_time");
    info.artifact_uri = r.string(o, path, "artifact_uri");
    info.lifecycle_stage = r.string(o, path, "lifecycle_stage");
    return info;
}

Run read_run(JsonReader& r, const json& o, const std::string& path) {
    Run run;
    run.info = read_run_info(r, r.object(o, path, "info", true), JsonReader::join(path, "info"));
    std::string data_path = JsonReader::join(path, "data");
    const json& data = r.object(o, path, "data");
    const json& metrics = r.array(data, data_path, "metrics");
    for (std::size_t i = 0; i < metrics.size(); ++i) {
        std::string item_path = data_path + ".metrics[" + std::to_string(i) + "]";
        if (!metrics[i].is_object()) {
            r.complain(item_path + " is not an object");
            break;
        }
        run.data.metrics.push_back(read_metric(r, metrics[i], item_path));
    }
    run.data.params = r.key_values(data, data_path, "params");
    run.data.tags = r.key_values(data, data_path, "tags");
    return run;
}

Experiment read_experiment(JsonReader& r, const json& o, const std::string& path) {
    Experiment e;
    e.experiment_id = r.string(o, path, "experiment_id", true);
    e.name = r.string(o, path, "name");
    e.artifact_location = r.string(o, path, "artifact_location");
    e.lifecycle_stage = r.string(o, path, "lifecycle_stage");
    e.creation_time = r.integer(o, path, "creation_time");
    e.last_update_time = r.integer(o, path, "last_update_time");
    e.tags = r.key_values(o, path, "tags");
    return e;
}

ModelVersion read_model_version(JsonReader& r, const json& o, const std::string& path) {
    ModelVersion v;
    v.name = r.string(o, path, "name", true);
    v.version = r.string(o, path, "version", true);
    v.creation_timestamp = r.integer(o, path, "creation_timestamp");
    v.last_updated_timestamp = r.integer(o, path, "last_updated_timestamp");
    v.user_id = r.string(o, path, "user_id");
    v.current_stage = r.string(o, path, "current_stage");
    v.description = r.string(o, path, "description");
    v.source = r.string(o, path, "source");
    v.run_id = r.string(o, path, "run_id");
    v.status = r.string(o, path, "status");
    v.status_message = r.string(o, path, "status_message");
    v.tags = r.key_values(o, path, "tags");
    v.run_link = r.string(o, path, "run_link");
    v.aliases = r.strings(o, path, "aliases");
    return v;
}

std::vector<ModelVersion> read_model_versions(JsonReader& r, const json& o, const std::string& path,
                                              const char* key) {
    std::vector<ModelVersion> out;
    const json& list = r.array(o, path, key);
    for (std::size_t i = 0; i < list.size() && r.ok(); ++i) {
        std::string item_path = JsonReader::join(path, key) + "[" + std::to_string(i) + "]";
        if (!list[i].is_object()) {
            r.complain(item_path + " is not an object");
            break;
        }
        out.push_back(read_model_version(r, list[i], item_path));
    }
    return out;
}

RegisteredModel read_registered_model(JsonReader& r, const json& o, const std::string& path) {
    RegisteredModel m;
    m.name = r.string(o, path, "name", true);
    m.creation_timestamp = r.integer(o, path, "creation_timestamp");
    m.last_updated_timestamp = r.integer(o, path, "last_updated_timestamp");
    m.user_id = r.string(o, path, "user_id");
    m.description = r.string(o, path, "description");
    m.latest_versions = read_model_versions(r, o, path, "latest_versions");
    m.tags = r.key_values(o, path, "tags");
    const json& aliases = r.array(o, path, "aliases");
    for (std::size_t i = 0; i < aliases.size(); ++i) {
        std::string item_path = JsonReader::join(path, "aliases") + "[" + std::to_string(i) + "]";
        if (!aliases[i].is_object()) {
            r.complain(item_path + " is not an object");
            break;
        }
        m.aliases.push_back({r.string(aliases[i], item_path, "alias", true),
                             r.string(aliases[i], item_path, "version", true)});
    }
    return m;
}

}  // namespace

// ---- requests

json to_json(const CreateExperimentRequest& request) {
    json out = json::object();
    put(out, "name", request.name);
    put(out, "artifact_location", request.artifact_location);
    put(out, "tags", request.tags);
    return out;
}

json to_json(const CreateRunRequest& request) {
    json out = json::object();
    put(out, "experiment_id", request.experiment_id);
    put(out, "run_name", request.run_name);
    put_positive(out, "start_time", request.start_time);
    put(out, "tags", request.tags);
    return out;
}

json to_json(const UpdateRunRequest& request) {
    json out = json::object();
    put(out, "run_id", request.run_id);
    put(out, "status", request.status);
    if (request.end_time) out["end_time"] = *request.end_time;
    put(out, "run_name", request.run_name);
    return out;
}

json to_json(const LogBatchRequest& request) {
    json out = json::object();
    put(out, "run_id", request.run_id);
    if (!request.metrics.empty()) {
        json metrics = json::array();
        for (const auto& m : request.metrics) {
            // proto3 JSON spells the doubles JSON cannot hold as strings.
            json value = std::isnan(m.value)   ? json("NaN")
                         : std::isinf(m.value) ? json(m.value > 0 ? "Infinity" : "-Infinity")
                                               : json(m.value);
            metrics.push_back(
                {{"key", m.key}, {"value", value}, {"timestamp", m.timestamp}, {"step", m.step}});
        }
        out["metrics"] = std::move(metrics);
    }
    put(out, "params", request.params);
    put(out, "tags", request.tags);
    return out;
}

json to_json(const SearchRunsRequest& request) {
    json out = json::object();
    put(out, "experiment_ids", request.experiment_ids);
    put(out, "filter", request.filter);
    put(out, "run_view_type", request.run_view_type);
    put_positive(out, "max_results", request.max_results);
    put(out, "order_by", request.order_by);
    put(out, "page_token", request.page_token);
    return out;
}

json to_json(const CreateRegisteredModelRequest& request) {
    json out = json::object();
    put(out, "name", request.name);
    put(out, "description", request.description);
    put(out, "tags", request.tags);
    return out;
}

json to_json(const SearchRegisteredModelsRequest& request) {
    json out = json::object();
    put(out, "filter", request.filter);
    put_positive(out, "max_results", request.max_results);
    put(out, "order_by", request.order_by);
    put(out, "page_token", request.page_token);
    return out;
}

json to_json(const CreateModelVersionRequest& request) {
    json out = json::object();
    put(out, "name", request.name);
    put(out, "source", request.source);
    put(out, "run_id", request.run_id);
    put(out, "tags", request.tags);
    put(out, "run_link", request.run_link);
    put(out, "description", request.description);
    return out;
}

json to_json(const SearchModelVersionsRequest& request) {
    json out = json::object();
    put(out, "filter", request.filter);
    put_positive(out, "max_results", request.max_results);
    put(out, "order_by", request.order_by);
    put(out, "page_token", request.page_token);
    return out;
}

json to_json(const GetLatestVersionsRequest& request) {
    json out = json::object();
    put(out, "name", request.name);
    put(out, "stages", request.stages);
    return out;
}

json to_json(const SetModelVersionTagRequest& request) {
    return {{"name", request.name},
            {"version", request.version},
            {"key", request.key},
            {"value", request.value}};
}

json to_json(const SetRegisteredModelAliasRequest& request) {
    return {{"name", request.name}, {"alias", request.alias}, {"version", request.version}};
}

json to_json(const TransitionModelVersionStageRequest& request) {
    return {{"name", request.name},
            {"version", request.version},
            {"stage", request.stage},
            {"archive_existing_versions", request.archive_existing_versions}};
}

// ---- answers

Result<Experiment> parse_experiment_response(const json& answer) {
    JsonReader r;
    auto e = read_experiment(r, r.object(answer, "", "experiment", true), "experiment");
    return checked(r, std::move(e));
}

Result<std::string> parse_create_experiment_response(const json& answer) {
    JsonReader r;
    auto id = r.string(answer, "", "experiment_id", true);
    return checked(r, std::move(id));
}

Result<Run> parse_run_response(const json& answer) {
    JsonReader r;
    auto run = read_run(r, r.object(answer, "", "run", true), "run");
    return checked(r, std::move(run));
}

Result<RunInfo> parse_update_run_response(const json& answer) {
    JsonReader r;
    auto info = read_run_info(r, r.object(answer, "", "run_info", true), "run_info");
    return checked(r, std::move(info));
}

Result<SearchRunsResponse> parse_search_runs_response(const json& answer) {
    JsonReader r;
    SearchRunsResponse out;
    const json& runs = r.array(answer, "", "runs");
    for (std::size_t i = 0; i < runs.size() && r.ok(); ++i) {
        std::string path = "runs[" + std::to_string(i) + "]";
        if (!runs[i].is_object()) {
            r.complain(path + " is not an object");
            break;
        }
        out.runs.push_back(read_run(r, runs[i], path));
    }
    out.next_page_token = r.string(answer, "", "next_page_token");
    return checked(r, std::move(out));
}

Result<RegisteredModel> parse_registered_model_response(const json& answer) {
    JsonReader r;
    auto model = read_registered_model(r, r.object(answer, "", "registered_model", true),
                                       "registered_model");
    return checked(r, std::move(model));
}

Result<SearchRegisteredModelsResponse> parse_search_registered_models_response(const json& answer) {
    JsonReader r;
    SearchRegisteredModelsResponse out;
    const json& models = r.array(answer, "", "registered_models");
    for (std::size_t i = 0; i < models.size() && r.ok(); ++i) {
        std::string path = "registered_models[" + std::to_string(i) + "]";
        if (!models[i].is_object()) {
            r.complain(path + " is not an object");
            break;
        }
        out.registered_models.push_back(read_registered_model(r, models[i], path));
    }
    out.next_page_token = r.string(answer, "", "next_page_token");
    return checked(r, std::move(out));
}

Result<ModelVersion> parse_model_version_response(const json& answer) {
    JsonReader r;
    auto v = read_model_version(r, r.object(answer, "", "model_version", true), "model_version");
    return checked(r, std::move(v));
}

Result<SearchModelVersionsResponse> parse_search_model_versions_response(const json& answer) {
    JsonReader r;
    SearchModelVersionsResponse out;
    out.model_versions = read_model_versions(r, answer, "", "model_versions");
    out.next_page_token = r.string(answer, "", "next_page_token");
    return checked(r, std::move(out));
}

Result<std::vector<ModelVersion>> parse_latest_versions_response(const json& answer) {
    JsonReader r;
    auto versions = read_model_versions(r, answer, "", "model_versions");
    return checked(r, std::move(versions));
}

}  // namespace sluice::mlflow
