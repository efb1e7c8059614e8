// Logging a run's candidates: after a stage with `metrics: FILE` passes, its numbers
// become a new version of each model it belongs to (see pipeline/model_names.hpp) in
// the builtin registry, tied to the run and its commit. Gates find them there.
// A metrics file that cannot be read fails the stage: nothing unmeasured goes on.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "plugins/registry/registry.hpp"
#include "runner/pipeline/model.hpp"

namespace sluice::engine {

class CandidateLog {
public:
    explicit CandidateLog(std::filesystem::path state_dir) : state_dir_(std::move(state_dir)) {}

    // The stage's report part: {"metrics": {...}, "candidates": [{"model", "version"}]}.
    util::Result<nlohmann::json> log(const pipeline::Pipeline& pipeline,
                                     const pipeline::Stage& stage,
                                     const std::filesystem::path& workspace,
                                     const std::string& run_id, const std::string& commit);

private:
    std::filesystem::path state_dir_;
    std::unique_ptr<registry::Registry> registry_;  // opened on first use
};

}  // namespace sluice::engine
