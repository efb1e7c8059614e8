// The branches that contain a commit, with libgit2's graph walk.
#include "runner/git/branches.hpp"

#include <algorithm>

#include "runner/git/handles.hpp"

namespace sluice::git {

namespace {

using BranchIteratorPtr = Handle<git_branch_iterator, git_branch_iterator_free>;

}  // namespace

util::Result<std::vector<std::string>> branches_containing(
    const std::filesystem::path& repo_path, const std::string& sha,
    const std::function<bool(const std::string&)>& wanted) {
    auto repo = open_repository(repo_path);
    if (!repo) return std::unexpected(repo.error());
    git_oid commit;
    if (git_oid_fromstr(&commit, sha.c_str()) != 0) {
        return util::fail(util::ErrorCode::bad_input, "`" + sha + "` is not a full commit id");
    }
    git_branch_iterator* raw = nullptr;
    if (git_branch_iterator_new(&raw, repo->get(), GIT_BRANCH_LOCAL) != 0) {
        return git_failure(util::ErrorCode::io, "cannot list the branches");
    }
    BranchIteratorPtr it(raw);
    std::vector<std::string> out;
    git_reference* ref = nullptr;
    git_branch_t type{};
    while (git_branch_next(&ref, &type, it.get()) == 0) {
        ReferencePtr owned(ref);
        const char* name = nullptr;
        if (git_branch_name(&name, ref) != 0 || name == nullptr || !wanted(name)) continue;
        git_object* peeled = nullptr;
        if (git_reference_peel(&peeled, ref, GIT_OBJECT_COMMIT) != 0) continue;  // not a commit
        ObjectPtr tip(peeled);
        const git_oid* tip_id = git_object_id(tip.get());
        bool contains = git_oid_equal(tip_id, &commit) != 0;
        if (!contains) {
            int rc = git_graph_descendant_of(repo->get(), tip_id, &commit);
            if (rc < 0) {
                return git_failure(util::ErrorCode::io,
                                   std::string("cannot tell whether branch ") + name +
                                       " contains commit " + sha.substr(0, 8));
            }
            contains = rc == 1;
        }
        if (contains) out.emplace_back(name);
    }
    std::ranges::sort(out);
    return out;
}

}  // namespace sluice::git
