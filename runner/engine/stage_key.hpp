// A stage's cache key: SHA-256 over what decides its result (issue 6). Two runs of a
// stage with equal keys would do the same work, so the second may take the first's
// outputs instead. The parts are kept with the key, so that a miss can say what changed.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner/cache/file_digests.hpp"
#include "runner/engine/stage_files.hpp"
#include "runner/util/error.hpp"

namespace sluice::engine {

// Bumped whenever what goes into a key changes: older entries then simply miss.
inline constexpr int k_cache_format = 1;

struct StageKeyInput {
    std::string kind;                    // script, image, ...
    std::vector<std::string> command;    // the resolved `run:` lines
    std::string shell;                   // the shell that runs them ("" for the default)
    nlohmann::json config = nlohmann::json::object();  // the resolved kind configuration
    // Variables the pipeline and the stage declare, resolved (values count).
    std::vector<std::pair<std::string, std::string>> variables;
    // Variables taken from the runner's environment (`inherit_env`): by name only, so
    // a secret's value never reaches the key, the cache or a message.
    std::vector<std::string> inherited;
    std::map<std::string, std::string> needs;  // stage it needs -> that stage's result key
};

struct StageKey {
    std::string key;  // 64 hex digits
    // {"format", "kind", "command", "config", "env", "needs": {stage: key},
    //  "files": {path: digest | "link:TARGET" | "dir"}}: command, config and env hashed.
    nlohmann::json parts;
};

// The key of a stage whose `inputs:` matched `inputs` under `workspace`; file contents
// come from `digests` (read only when their stat data changed).
util::Result<StageKey> compute_stage_key(const StageKeyInput& input, const MatchedPaths& inputs,
                                         const std::filesystem::path& workspace,
                                         cache::FileDigests& digests);

// The key with these input files (path -> digest | "link:TARGET" | "dir") put over
// those it was computed from: what the key would be once they are in the workspace.
void put_files(StageKey& key, const nlohmann::json& files);

// The result key of a stage that is not cached (no `inputs:`, `cache: false`): what
// its dependents' keys see of it, its artifacts and its $SLUICE_OUTPUT values.
std::string result_key(const std::string& stage, const nlohmann::json& artifact_digests,
                       const nlohmann::json& stage_outputs);

// What differs between an earlier key's parts and these, for people: "input
// data/x.csv changed", "command changed", "needed stage train changed", ... ("" when
// nothing that is listed differs).
std::string explain_change(const nlohmann::json& before, const nlohmann::json& now);

}  // namespace sluice::engine
