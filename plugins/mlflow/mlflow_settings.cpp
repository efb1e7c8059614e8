// Settings for the MLflow client: layering and checks.
#include "plugins/mlflow/mlflow_settings.hpp"

#include <algorithm>
#include <cstdlib>

namespace sluice::mlflow {

namespace {

using util::ErrorCode;

std::optional<std::string> non_empty(const Environment& environment, std::string_view name) {
    auto value = environment(name);
    if (!value || value->empty()) return std::nullopt;
    return value;
}

Result<long long> whole_number(const std::string& text, std::string_view name) {
    try {
        std::size_t used = 0;
        long long n = std::stoll(text, &used);
        if (used == text.size() && n >= 0) return n;
    } catch (const std::exception&) {
    }
    return util::fail(ErrorCode::bad_input,
                      std::string(name) + "=" + text + " is not a whole number of at least 0");
}

}  // namespace

Environment process_environment() {
    return [](std::string_view name) -> std::optional<std::string> {
        const char* value = std::getenv(std::string(name).c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
    };
}

Result<Settings> resolve_settings(const SettingsOverrides& overrides,
                                  const Environment& environment) {
    Settings s;
    if (auto uri = non_empty(environment, "MLFLOW_TRACKING_URI")) s.tracking_uri = *uri;
    bool explicit_credentials = overrides.token || overrides.username || overrides.password;
    if (!explicit_credentials) {
        s.token = non_empty(environment, "MLFLOW_TRACKING_TOKEN").value_or("");
        s.username = non_empty(environment, "MLFLOW_TRACKING_USERNAME").value_or("");
        s.password = non_empty(environment, "MLFLOW_TRACKING_PASSWORD").value_or("");
    }
    if (auto text = non_empty(environment, "MLFLOW_HTTP_REQUEST_TIMEOUT")) {
        auto seconds = whole_number(*text, "MLFLOW_HTTP_REQUEST_TIMEOUT");
        if (!seconds) return std::unexpected(seconds.error());
        s.timeout = std::chrono::seconds(*seconds);
    }
    if (auto text = non_empty(environment, "MLFLOW_HTTP_REQUEST_MAX_RETRIES")) {
        auto retries = whole_number(*text, "MLFLOW_HTTP_REQUEST_MAX_RETRIES");
        if (!retries) return std::unexpected(retries.error());
        s.retries =
            static_cast<int>(std::min(*retries, 10LL));  // MLflow allows more; sluice caps at 10
    }

    if (overrides.tracking_uri) s.tracking_uri = *overrides.tracking_uri;
    if (overrides.token) s.token = *overrides.token;
    if (overrides.username) s.username = *overrides.username;
    if (overrides.password) s.password = *overrides.password;
    if (overrides.connect_timeout) s.connect_timeout = *overrides.connect_timeout;
    if (overrides.timeout) s.timeout = *overrides.timeout;
    if (overrides.retries) s.retries = *overrides.retries;
    if (overrides.initial_backoff) s.initial_backoff = *overrides.initial_backoff;
    if (overrides.max_backoff) s.max_backoff = *overrides.max_backoff;
    return check(std::move(s));
}

Result<Settings> check(Settings s) {
    const std::string& uri = s.tracking_uri;
    if (uri.empty()) {
        return util::fail(ErrorCode::bad_input,
                          "no MLflow tracking URI: set the registry's uri, or MLFLOW_TRACKING_URI");
    }
    std::string rest;
    if (uri.starts_with("http://")) {
        rest = uri.substr(7);
    } else if (uri.starts_with("https://")) {
        rest = uri.substr(8);
    } else {
        return util::fail(ErrorCode::bad_input,
                          "MLflow tracking URI \"" + uri +
                              "\" is not an http:// or https:// URL: sluice talks to an MLflow "
                              "tracking server over its REST API (start one with `mlflow server`)");
    }
    while (rest.ends_with('/')) {
        rest.pop_back();
        s.tracking_uri.pop_back();
    }
    std::string authority = rest.substr(0, rest.find_first_of("/?#"));
    if (authority.empty()) {
        return util::fail(ErrorCode::bad_input, "MLflow tracking URI \"" + uri + "\" has no host");
    }
    if (authority.find('@') != std::string::npos) {
        return util::fail(ErrorCode::bad_input,
                          "the MLflow tracking URI must not hold credentials: use "
                          "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or "
                          "MLFLOW_TRACKING_TOKEN");
    }
    if (rest.find_first_of("?#") != std::string::npos) {
        return util::fail(ErrorCode::bad_input,
                          "MLflow tracking URI \"" + uri + "\" must not have a query or fragment");
    }
    if (s.username.empty() != s.password.empty()) {
        return util::fail(
            ErrorCode::bad_input,
            s.username.empty()
                ? "an MLflow password is set but no username (MLFLOW_TRACKING_USERNAME)"
                : "an MLflow username is set but no password (MLFLOW_TRACKING_PASSWORD)");
    }
    if (s.connect_timeout.count() <= 0 || s.timeout.count() <= 0) {
        return util::fail(ErrorCode::bad_input, "MLflow timeouts must be longer than 0");
    }
    if (s.retries < 0 || s.retries > 10) {
        return util::fail(ErrorCode::bad_input, "MLflow retries must be between 0 and 10, not " +
                                                    std::to_string(s.retries));
    }
    if (s.initial_backoff.count() < 0 || s.max_backoff < s.initial_backoff) {
        return util::fail(ErrorCode::bad_input,
                          "MLflow backoff must be at least 0 and at most its maximum");
    }
    return s;
}

}  // namespace sluice::mlflow
