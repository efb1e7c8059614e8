// Internal to runner/git: filling a CommitInfo from a libgit2 commit.
#pragma once

#include <git2.h>

#include <string>

#include "runner/git/head.hpp"

namespace sluice::git {

// Everything of CommitInfo but branch; tag is a tag pointing at the commit, if any.
CommitInfo describe_commit(git_repository* repo, git_commit* commit);

// The short name of a tag (lightweight or annotated) whose target peels to `oid`; the
// first in the order of refs/tags, or "" when none.
std::string tag_pointing_at(git_repository* repo, const git_oid& oid);

}  // namespace sluice::git
