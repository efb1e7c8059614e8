// Turning what a user types after --commit (a sha, a short sha, a branch, a tag, HEAD~2,
// origin/main: anything git accepts) into one commit, and comparing commits.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "runner/git/head.hpp"
#include "runner/util/error.hpp"

namespace sluice::git {

// The commit `rev` names in the repository containing repo_path ("" means HEAD).
// branch: the branch `rev` names (a local branch, or a remote-tracking one without its
// remote: origin/main gives "main"); for HEAD the current branch; else empty.
// tag: the tag `rev` names, else a tag pointing at the commit.
// A short sha that matches several objects resolves when exactly one of them is (or
// peels to) a commit, as git does where a commit is expected.
// Errors: bad_input for an unknown revision ("unknown revision `foo`"), an ambiguous one
// ("ambiguous revision `abc1`: matches commit ..., commit ..."), one that names no
// commit, or HEAD of a repository without commits; not_found outside a repository.
util::Result<CommitInfo> resolve_revision(const std::filesystem::path& repo_path,
                                          const std::string& rev);

// True when the repository's HEAD names a branch with no commit yet (`git init` and
// nothing committed); false when it has commits or cannot be opened.
bool head_is_unborn(const std::filesystem::path& repo_path);

// The paths (relative to the root, '/'-separated, sorted, unique) that differ between the
// trees of two revisions; a renamed file gives both its old and its new path, a changed
// submodule its path. An empty `from` compares with the empty tree (every path of `to`).
util::Result<std::vector<std::string>> changed_files(const std::filesystem::path& repo_path,
                                                     const std::string& from,
                                                     const std::string& to);

// The best common ancestor of two revisions (what a merge request's changes are counted
// from); not_found when they share no history.
util::Result<std::string> merge_base(const std::filesystem::path& repo_path, const std::string& a,
                                     const std::string& b);

// How many changes `git status` would show, counting files one by one: staged,
// modified, deleted and untracked (not ignored) files; a changed submodule counts once.
// Reads only: the index file is not refreshed or rewritten.
util::Result<int> count_uncommitted(const std::filesystem::path& repo_path);

}  // namespace sluice::git
