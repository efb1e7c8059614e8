// The registry factory.
#include "stages/registry_factory.hpp"

#include "plugins/mlflow/mlflow_config.hpp"
#include "plugins/registry/builtin_registry.hpp"

namespace sluice::stages {

std::filesystem::path builtin_registry_file(const std::filesystem::path& state_dir) {
    return state_dir / "registry.db";
}

util::Result<std::unique_ptr<registry::Registry>> open_registry(
    const nlohmann::json& config, const std::filesystem::path& state_dir) {
    std::string kind = config.is_string() ? config.get<std::string>()
                       : config.is_object() && config.size() == 1 ? config.begin().key()
                                                                 : std::string("?");
    if (kind == "builtin") {
        auto r = registry::BuiltinRegistry::open(builtin_registry_file(state_dir));
        if (!r) return std::unexpected(r.error());
        return std::unique_ptr<registry::Registry>(std::move(*r));
    }
    if (kind == "mlflow") {
        nlohmann::json block = config.is_object() ? config.begin().value() : nlohmann::json();
        auto r = mlflow::open_mlflow_registry(block);
        if (!r) return std::unexpected(r.error());
        return std::unique_ptr<registry::Registry>(std::move(*r));
    }
    return util::fail(util::ErrorCode::bad_input, "`" + kind + "` is not a registry sluice can open");
}

}  // namespace sluice::stages
