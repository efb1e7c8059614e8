// Resolving revisions with git_revparse_ext, with git's rules for what a branch is and
// clear errors for unknown and ambiguous names.
#include "runner/git/revision.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "runner/git/commit_details.hpp"
#include "runner/git/handles.hpp"
#include "runner/util/suggest.hpp"

namespace sluice::git {

namespace {

constexpr std::size_t k_max_listed_candidates = 10;

bool is_hex_prefix(const std::string& spec) {
    if (spec.size() < GIT_OID_MINPREFIXLEN || spec.size() >= GIT_OID_HEXSZ) return false;
    return std::all_of(spec.begin(), spec.end(),
                       [](unsigned char c) { return std::isxdigit(c) != 0; });
}

// Every object whose id starts with the hex prefix `spec`, loose or packed, own or
// borrowed through alternates (libgit2 only says "ambiguous", not which ones).
std::vector<git_oid> objects_with_prefix(git_repository* repo, const std::string& spec) {
    struct Search {
        git_oid prefix;
        std::size_t length;
        std::vector<git_oid> found;
    } search{};
    search.length = spec.size();
    git_oid_fromstrn(&search.prefix, spec.c_str(), spec.size());
    git_odb* raw = nullptr;
    if (git_repository_odb(&raw, repo) != 0) return {};
    OdbPtr odb(raw);
    git_odb_foreach(
        odb.get(),
        [](const git_oid* id, void* payload) {
            auto* s = static_cast<Search*>(payload);
            if (git_oid_ncmp(id, &s->prefix, s->length) == 0) s->found.push_back(*id);
            return 0;
        },
        &search);
    std::sort(search.found.begin(), search.found.end(),
              [](const git_oid& a, const git_oid& b) { return git_oid_cmp(&a, &b) < 0; });
    search.found.erase(
        std::unique(search.found.begin(), search.found.end(),
                    [](const git_oid& a, const git_oid& b) { return git_oid_equal(&a, &b) != 0; }),
        search.found.end());
    return search.found;
}

std::string first_line(const char* message) {
    std::string text = message != nullptr ? message : "";
    return text.substr(0, text.find('\n'));
}

// "commit 1a2b3c4d5e6f "Subject"" or "blob 1a2b3c4d5e6f", for listing candidates.
std::string describe_candidate(git_repository* repo, const git_oid& oid) {
    std::string hex = to_hex(oid).substr(0, 12);
    git_object* raw = nullptr;
    if (git_object_lookup(&raw, repo, &oid, GIT_OBJECT_ANY) != 0) return "object " + hex;
    ObjectPtr object(raw);
    git_object_t type = git_object_type(object.get());
    std::string text = std::string(git_object_type2string(type)) + " " + hex;
    if (type == GIT_OBJECT_COMMIT) {
        text += " \"" +
                first_line(git_commit_message(reinterpret_cast<git_commit*>(object.get()))) + "\"";
    } else if (type == GIT_OBJECT_TAG) {
        text += " (" + std::string(git_tag_name(reinterpret_cast<git_tag*>(object.get()))) + ")";
    }
    return text;
}

std::string list_candidates(git_repository* repo, const std::vector<git_oid>& oids) {
    std::string text;
    for (std::size_t i = 0; i < oids.size() && i < k_max_listed_candidates; ++i) {
        if (i > 0) text += ", ";
        text += describe_candidate(repo, oids[i]);
    }
    if (oids.size() > k_max_listed_candidates) {
        text += " and " + std::to_string(oids.size() - k_max_listed_candidates) + " more";
    }
    return text;
}

// A short sha libgit2 found ambiguous: like git where a commit is expected, it is
// fine when exactly one of the matching objects is (or peels to) a commit.
util::Result<ObjectPtr> disambiguate(git_repository* repo, const std::string& spec) {
    if (!is_hex_prefix(spec)) {
        return util::fail(util::ErrorCode::bad_input,
                          "ambiguous revision `" + spec + "`: " + last_error());
    }
    auto candidates = objects_with_prefix(repo, spec);
    std::vector<git_oid> commits;
    for (const auto& oid : candidates) {
        git_object* raw = nullptr;
        if (git_object_lookup(&raw, repo, &oid, GIT_OBJECT_ANY) != 0) continue;
        ObjectPtr object(raw);
        git_object* peeled = nullptr;
        if (git_object_peel(&peeled, object.get(), GIT_OBJECT_COMMIT) != 0) continue;
        ObjectPtr commit(peeled);
        const git_oid* id = git_object_id(commit.get());
        if (std::none_of(commits.begin(), commits.end(),
                         [&](const git_oid& c) { return git_oid_equal(&c, id) != 0; })) {
            commits.push_back(*id);
        }
    }
    if (commits.size() == 1) {
        git_object* raw = nullptr;
        if (git_object_lookup(&raw, repo, &commits[0], GIT_OBJECT_COMMIT) != 0) {
            return git_failure(util::ErrorCode::io, "cannot read commit " + to_hex(commits[0]));
        }
        return ObjectPtr(raw);
    }
    if (commits.empty()) {
        return util::fail(util::ErrorCode::bad_input, "revision `" + spec +
                                                          "` names no commit; it matches " +
                                                          list_candidates(repo, candidates));
    }
    return util::fail(util::ErrorCode::bad_input, "ambiguous revision `" + spec + "`: matches " +
                                                      list_candidates(repo, commits));
}

// The names a user could have meant: local branches, remote-tracking branches, tags.
std::vector<std::string> known_names(git_repository* repo) {
    std::vector<std::string> names;
    git_reference_iterator* raw = nullptr;
    if (git_reference_iterator_new(&raw, repo) != 0) return names;
    ReferenceIteratorPtr it(raw);
    git_reference* ref = nullptr;
    while (git_reference_next(&ref, it.get()) == 0) {
        ReferencePtr owned(ref);
        if (git_reference_is_branch(ref) || git_reference_is_remote(ref) ||
            git_reference_is_tag(ref)) {
            names.emplace_back(git_reference_shorthand(ref));
        }
    }
    return names;
}

util::Error unknown_revision(git_repository* repo, const std::string& spec) {
    std::string message = "unknown revision `" + spec + "`";
    bool plain = spec.find_first_of("~^:@{}") == std::string::npos;
    if (plain) message += util::did_you_mean(spec, known_names(repo));
    return util::Error{util::ErrorCode::bad_input, message, {}};
}

// "main" for refs/remotes/origin/main (the remote's name can contain '/', so ask libgit2
// which remote the ref belongs to, and fall back to the first component).
std::string remote_branch_name(git_repository* repo, const char* refname) {
    std::string name = refname;
    const std::string prefix = "refs/remotes/";
    if (name.rfind(prefix, 0) != 0) return name;
    name = name.substr(prefix.size());
    Buf remote;
    if (git_branch_remote_name(remote.get(), repo, refname) == 0) {
        std::string r = remote.str() + "/";
        if (name.rfind(r, 0) == 0) return name.substr(r.size());
    }
    auto slash = name.find('/');
    return slash == std::string::npos ? name : name.substr(slash + 1);
}

}  // namespace

bool head_is_unborn(const std::filesystem::path& repo_path) {
    auto repo = open_repository(repo_path);
    return repo && git_repository_head_unborn(repo->get()) == 1;
}

util::Result<CommitInfo> resolve_revision(const std::filesystem::path& repo_path,
                                          const std::string& rev) {
    auto repo = open_repository(repo_path);
    if (!repo) return std::unexpected(repo.error());
    git_repository* r = repo->get();
    const std::string spec = rev.empty() ? "HEAD" : rev;

    git_object* obj_raw = nullptr;
    git_reference* ref_raw = nullptr;
    int rc = git_revparse_ext(&obj_raw, &ref_raw, r, spec.c_str());
    ObjectPtr object(obj_raw);
    ReferencePtr reference(ref_raw);
    if (rc == GIT_EAMBIGUOUS) {
        auto chosen = disambiguate(r, spec);
        if (!chosen) return std::unexpected(chosen.error());
        object = std::move(*chosen);
    } else if (rc == GIT_ENOTFOUND || rc == GIT_EUNBORNBRANCH) {
        if (spec == "HEAD" && git_repository_head_unborn(r) == 1) {
            return util::fail(util::ErrorCode::bad_input,
                              "unknown revision `HEAD`: the repository has no commits yet");
        }
        return std::unexpected(unknown_revision(r, spec));
    } else if (rc == GIT_EINVALIDSPEC) {
        return git_failure(util::ErrorCode::bad_input, "invalid revision `" + spec + "`");
    } else if (rc != 0) {
        return git_failure(util::ErrorCode::io, "cannot resolve revision `" + spec + "`");
    }

    git_object* peeled = nullptr;
    if (git_object_peel(&peeled, object.get(), GIT_OBJECT_COMMIT) != 0) {
        return util::fail(util::ErrorCode::bad_input,
                          "revision `" + spec + "` names a " +
                              git_object_type2string(git_object_type(object.get())) +
                              ", not a commit");
    }
    CommitPtr commit(reinterpret_cast<git_commit*>(peeled));
    CommitInfo info = describe_commit(r, commit.get());

    if (spec == "HEAD") {
        git_reference* head = nullptr;
        if (git_repository_head(&head, r) == 0) {
            ReferencePtr head_ref(head);
            if (git_reference_is_branch(head) != 0) info.branch = git_reference_shorthand(head);
        }
    } else if (reference) {
        if (git_reference_is_branch(reference.get()) != 0) {
            info.branch = git_reference_shorthand(reference.get());
        } else if (git_reference_is_remote(reference.get()) != 0) {
            info.branch = remote_branch_name(r, git_reference_name(reference.get()));
        } else if (git_reference_is_tag(reference.get()) != 0) {
            info.tag = git_reference_shorthand(reference.get());
        }
    }
    return info;
}

}  // namespace sluice::git
