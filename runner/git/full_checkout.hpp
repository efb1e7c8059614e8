// Internal to runner/git: writing a whole tree into an empty work directory with several
// threads, faster than libgit2's one-file-at-a-time checkout, and recording every file
// in the index with its stat data so that later moves (git_checkout_tree) trust it.
#pragma once

#include <git2.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "runner/util/error.hpp"

namespace sluice::git {

// Writes every blob, symlink and (as an empty directory) submodule of `tree` below the
// work directory of `repo`, which must hold nothing but its git directory, then
// replaces the index with entries for them. Returns the number of files written.
util::Result<int> write_full_tree(git_repository* repo, git_tree* tree, int threads);

// A path component git refuses to check out (as libgit2's checkout does): nothing may
// be written into a .git or outside the work directory.
bool unsafe_component(std::string_view name);

// Removes everything in `dir` except the entry named `keep` ("" keeps nothing), making
// read-only directories writable first if that is what stops the removal.
util::Status clear_directory(const std::filesystem::path& dir, const std::string& keep);

// remove_all that also copes with read-only directories; true when the path is gone.
util::Status remove_tree(const std::filesystem::path& path);

}  // namespace sluice::git
