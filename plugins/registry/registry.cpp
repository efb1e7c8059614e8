// The Registry interface's default implementations.
#include "plugins/registry/registry.hpp"

namespace sluice::registry {

Result<std::optional<ModelVersion>> Registry::version_of_run(const std::string& model,
                                                             const std::string& run_id) {
    auto all = versions(model);
    if (!all) {
        if (all.error().code == util::ErrorCode::not_found) return std::optional<ModelVersion>();
        return std::unexpected(all.error());
    }
    for (auto& v : *all) {  // newest first
        if (v.run_id == run_id) return std::optional(std::move(v));
    }
    return std::optional<ModelVersion>();
}

Result<Metrics> Registry::run_metrics(const std::string& run_id) {
    return util::fail(util::ErrorCode::bad_input,
                      describe() + " cannot look a run up (`" + run_id +
                          "`); give the candidate as a version number");
}

}  // namespace sluice::registry
