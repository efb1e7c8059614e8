// Reading the HEAD commit with libgit2.
#include "runner/git/head.hpp"

#include "runner/git/handles.hpp"

namespace sluice::git {

namespace {

int find_tag(const char* name, git_oid* oid, void* payload) {
    auto* ctx = static_cast<std::pair<git_repository*, std::pair<const git_oid*, std::string*>>*>(
        payload);
    git_object* target = nullptr;
    git_object* tag_obj = nullptr;
    if (git_object_lookup(&tag_obj, ctx->first, oid, GIT_OBJECT_ANY) != 0) return 0;
    if (git_object_peel(&target, tag_obj, GIT_OBJECT_COMMIT) == 0) {
        if (git_oid_equal(git_object_id(target), ctx->second.first)) {
            std::string n = name;
            const std::string prefix = "refs/tags/";
            *ctx->second.second = n.rfind(prefix, 0) == 0 ? n.substr(prefix.size()) : n;
        }
        git_object_free(target);
    }
    git_object_free(tag_obj);
    return ctx->second.second->empty() ? 0 : 1;  // stop at the first match
}

}  // namespace

util::Result<std::optional<CommitInfo>> head_commit(const std::filesystem::path& dir) {
    ensure_initialized();
    git_repository* raw = nullptr;
    int rc = git_repository_open_ext(&raw, dir.c_str(), 0, nullptr);
    if (rc == GIT_ENOTFOUND) return std::nullopt;
    if (rc != 0) return util::fail(util::ErrorCode::io, "cannot open git repository: " + last_error());
    RepoPtr repo(raw);
    git_oid oid;
    rc = git_reference_name_to_id(&oid, repo.get(), "HEAD");
    if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) return std::nullopt;
    if (rc != 0) return util::fail(util::ErrorCode::io, "cannot resolve HEAD: " + last_error());
    git_commit* craw = nullptr;
    if (git_commit_lookup(&craw, repo.get(), &oid) != 0) {
        return util::fail(util::ErrorCode::io, "cannot read HEAD commit: " + last_error());
    }
    CommitPtr commit(craw);
    CommitInfo info;
    char hex[GIT_OID_HEXSZ + 1];
    git_oid_tostr(hex, sizeof hex, &oid);
    info.sha = hex;
    info.short_sha = info.sha.substr(0, 8);
    const git_signature* author = git_commit_author(commit.get());
    if (author != nullptr) info.author = std::string(author->name) + " <" + author->email + ">";
    const char* message = git_commit_message(commit.get());
    info.message = message != nullptr ? message : "";
    while (!info.message.empty() && info.message.back() == '\n') info.message.pop_back();
    git_reference* head = nullptr;
    if (git_repository_head(&head, repo.get()) == 0) {
        ReferencePtr head_ref(head);
        if (git_reference_is_branch(head) != 0) info.branch = git_reference_shorthand(head);
    }
    std::pair<const git_oid*, std::string*> want{&oid, &info.tag};
    std::pair<git_repository*, decltype(want)> ctx{repo.get(), want};
    git_tag_foreach(repo.get(), find_tag, &ctx);
    return info;
}

}  // namespace sluice::git
