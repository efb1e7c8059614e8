// RAII ownership of libgit2 objects, libgit2's process-wide initialisation, and the few
// helpers every file of this folder needs (opening a repository, errors, object ids).
#pragma once

#include <git2.h>

#include <filesystem>
#include <memory>
#include <string>

#include "runner/util/error.hpp"

namespace sluice::git {

// libgit2 must be initialised once per process before use; this does it on first call.
void ensure_initialized();

// The last libgit2 error's message.
std::string last_error();

// An Error whose message is `what` followed by libgit2's last error message.
std::unexpected<util::Error> git_failure(util::ErrorCode code, const std::string& what);

template <class T, void (*Free)(T*)>
struct Deleter {
    void operator()(T* p) const { Free(p); }
};

template <class T, void (*Free)(T*)>
using Handle = std::unique_ptr<T, Deleter<T, Free>>;

using RepoPtr = Handle<git_repository, git_repository_free>;
using CommitPtr = Handle<git_commit, git_commit_free>;
using ReferencePtr = Handle<git_reference, git_reference_free>;
using ObjectPtr = Handle<git_object, git_object_free>;
using TreePtr = Handle<git_tree, git_tree_free>;
using TreeEntryPtr = Handle<git_tree_entry, git_tree_entry_free>;
using BlobPtr = Handle<git_blob, git_blob_free>;
using IndexPtr = Handle<git_index, git_index_free>;
using OdbPtr = Handle<git_odb, git_odb_free>;
using OdbObjectPtr = Handle<git_odb_object, git_odb_object_free>;
using ConfigPtr = Handle<git_config, git_config_free>;
using RemotePtr = Handle<git_remote, git_remote_free>;
using StatusListPtr = Handle<git_status_list, git_status_list_free>;
using DiffPtr = Handle<git_diff, git_diff_free>;
using SubmodulePtr = Handle<git_submodule, git_submodule_free>;
using FilterListPtr = Handle<git_filter_list, git_filter_list_free>;
using ReferenceIteratorPtr = Handle<git_reference_iterator, git_reference_iterator_free>;

// A git_buf that disposes of its memory.
class Buf {
public:
    Buf() = default;
    ~Buf() { git_buf_dispose(&buf_); }
    Buf(const Buf&) = delete;
    Buf& operator=(const Buf&) = delete;

    git_buf* get() { return &buf_; }
    std::string str() const { return buf_.ptr != nullptr ? std::string(buf_.ptr, buf_.size) : ""; }

private:
    git_buf buf_ = GIT_BUF_INIT;
};

// Opens the repository at `path`; with `search`, also a repository containing `path`
// (as `git -C path` does). Bare repositories open too.
util::Result<RepoPtr> open_repository(const std::filesystem::path& path, bool search = true);

// 40 lowercase hex digits.
std::string to_hex(const git_oid& oid);

// The git directory shared by all work trees of `repo` (".git/" or the bare directory).
std::filesystem::path common_dir(git_repository* repo);

}  // namespace sluice::git
