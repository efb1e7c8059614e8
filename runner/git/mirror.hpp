// Remote repositories (`sluice run --repo URL`, and submodules whose commits are not on
// this machine) are kept as bare mirrors in the state directory, fetched with libgit2
// from a local path, file://, http:// or https://. Workspaces then borrow a mirror's
// objects exactly as they borrow a local repository's.
#pragma once

#include <filesystem>
#include <string>

#include "runner/util/error.hpp"

namespace sluice::git {

// A local path (absolute, or relative to the current directory) becomes an absolute,
// normal path without a trailing '/'; a URL loses a trailing '/' only. Two spellings of
// one local repository then share a mirror.
std::string normalize_remote_url(const std::string& url);

// STATE/mirrors/<sha256 of the normalised URL>, whether or not it exists yet.
std::filesystem::path mirror_dir(const std::filesystem::path& state_dir, const std::string& url);

// Creates (first time) and fetches the bare mirror of `url`: every ref of the remote
// (+refs/*:refs/*), refs deleted there pruned here, HEAD set to the remote's default
// branch. Safe to call from several processes at once (a lock file beside the mirror
// serialises them). Returns the mirror's directory. Errors: io with libgit2's reason
// (unreachable host, no such repository, authentication required).
util::Result<std::filesystem::path> mirror(const std::filesystem::path& state_dir,
                                           const std::string& url);

}  // namespace sluice::git
