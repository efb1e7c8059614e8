// RAII ownership of libgit2 objects, and libgit2's process-wide initialisation.
#pragma once

#include <git2.h>

#include <memory>
#include <string>

namespace sluice::git {

// libgit2 must be initialised once per process before use; this does it on first call.
void ensure_initialized();

// The last libgit2 error's message.
std::string last_error();

template <class T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};

using RepoPtr = std::unique_ptr<git_repository, Deleter<git_repository, git_repository_free>>;
using CommitPtr = std::unique_ptr<git_commit, Deleter<git_commit, git_commit_free>>;
using ReferencePtr = std::unique_ptr<git_reference, Deleter<git_reference, git_reference_free>>;

}  // namespace sluice::git
