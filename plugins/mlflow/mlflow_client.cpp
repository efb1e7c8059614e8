// MlflowClient: building requests (query string for GET, JSON body otherwise), the retry
// loop, turning answers into JSON or errors, and one small method per endpoint.
#include "plugins/mlflow/mlflow_client.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>
#include <utility>

#include "plugins/mlflow/mlflow_json.hpp"
#include "runner/http/auth.hpp"

namespace sluice::mlflow {

using nlohmann::json;
using util::ErrorCode;

struct MlflowClient::Failure {
    util::Error error;
    int status = 0;          // the HTTP status; 0 when no answer came
    std::string error_code;  // MLflow's error_code when it answered a JSON error
};

namespace {

constexpr std::string_view k_api = "/api/2.0/mlflow/";
constexpr int k_max_pages = 100'000;

std::string query_value(const json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
    return value.dump();
}

std::string squeeze(std::string_view text, std::size_t limit) {
    std::string out;
    for (char c : text) {
        bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
        if (space) {
            if (!out.empty() && out.back() != ' ') out += ' ';
        } else {
            out += c;
        }
        if (out.size() >= limit) {
            out += "...";
            break;
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

// The <title> of an HTML page, else its first characters.
std::string html_summary(const std::string& body) {
    std::string lower = body;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto open = lower.find("<title>");
    auto close = lower.find("</title>");
    if (open != std::string::npos && close != std::string::npos && close > open) {
        return squeeze(std::string_view(body).substr(open + 7, close - open - 7), 80);
    }
    return squeeze(body, 80);
}

bool looks_like_html(const http::Response& response) {
    if (response.media_type() == "text/html") return true;
    auto first = response.body.find_first_not_of(" \t\r\n");
    return first != std::string::npos && response.body[first] == '<';
}

ErrorCode code_for(std::string_view error_code, int status) {
    if (error_code == "RESOURCE_DOES_NOT_EXIST" || error_code == "NOT_FOUND") {
        return ErrorCode::not_found;
    }
    if (error_code == "RESOURCE_ALREADY_EXISTS" || error_code == "ALREADY_EXISTS") {
        return ErrorCode::conflict;
    }
    // Databricks' name for a path it does not serve: the URI is wrong, not the request.
    if (error_code == "ENDPOINT_NOT_FOUND") return ErrorCode::unavailable;
    return status >= 500 ? ErrorCode::unavailable : ErrorCode::bad_input;
}

Status need(const std::string& value, const char* what) {
    if (value.empty())
        return util::fail(ErrorCode::bad_input, std::string("mlflow: no ") + what + " given");
    return {};
}

template <class T>
Result<T> parsed(Result<T> value, const std::string& what) {
    if (!value) {
        return util::fail(ErrorCode::unavailable, "mlflow answered JSON sluice cannot use (" +
                                                      what + "): " + value.error().message);
    }
    return value;
}

}  // namespace

MlflowClient::MlflowClient(Settings settings, http::HttpClient& http, Sleep sleep)
    : settings_(std::move(settings)), http_(http), sleep_(std::move(sleep)) {
    if (!sleep_) sleep_ = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
}

http::Request MlflowClient::make_request(http::Method method, std::string_view endpoint,
                                         const json& params) const {
    http::Request request;
    request.method = method;
    request.url = settings_.tracking_uri + std::string(k_api) + std::string(endpoint);
    request.connect_timeout = settings_.connect_timeout;
    request.total_timeout = settings_.timeout;
    request.headers.push_back({"Accept", "application/json"});
    if (!settings_.username.empty() && !settings_.password.empty()) {
        request.headers.push_back(
            {"Authorization", http::basic_authorization(settings_.username, settings_.password)});
    } else if (!settings_.token.empty()) {
        request.headers.push_back({"Authorization", http::bearer_authorization(settings_.token)});
    }
    if (method == http::Method::get) {
        std::vector<std::pair<std::string, std::string>> query;
        for (const auto& [key, value] : params.items()) {
            if (value.is_array()) {
                for (const auto& item : value) query.emplace_back(key, query_value(item));
            } else {
                query.emplace_back(key, query_value(value));
            }
        }
        if (!query.empty()) request.url += "?" + http::query_string(query);
    } else {
        request.headers.push_back({"Content-Type", "application/json"});
        request.body = params.dump();
    }
    return request;
}

std::expected<json, MlflowClient::Failure> MlflowClient::call(http::Method method,
                                                              std::string_view endpoint,
                                                              const json& params) {
    http::Request request = make_request(method, endpoint, params);
    std::string what = std::string(http::to_string(method)) + " " + request.url;
    int attempts = settings_.retries + 1;
    auto backoff = settings_.initial_backoff;
    for (int attempt = 1;; ++attempt) {
        auto response = http_.send(request);
        bool retryable =
            response ? response->status >= 500 : response.error().code == ErrorCode::unavailable;
        if (retryable && attempt < attempts) {
            if (backoff.count() > 0) sleep_(backoff);
            backoff = std::min(backoff * 2, settings_.max_backoff);
            continue;
        }
        std::string tries = attempt > 1 ? ", after " + std::to_string(attempt) + " attempts" : "";

        if (!response) {
            util::Error error = response.error();
            error.message =
                "mlflow: " + error.message + (tries.empty() ? "" : " (" + tries.substr(2) + ")");
            return std::unexpected(Failure{std::move(error), 0, ""});
        }
        int status = response->status;
        std::string where = what + " → " + std::to_string(status) + tries;
        auto failure = [&](ErrorCode code, std::string message, std::string error_code = "") {
            return std::unexpected(
                Failure{{code, std::move(message), {}}, status, std::move(error_code)});
        };

        if (status == 401 || status == 403) {
            bool sent = !settings_.token.empty() || !settings_.username.empty();
            std::string hint = status == 403 ? "the credentials sent have no permission for this"
                               : sent
                                   ? "the server refused the credentials sent"
                                   : "the server wants credentials: set MLFLOW_TRACKING_TOKEN, or "
                                     "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD";
            return failure(
                ErrorCode::bad_input,
                "mlflow: " + std::string(status == 401 ? "401 Unauthorized" : "403 Forbidden") +
                    " (" + where + "): " + hint);
        }
        if (status >= 300 && status < 400) {
            std::string location(response->header("location").value_or("nowhere"));
            return failure(ErrorCode::unavailable,
                           "mlflow redirected to " + location + " (" + where +
                               "); sluice follows no redirects (is the URI right?)");
        }
        if (looks_like_html(*response)) {
            return failure(ErrorCode::unavailable, "mlflow answered HTML, not JSON (" + where +
                                                       ": \"" + html_summary(response->body) +
                                                       "\") (is the URI right?)");
        }
        json answer = json::parse(response->body, nullptr, false);
        if (answer.is_discarded() || !answer.is_object()) {
            std::string type =
                response->content_type.empty() ? "no content type" : response->content_type;
            return failure(ErrorCode::unavailable,
                           "mlflow answered something that is not a JSON object (" + where + ", " +
                               type + ": \"" + squeeze(response->body, 80) +
                               "\") (is the URI right?)");
        }
        if (status >= 200 && status < 300) return answer;

        std::string error_code;
        std::string message;
        if (auto it = answer.find("error_code"); it != answer.end() && it->is_string()) {
            error_code = it->get<std::string>();
        }
        if (auto it = answer.find("message"); it != answer.end() && it->is_string()) {
            message = it->get<std::string>();
        }
        if (error_code.empty()) {
            return failure(ErrorCode::unavailable,
                           "mlflow answered an error without an error_code (" + where + ": \"" +
                               squeeze(response->body, 80) + "\")");
        }
        return failure(code_for(error_code, status),
                       "mlflow: " + error_code + ": " + message + " (" + where + ")", error_code);
    }
}

Result<json> MlflowClient::call_or_error(http::Method method, std::string_view endpoint,
                                         const json& params) {
    auto answer = call(method, endpoint, params);
    if (!answer) return std::unexpected(std::move(answer.error().error));
    return std::move(*answer);
}

// ---- tracking

Result<Experiment> MlflowClient::get_experiment_by_name(const std::string& name) {
    if (auto ok = need(name, "experiment name"); !ok) return std::unexpected(ok.error());
    auto answer =
        call_or_error(http::Method::get, "experiments/get-by-name", {{"experiment_name", name}});
    if (!answer) return std::unexpected(answer.error());
    return parsed(parse_experiment_response(*answer), "experiments/get-by-name");
}

Result<std::string> MlflowClient::create_experiment(const CreateExperimentRequest& request) {
    if (auto ok = need(request.name, "experiment name"); !ok) return std::unexpected(ok.error());
    auto answer = call_or_error(http::Method::post, "experiments/create", to_json(request));
    if (!answer) return std::unexpected(answer.error());
    return parsed(parse_create_experiment_response(*answer), "experiments/create");
}

Result<Run> MlflowClient::create_run(const CreateRunRequest& request) {
    auto answer = call_or_error(http::Method::post, "runs/create", to_json(request));
    if (!answer) return std::unexpected(answer.error());
    return parsed(parse_run_response(*answer), "runs/create");
}

Result<Run> MlflowClient::get_run(const std::string& run_id) {
    if (auto ok = need(run_id, "run id"); !ok) return std::unexpected(ok.error());
    auto answer = call_or_error(http::Method::get, "runs/get", {{"run_id", run_id}});
    if (!answer) return std::unexpected(answer.error());
    return parsed(parse_run_response(*answer), "runs/get");
}

Result<RunInfo> MlflowClient::update_run(const UpdateRunRequest& request) {
    if (auto ok = need(request.run_id, "run id"); !ok) return std::unexpected(ok.error());
    auto answer = call_or_error(http::Method::post, "runs/update", to_json(request));
    if (!answer) return std::unexpected(answer.error());
    return parsed(parse_update_run_response(*answer), "runs/update");
}

Status MlflowClient::log_batch(const LogBatchRequest& request) {
    if (auto ok = need(request.run_id, "run id"); !ok) return ok;
    auto answer = call_or_error(http::Method::post, "runs/log-batch", to_json(request));
    if (!answer) return std::unexpected(answer.error());
    return {};
}

Result<SearchRunsResponse> MlflowClient::search_runs(const SearchRunsRequest& request) {
    auto answer = call_or_error(http::Method::post, "runs/search", to_json(request));
    if (!answer) return std::unexpected(answer.error());
    return parsed(parse_search_runs_response(*answer), "runs/search");
}

namespace {

// Follows next_page_token until a page has none; a token seen twice is garbage.
template <class Item, class Request, class Fetch, class Take>
Result<std::vector<Item>> every_page(Request request, Fetch fetch, Take take, const char* what) {
    std::vector<Item> all;
    std::vector<std::string> seen;
    for (int n = 0; n < k_max_pages; ++n) {
        auto page = fetch(request);
        if (!page) return std::unexpected(page.error());
        auto& items = take(*page);
        std::move(items.begin(), items.end(), std::back_inserter(all));
        if (page->next_page_token.empty()) return all;
        if (std::find(seen.begin(), seen.end(), page->next_page_token) != seen.end()) {
            return util::fail(ErrorCode::unavailable,
                              std::string("mlflow repeated a page token in ") + what);
        }
        seen.push_back(page->next_page_token);
        request.page_token = page->next_page_token;
    }
    return util::fail(ErrorCode::unavailable, std::string("mlflow gave too many pages of ") + what);
}

}  // namespace

Result<std::vector<Run>> MlflowClient::search_all_runs(SearchRunsRequest request) {
    return every_page<Run>(
        std::move(request), [this](const SearchRunsRequest& r) { return search_runs(r); },
        [](SearchRunsResponse& page) -> std::vector<Run>& { return page.runs; }, "runs/search");
}

// ---- registry

Result<RegisteredModel> MlflowClient::create_registered_model(
    const CreateRegisteredModelRequest& request) {
    if (auto ok = need(request.name, "model name"); !ok) return std::unexpected(ok.error());
    auto answer = call_or_error(http::Method::post, "registered-models/create", to_json(request));
    if (!answer) return std::unexpected(answer.error());
    return parsed(parse_registered_model_response(*answer), "registered-models/create");
}

Result<RegisteredModel> MlflowClient::get_registered_model(const std::string& name) {
    if (auto ok = need(name, "model name"); !ok) return std::unexpected(ok.error());
    auto answer = call_or_error(http::Method::get, "registered-models/get", {{"name", name}});
    if (!answer) return std::unexpected(answer.error());
    return parsed(parse_registered_model_response(*answer), "registered-models/get");
}

Result<SearchRegisteredModelsResponse> MlflowClient::search_registered_models(
    const SearchRegisteredModelsRequest& request) {
    auto answer = call_or_error(http::Method::get, "registered-models/search", to_json(request));
    if (!answer) return std::unexpected(answer.error());
    return parsed(parse_search_registered_models_response(*answer), "registered-models/search");
}

Result<std::vector<RegisteredModel>> MlflowClient::search_all_registered_models(
    SearchRegisteredModelsRequest request) {
    return every_page<RegisteredModel>(
        std::move(request),
        [this](const SearchRegisteredModelsRequest& r) { return search_registered_models(r); },
        [](SearchRegisteredModelsResponse& page) -> std::vector<RegisteredModel>& {
            return page.registered_models;
        },
        "registered-models/search");
}

Result<ModelVersion> MlflowClient::create_model_version(const CreateModelVersionRequest& request) {
    if (auto ok = need(request.name, "model name"); !ok) return std::unexpected(ok.error());
    if (auto ok = need(request.source, "model version source"); !ok)
        return std::unexpected(ok.error());
    auto answer = call_or_error(http::Method::post, "model-versions/create", to_json(request));
    if (!answer) return std::unexpected(answer.error());
    return parsed(parse_model_version_response(*answer), "model-versions/create");
}

Result<ModelVersion> MlflowClient::get_model_version(const std::string& name,
                                                     const std::string& version) {
    if (auto ok = need(name, "model name"); !ok) return std::unexpected(ok.error());
    if (auto ok = need(version, "model version"); !ok) return std::unexpected(ok.error());
    auto answer = call_or_error(http::Method::get, "model-versions/get",
                                {{"name", name}, {"version", version}});
    if (!answer) return std::unexpected(answer.error());
    return parsed(parse_model_version_response(*answer), "model-versions/get");
}

Result<SearchModelVersionsResponse> MlflowClient::search_model_versions(
    const SearchModelVersionsRequest& request) {
    auto answer = call_or_error(http::Method::get, "model-versions/search", to_json(request));
    if (!answer) return std::unexpected(answer.error());
    return parsed(parse_search_model_versions_response(*answer), "model-versions/search");
}

Result<std::vector<ModelVersion>> MlflowClient::search_all_model_versions(
    SearchModelVersionsRequest request) {
    return every_page<ModelVersion>(
        std::move(request),
        [this](const SearchModelVersionsRequest& r) { return search_model_versions(r); },
        [](SearchModelVersionsResponse& page) -> std::vector<ModelVersion>& {
            return page.model_versions;
        },
        "model-versions/search");
}

Result<std::vector<ModelVersion>> MlflowClient::get_latest_versions(
    const GetLatestVersionsRequest& request) {
    if (auto ok = need(request.name, "model name"); !ok) return std::unexpected(ok.error());
    auto answer = call_or_error(http::Method::post, "registered-models/get-latest-versions",
                                to_json(request));
    if (!answer) return std::unexpected(answer.error());
    return parsed(parse_latest_versions_response(*answer), "registered-models/get-latest-versions");
}

Status MlflowClient::set_model_version_tag(const SetModelVersionTagRequest& request) {
    if (auto ok = need(request.name, "model name"); !ok) return ok;
    if (auto ok = need(request.key, "tag key"); !ok) return ok;
    auto answer = call_or_error(http::Method::post, "model-versions/set-tag", to_json(request));
    if (!answer) return std::unexpected(answer.error());
    return {};
}

Status MlflowClient::set_registered_model_alias(const SetRegisteredModelAliasRequest& request) {
    if (auto ok = need(request.name, "model name"); !ok) return ok;
    if (auto ok = need(request.alias, "alias"); !ok) return ok;
    if (auto ok = need(request.version, "model version"); !ok) return ok;
    auto answer = call_or_error(http::Method::post, "registered-models/alias", to_json(request));
    if (!answer) return std::unexpected(answer.error());
    return {};
}

Result<std::optional<ModelVersion>> MlflowClient::get_model_version_by_alias(
    const std::string& name, const std::string& alias) {
    if (auto ok = need(name, "model name"); !ok) return std::unexpected(ok.error());
    if (auto ok = need(alias, "alias"); !ok) return std::unexpected(ok.error());
    auto answer =
        call(http::Method::get, "registered-models/alias", {{"name", name}, {"alias", alias}});
    if (!answer) {
        // MLflow's answer for an alias that is not set (the model need not exist either).
        if (answer.error().status == 400 &&
            answer.error().error_code == "INVALID_PARAMETER_VALUE") {
            return std::nullopt;
        }
        return std::unexpected(std::move(answer.error().error));
    }
    auto version = parsed(parse_model_version_response(*answer), "registered-models/alias");
    if (!version) return std::unexpected(version.error());
    return std::optional<ModelVersion>(std::move(*version));
}

Status MlflowClient::delete_registered_model_alias(const std::string& name,
                                                   const std::string& alias) {
    if (auto ok = need(name, "model name"); !ok) return ok;
    if (auto ok = need(alias, "alias"); !ok) return ok;
    auto answer = call_or_error(http::Method::del, "registered-models/alias",
                                {{"name", name}, {"alias", alias}});
    if (!answer) return std::unexpected(answer.error());
    return {};
}

Result<ModelVersion> MlflowClient::transition_model_version_stage(
    const TransitionModelVersionStageRequest& request) {
    if (auto ok = need(request.name, "model name"); !ok) return std::unexpected(ok.error());
    if (auto ok = need(request.version, "model version"); !ok) return std::unexpected(ok.error());
    if (auto ok = need(request.stage, "stage"); !ok) return std::unexpected(ok.error());
    auto answer =
        call_or_error(http::Method::post, "model-versions/transition-stage", to_json(request));
    if (!answer) return std::unexpected(answer.error());
    return parsed(parse_model_version_response(*answer), "model-versions/transition-stage");
}

}  // namespace sluice::mlflow
