// What commit a directory's repository is at, read with libgit2 (the run context's
// commit.sha, commit.short, commit.branch, ...). Resolving any revision is in
// revision.hpp, checkouts in checkout.hpp.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runner/util/error.hpp"

namespace sluice::git {

struct CommitInfo {
    std::string sha;
    std::string short_sha;  // 8 hex digits
    std::string branch;     // empty when HEAD is detached or the revision is no branch
    std::string tag;        // the tag the revision named, else a tag pointing at the commit
    std::string author;     // "Name <email>"
    std::string message;
    std::string author_name;
    std::string author_email;
    std::int64_t authored_at = 0;      // unix seconds
    std::int64_t committed_at = 0;     // unix seconds, the committer's time
    std::vector<std::string> parents;  // full shas, the first parent first; none for a root
};

// The HEAD commit of the repository containing dir; nullopt outside a repository or
// in one with no commits yet.
util::Result<std::optional<CommitInfo>> head_commit(const std::filesystem::path& dir);

}  // namespace sluice::git

namespace sluice::git {

// The working directory root of the repository containing dir; nullopt outside one.
std::optional<std::filesystem::path> work_tree_root(const std::filesystem::path& dir);

// Adds `pattern` to the repository's .git/info/exclude unless it is listed already,
// so sluice's state directory never shows in `git status`.
util::Status exclude_in_repository(const std::filesystem::path& root, const std::string& pattern);

}  // namespace sluice::git
