// Logging candidates from metrics files into the builtin registry.
#include "runner/engine/candidate_log.hpp"

#include "plugins/registry/metrics_file.hpp"
#include "runner/pipeline/model_names.hpp"
#include "stages/registry_factory.hpp"

namespace sluice::engine {

util::Result<nlohmann::json> CandidateLog::log(const pipeline::Pipeline& pipeline,
                                               const pipeline::Stage& stage,
                                               const std::filesystem::path& workspace,
                                               const std::string& run_id,
                                               const std::string& commit) {
    auto metrics = registry::read_metrics_file(workspace / *stage.metrics);
    if (!metrics) {
        auto e = metrics.error();
        e.message = "metrics: " + e.to_string();
        e.where = {};
        return std::unexpected(std::move(e));
    }
    if (!registry_) {
        auto opened = stages::open_registry("builtin", state_dir_);
        if (!opened) return std::unexpected(opened.error());
        registry_ = std::move(*opened);
    }
    nlohmann::json values = nlohmann::json::object();
    for (const auto& [k, v] : *metrics) values[k] = v;
    nlohmann::json candidates = nlohmann::json::array();
    for (const auto& model : pipeline::metrics_models(pipeline, stage)) {
        auto version = registry_->create_version({model, run_id, commit, *stage.metrics, *metrics});
        if (!version) {
            auto e = version.error();
            e.message = "cannot log the metrics as a candidate of model `" + model +
                        "`: " + e.message;
            return std::unexpected(std::move(e));
        }
        candidates.push_back({{"model", model}, {"version", version->version}});
    }
    return nlohmann::json{{"metrics", values}, {"candidates", candidates}};
}

}  // namespace sluice::engine
