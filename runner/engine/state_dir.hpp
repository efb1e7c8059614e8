// The state directory (.sluice/ by default): where the run store, logs and stage
// outputs live. Chosen from --state, then SLUICE_HOME, then `.sluice` at the root of
// the project's git repository (or beside sluice.yml outside git).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "runner/util/error.hpp"

namespace sluice::engine {

struct StateDir {
    std::filesystem::path root;

    std::filesystem::path database() const { return root / "sluice.db"; }
    std::filesystem::path log_file(std::int64_t run, const std::string& stage) const {
        return root / "logs" / std::to_string(run) / (stage + ".log");
    }
    std::filesystem::path output_file(std::int64_t run, const std::string& stage) const {
        return root / "runs" / std::to_string(run) / (stage + ".out");
    }
    // The stage cache: content-addressed objects, its index, remembered file digests.
    std::filesystem::path cache_dir() const { return root / "cache"; }
    // A directory of the stage's own for files its kind writes (a gate's spec, ...).
    std::filesystem::path stage_dir(std::int64_t run, const std::string& stage) const {
        return root / "runs" / std::to_string(run) / (stage + ".d");
    }
};

// explicit_dir: --state; env_dir: SLUICE_HOME; project_dir: where sluice.yml is.
// Creates the directory; when it is inside a git work tree, lists it in
// .git/info/exclude so it never shows in `git status`.
util::Result<StateDir> open_state_dir(const std::optional<std::filesystem::path>& explicit_dir,
                                      const std::optional<std::filesystem::path>& env_dir,
                                      const std::filesystem::path& project_dir);

}  // namespace sluice::engine
