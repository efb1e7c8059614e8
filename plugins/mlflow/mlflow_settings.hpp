// How sluice reaches an MLflow tracking server: its URI, credentials, timeouts and retries.
// Layered as ccache's config is: defaults, then MLflow's own environment variables, then
// explicit settings (a pipeline's `registry: {mlflow: {...}}`, command-line flags).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "runner/util/error.hpp"

namespace sluice::mlflow {

using util::Result;
using util::Status;

struct Settings {
    std::string tracking_uri;  // http(s)://host[:port][/prefix], no trailing slash
    // Credentials, as MLflow's client sends them: Basic when username and password are
    // both set (they win over a token, as in MLflow), else "Bearer token" when set.
    std::string token;
    std::string username;
    std::string password;
    std::chrono::milliseconds connect_timeout{5'000};
    // Bounds each attempt (the whole exchange); a call takes at most
    // (retries + 1) × timeout plus the backoff between attempts.
    std::chrono::milliseconds timeout{30'000};
    // Attempts after the first on connection errors, timeouts and 5xx answers (never 4xx);
    // the wait before each doubles from initial_backoff up to max_backoff.
    int retries = 3;
    std::chrono::milliseconds initial_backoff{500};
    std::chrono::milliseconds max_backoff{8'000};
};

// Explicit settings; each one given wins over the environment. Giving any of token,
// username or password drops every credential from the environment (no mixing).
struct SettingsOverrides {
    std::optional<std::string> tracking_uri;
    std::optional<std::string> token;
    std::optional<std::string> username;
    std::optional<std::string> password;
    std::optional<std::chrono::milliseconds> connect_timeout;
    std::optional<std::chrono::milliseconds> timeout;
    std::optional<int> retries;
    std::optional<std::chrono::milliseconds> initial_backoff;
    std::optional<std::chrono::milliseconds> max_backoff;
};

// Reads one environment variable (nullopt when unset); a seam so tests need no setenv.
using Environment = std::function<std::optional<std::string>(std::string_view name)>;
Environment process_environment();

// Defaults, then MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN, MLFLOW_TRACKING_USERNAME,
// MLFLOW_TRACKING_PASSWORD, MLFLOW_HTTP_REQUEST_TIMEOUT (seconds) and
// MLFLOW_HTTP_REQUEST_MAX_RETRIES (capped at 10), then the overrides; the result is checked
// with check().
// Empty environment variables count as unset.
Result<Settings> resolve_settings(const SettingsOverrides& overrides = {},
                                  const Environment& environment = process_environment());

// ErrorCode::bad_input when the settings cannot work: no URI, a scheme other than http(s)
// (MLflow's file:, sqlite:, databricks URIs are not REST servers sluice can use), user
// info in the URI (credentials belong in the settings, not in URLs that end up in
// messages), a username without a password or the reverse, non-positive timeouts,
// retries outside 0..10. Also trims a trailing '/' from the URI.
Result<Settings> check(Settings settings);

}  // namespace sluice::mlflow
