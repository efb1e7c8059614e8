// Where git looks for a repository's hooks: `core.hooksPath` when it is set (relative
// to the work tree's top, as git resolves it), else the hooks/ folder of the common
// git directory, which a linked worktree shares with the main one.
#pragma once

#include <filesystem>

#include "runner/util/error.hpp"

namespace sluice::hooks {

struct HooksDir {
    std::filesystem::path path;       // absolute, lexically normal, no trailing `/`
    std::filesystem::path work_tree;  // the top of the work tree; empty in a bare repository
    bool from_config = false;         // core.hooksPath chose it
    // False when core.hooksPath points outside the repository (its git directory and
    // its work tree): a shared folder, so hooks installed there act on other repositories.
    bool inside_repository = true;
};

// The hooks directory of the repository containing dir (searching upwards, as git
// does). Fails with not_found outside a repository. libgit2's
// git_repository_item_path(GIT_REPOSITORY_ITEM_HOOKS) ignores core.hooksPath (1.5), so
// the setting is read here, with `~/` expanded as git does.
util::Result<HooksDir> find_hooks_dir(const std::filesystem::path& dir);

}  // namespace sluice::hooks
