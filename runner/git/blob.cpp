// Reading a file of a commit.
#include "runner/git/blob.hpp"

#include "runner/git/handles.hpp"

namespace sluice::git {

util::Result<std::optional<std::string>> read_file_at(const std::filesystem::path& repo_path,
                                                      const std::string& sha,
                                                      const std::string& path) {
    ensure_initialized();
    git_repository* raw = nullptr;
    if (git_repository_open_ext(&raw, repo_path.c_str(), 0, nullptr) != 0) {
        return util::fail(util::ErrorCode::io, "cannot open git repository " +
                                                   repo_path.string() + ": " + last_error());
    }
    RepoPtr repo(raw);
    git_oid oid;
    if (git_oid_fromstr(&oid, sha.c_str()) != 0) {
        return util::fail(util::ErrorCode::bad_input, "not a commit id: " + sha);
    }
    git_commit* craw = nullptr;
    if (git_commit_lookup(&craw, repo.get(), &oid) != 0) {
        return util::fail(util::ErrorCode::not_found, "no commit " + sha + ": " + last_error());
    }
    CommitPtr commit(craw);
    git_tree* traw = nullptr;
    if (git_commit_tree(&traw, commit.get()) != 0) {
        return util::fail(util::ErrorCode::io, "cannot read the tree of " + sha + ": " + last_error());
    }
    std::unique_ptr<git_tree, Deleter<git_tree, git_tree_free>> tree(traw);
    git_tree_entry* eraw = nullptr;
    int rc = git_tree_entry_bypath(&eraw, tree.get(), path.c_str());
    if (rc == GIT_ENOTFOUND) return std::nullopt;
    if (rc != 0) return util::fail(util::ErrorCode::io, "cannot look up " + path + ": " + last_error());
    std::unique_ptr<git_tree_entry, Deleter<git_tree_entry, git_tree_entry_free>> entry(eraw);
    if (git_tree_entry_type(entry.get()) != GIT_OBJECT_BLOB) return std::nullopt;
    git_blob* braw = nullptr;
    if (git_blob_lookup(&braw, repo.get(), git_tree_entry_id(entry.get())) != 0) {
        return util::fail(util::ErrorCode::io, "cannot read " + path + ": " + last_error());
    }
    std::unique_ptr<git_blob, Deleter<git_blob, git_blob_free>> blob(braw);
    const char* data = static_cast<const char*>(git_blob_rawcontent(blob.get()));
    return std::string(data, static_cast<std::size_t>(git_blob_rawsize(blob.get())));
}

}  // namespace sluice::git
