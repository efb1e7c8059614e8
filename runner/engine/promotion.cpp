// Promotion of a run's candidate.
#include "runner/engine/promotion.hpp"

#include "runner/pipeline/model_names.hpp"
#include "stages/registry_factory.hpp"

namespace sluice::engine {

util::Result<nlohmann::json> promote_candidate(const pipeline::Pipeline& pipeline,
                                               const pipeline::Stage& stage,
                                               const std::filesystem::path& state_dir,
                                               const std::string& run_id,
                                               const std::string& commit,
                                               const std::string& actor) {
    const pipeline::Promote& promote = *stage.promote;
    // The registry of the gate that judged this model; else the builtin one.
    nlohmann::json config = "builtin";
    for (const auto& s : pipeline.stages) {
        if (s.kind == pipeline::StageKind::gate && pipeline::gate_model(pipeline, s) == promote.model &&
            s.config.contains("registry") && s.config["registry"] != "file") {
            config = s.config["registry"];
            break;
        }
    }
    auto local = stages::open_registry("builtin", state_dir);
    if (!local) return std::unexpected(local.error());
    auto candidate = (*local)->version_of_run(promote.model, run_id);
    if (!candidate) return std::unexpected(candidate.error());
    if (!*candidate) {
        return util::fail(util::ErrorCode::bad_input,
                          "nothing to promote: no stage of run " + run_id +
                              " logged metrics for model `" + promote.model + "`");
    }
    std::unique_ptr<registry::Registry> remote;
    registry::Registry* target = local->get();
    std::string version = (*candidate)->version;
    if (config != "builtin") {
        auto opened = stages::open_registry(config, state_dir);
        if (!opened) return std::unexpected(opened.error());
        remote = std::move(*opened);
        target = remote.get();
        // The candidate becomes a version there, with its numbers and commit.
        auto created = target->create_version(
            {promote.model, "", commit, (*candidate)->source, (*candidate)->metrics});
        if (!created) return std::unexpected(created.error());
        version = created->version;
    }
    auto before = target->by_alias(promote.model, promote.alias);
    if (!before) return std::unexpected(before.error());
    if (auto set = target->set_alias(promote.model, promote.alias, version, actor,
                                     "promoted by run " + run_id + " (" + stage.name + ")");
        !set) {
        return std::unexpected(set.error());
    }
    nlohmann::json out = {{"model", promote.model},
                          {"alias", promote.alias},
                          {"version", version},
                          {"registry", target->describe()}};
    if (*before) out["from"] = (*before)->version;
    return out;
}

}  // namespace sluice::engine
