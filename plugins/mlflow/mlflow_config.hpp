// The `mlflow` registry setting of a pipeline (docs/yaml-reference.md), as JSON from the
// YAML: `mlflow` alone (null or {}) or
//   {mlflow: {uri: URL, token_env: NAME, timeout: DURATION, connect_timeout: DURATION,
//             retries: N}}
// mapped onto the client's settings, and the registry opened from it.
//
//   uri              → Settings::tracking_uri   (default $MLFLOW_TRACKING_URI)
//   token_env        → Settings::token = $NAME  (a pipeline file is committed, so it names
//                      the variable holding the token, never the token)
//   timeout          → Settings::timeout        (each attempt; default 30s)
//   connect_timeout  → Settings::connect_timeout (default 5s)
//   retries          → Settings::retries        (0..10; default 3)
// Durations are sluice's (`500ms`, `45s`, `10m`, `1h30m`) or a number of seconds.
// Credentials otherwise come from MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and
// MLFLOW_TRACKING_PASSWORD, of the given environment. Unknown keys are bad_input.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>

#include "plugins/mlflow/mlflow_registry.hpp"
#include "plugins/mlflow/mlflow_settings.hpp"

namespace sluice::mlflow {

// The block's settings (the object under `mlflow:`); nothing given → no overrides.
Result<SettingsOverrides> overrides_from_config(const nlohmann::json& block,
                                                const Environment& environment);

// overrides_from_config, then resolve_settings over the same environment.
Result<Settings> settings_from_config(const nlohmann::json& block,
                                      const Environment& environment = process_environment());

// An MlflowRegistry that owns its libcurl client, for that block.
Result<std::unique_ptr<MlflowRegistry>> open_mlflow_registry(
    const nlohmann::json& block, const Environment& environment = process_environment());

}  // namespace sluice::mlflow
