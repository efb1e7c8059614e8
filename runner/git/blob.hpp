// Reading one file of a commit's tree with libgit2: sluice reads the pipeline of the
// commit it runs, not whatever the working tree holds.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "runner/util/error.hpp"

namespace sluice::git {

// The content of `path` (relative to the repository root, `/`-separated) in commit
// `sha` of the repository at repo_path; nullopt when the commit has no such file.
util::Result<std::optional<std::string>> read_file_at(const std::filesystem::path& repo_path,
                                                      const std::string& sha,
                                                      const std::string& path);

}  // namespace sluice::git
