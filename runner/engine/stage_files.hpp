// The files a stage's `inputs:` or `outputs:` name: path globs relative to the
// workspace (rules::Glob syntax, `!` excludes), a directory standing for everything
// in it. Only the subtrees a pattern can reach are walked (its literal leading
// directories), so `data/**` never lists the rest of the workspace.
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "runner/util/error.hpp"

namespace sluice::engine {

struct MatchedPath {
    enum class Type { file, symlink, dir };
    std::string path;  // relative to the workspace, '/'-separated
    Type type = Type::file;
    struct stat st {};  // lstat data (not followed)
};

struct MatchedPaths {
    std::vector<MatchedPath> paths;  // sorted by path; a dir only when it is empty
    // Patterns (not exclusions) that matched nothing: an output that was not produced.
    std::vector<std::string> unmatched;
};

// What a match looked at, so that a later look can tell whether matching again would
// find the same (run_memo.hpp): every directory it listed, every path it looked up.
struct SeenPath {
    std::string path;       // relative to the workspace ("" = the workspace itself)
    bool listed = false;    // a directory whose entries were read (stat, followed)
    bool present = false;   // listed: it was a directory; else: lstat found it
    struct stat st {};
};

// Matches `patterns` under `root`, skipping `.git` at the top and `skip` (the state
// directory, when it is inside the workspace). Symlinks are listed, not followed.
// Errors: a pattern that leaves the workspace (absolute, `..`), an unreadable
// directory (ErrorCode::io, naming it).
util::Result<MatchedPaths> match_stage_files(const std::filesystem::path& root,
                                             std::span<const std::string> patterns,
                                             const std::filesystem::path& skip = {},
                                             std::vector<SeenPath>* seen = nullptr);

}  // namespace sluice::engine
