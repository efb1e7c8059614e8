// Opens the registry a pipeline names: `builtin` (registry.db in the state directory)
// or `{ mlflow: { uri: URL, ... } }` (MLflow's REST API). The one place that knows
// every backend; everything else holds a registry::Registry.
#pragma once

#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "plugins/registry/registry.hpp"

namespace sluice::stages {

// The builtin registry's file in a state directory.
std::filesystem::path builtin_registry_file(const std::filesystem::path& state_dir);

// config: "builtin", "mlflow" (settings from MLFLOW_TRACKING_URI and friends) or
// {"mlflow": {"uri": ..., "timeout": ..., ...}}. "file" is not a registry: bad_input.
util::Result<std::unique_ptr<registry::Registry>> open_registry(
    const nlohmann::json& config, const std::filesystem::path& state_dir);

}  // namespace sluice::stages
