// `sluice run --dry-run`'s view of the stage cache: for each stage that would run,
// whether its result would come from the cache, or why it would run (which input
// changed since the stage's last cached result). Reads the cache; changes nothing but
// the remembered file digests.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runner/engine/state_dir.hpp"
#include "runner/git/head.hpp"
#include "runner/pipeline/model.hpp"

namespace sluice::engine {

struct CachePreview {
    bool from_cache = false;
    std::string why;  // "from the cache (run 3)", "input data/x.csv changed since run 3", ...
};

// One entry per stage of `pipeline` (nullopt for stages that are not cacheable or do
// not run: `runs[i]` false). `use_cache` false: --no-cache.
std::vector<std::optional<CachePreview>> preview_cache(const pipeline::Pipeline& pipeline,
                                                       const std::vector<bool>& runs,
                                                       const std::filesystem::path& workspace,
                                                       const StateDir& state,
                                                       const std::optional<git::CommitInfo>& commit,
                                                       const std::string& event, bool use_cache);

}  // namespace sluice::engine
