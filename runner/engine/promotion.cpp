// Promotion of a run's candidate.
#include "runner/engine/promotion.hpp"

#include "runner/pipeline/model_names.hpp"
#include "stages/registry_factory.hpp"

namespace sluice::engine {

namespace {

// The registry of the gate that judged this model; else the builtin one.
nlohmann::json registry_for(const pipeline::Pipeline& pipeline, const std::string& model) {
    for (const auto& s : pipeline.stages) {
        if (s.kind == pipeline::StageKind::gate && pipeline::gate_model(pipeline, s) == model &&
            s.config.contains("registry") && s.config["registry"] != "file") {
            return s.config["registry"];
        }
    }
    return "builtin";
}

util::Result<nlohmann::json> move_alias(registry::Registry& target, const pipeline::Promote& promote,
                                        const std::string& version, const std::string& actor,
                                        const std::string& reason) {
    auto before = target.by_alias(promote.model, promote.alias);
    if (!before) return std::unexpected(before.error());
    if (auto set = target.set_alias(promote.model, promote.alias, version, actor, reason); !set) {
        return std::unexpected(set.error());
    }
    nlohmann::json out = {{"model", promote.model},
                          {"alias", promote.alias},
                          {"version", version},
                          {"registry", target.describe()}};
    if (*before) out["from"] = (*before)->version;
    return out;
}

}  // namespace

util::Result<nlohmann::json> restore_version(const pipeline::Pipeline& pipeline,
                                             const pipeline::Stage& stage,
                                             const std::filesystem::path& state_dir,
                                             const std::string& version,
                                             const std::string& run_id,
                                             const std::string& actor) {
    const pipeline::Promote& promote = *stage.promote;
    auto target = stages::open_registry(registry_for(pipeline, promote.model), state_dir);
    if (!target) return std::unexpected(target.error());
    return move_alias(**target, promote, version, actor,
                      "rolled back by run " + run_id + " (" + stage.name + ")");
}

util::Result<nlohmann::json> promote_candidate(const pipeline::Pipeline& pipeline,
                                               const pipeline::Stage& stage,
                                               const std::filesystem::path& state_dir,
                                               const std::string& run_id,
                                               const std::string& commit,
                                               const std::string& actor) {
    const pipeline::Promote& promote = *stage.promote;
    nlohmann::json config = registry_for(pipeline, promote.model);
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
    return move_alias(*target, promote, version, actor,
                      "promoted by run " + run_id + " (" + stage.name + ")");
}

}  // namespace sluice::engine
