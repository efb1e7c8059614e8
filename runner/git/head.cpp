// Reading the HEAD commit, and describing a commit, with libgit2.
#include "runner/git/head.hpp"

#include "runner/git/commit_details.hpp"
#include "runner/git/handles.hpp"

namespace sluice::git {

namespace {

struct TagSearch {
    git_repository* repo;
    const git_oid* want;
    std::string found;
};

int match_tag(const char* name, git_oid* oid, void* payload) {
    auto* search = static_cast<TagSearch*>(payload);
    git_object* raw = nullptr;
    if (git_object_lookup(&raw, search->repo, oid, GIT_OBJECT_ANY) != 0) return 0;
    ObjectPtr tag_obj(raw);
    git_object* peeled = nullptr;
    if (git_object_peel(&peeled, tag_obj.get(), GIT_OBJECT_COMMIT) != 0) return 0;
    ObjectPtr target(peeled);
    if (!git_oid_equal(git_object_id(target.get()), search->want)) return 0;
    std::string n = name;
    const std::string prefix = "refs/tags/";
    search->found = n.rfind(prefix, 0) == 0 ? n.substr(prefix.size()) : n;
    return 1;  // stop at the first match
}

}  // namespace

std::string tag_pointing_at(git_repository* repo, const git_oid& oid) {
    TagSearch search{repo, &oid, {}};
    git_tag_foreach(repo, match_tag, &search);
    return search.found;
}

CommitInfo describe_commit(git_repository* repo, git_commit* commit) {
    CommitInfo info;
    const git_oid* oid = git_commit_id(commit);
    info.sha = to_hex(*oid);
    info.short_sha = info.sha.substr(0, 8);
    if (const git_signature* author = git_commit_author(commit); author != nullptr) {
        info.author_name = author->name != nullptr ? author->name : "";
        info.author_email = author->email != nullptr ? author->email : "";
        info.author = info.author_name + " <" + info.author_email + ">";
        info.authored_at = author->when.time;
    }
    info.committed_at = git_commit_time(commit);
    const char* message = git_commit_message(commit);
    info.message = message != nullptr ? message : "";
    while (!info.message.empty() && info.message.back() == '\n') info.message.pop_back();
    for (unsigned i = 0; i < git_commit_parentcount(commit); ++i) {
        info.parents.push_back(to_hex(*git_commit_parent_id(commit, i)));
    }
    info.tag = tag_pointing_at(repo, *oid);
    return info;
}

util::Result<std::optional<CommitInfo>> head_commit(const std::filesystem::path& dir) {
    auto repo = open_repository(dir);
    if (!repo) {
        if (repo.error().code == util::ErrorCode::not_found) return std::nullopt;
        return std::unexpected(repo.error());
    }
    git_oid oid;
    int rc = git_reference_name_to_id(&oid, repo->get(), "HEAD");
    if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) return std::nullopt;
    if (rc != 0) return git_failure(util::ErrorCode::io, "cannot resolve HEAD");
    git_commit* craw = nullptr;
    if (git_commit_lookup(&craw, repo->get(), &oid) != 0) {
        return git_failure(util::ErrorCode::io, "cannot read HEAD commit");
    }
    CommitPtr commit(craw);
    CommitInfo info = describe_commit(repo->get(), commit.get());
    git_reference* head = nullptr;
    if (git_repository_head(&head, repo->get()) == 0) {
        ReferencePtr head_ref(head);
        if (git_reference_is_branch(head) != 0) info.branch = git_reference_shorthand(head);
    }
    return info;
}

}  // namespace sluice::git
