// Which branches of a repository contain a commit: what environments' `branches:` rules
// are checked against (a commit may go to an environment of `branches: [main]` only when
// it is main's tip or an ancestor of it, whatever branch a run says it is on).
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "runner/util/error.hpp"

namespace sluice::git {

// The local branches (refs/heads/*, short names; a mirror's are its remote's) that
// `wanted` accepts and whose tip is `sha` or a descendant of it, sorted. Errors:
// not_found outside a repository, bad_input for a `sha` that names no commit, io when
// libgit2 cannot walk the history.
util::Result<std::vector<std::string>> branches_containing(
    const std::filesystem::path& repo_path, const std::string& sha,
    const std::function<bool(const std::string&)>& wanted);

}  // namespace sluice::git
