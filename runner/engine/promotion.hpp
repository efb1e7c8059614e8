// `promote:` — after an (approved) deploy stage passed, the environment's alias moves
// to this run's candidate: in the registry of the gate that judged that model (or the
// builtin one). The previous champion stays in the alias history. Fails closed: no
// candidate, a registry that cannot be reached, and the stage fails.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "runner/pipeline/model.hpp"
#include "runner/util/error.hpp"

namespace sluice::engine {

// {"model", "alias", "version", "from" (absent when the alias was not set), "registry"}.
util::Result<nlohmann::json> promote_candidate(const pipeline::Pipeline& pipeline,
                                               const pipeline::Stage& stage,
                                               const std::filesystem::path& state_dir,
                                               const std::string& run_id,
                                               const std::string& commit,
                                               const std::string& actor);

// A rollback's promotion: the alias moves back to `version` (a version of that model in
// the same registry). Same result shape as promote_candidate().
util::Result<nlohmann::json> restore_version(const pipeline::Pipeline& pipeline,
                                             const pipeline::Stage& stage,
                                             const std::filesystem::path& state_dir,
                                             const std::string& version,
                                             const std::string& run_id,
                                             const std::string& actor);

}  // namespace sluice::engine
