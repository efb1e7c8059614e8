// Which paths two commits differ in (for `changes:` rules), their merge base, and how
// many uncommitted changes a work tree has.
#include <algorithm>

#include "runner/git/handles.hpp"
#include "runner/git/revision.hpp"

namespace sluice::git {

namespace {

util::Result<ObjectPtr> peel_revision(git_repository* repo, const std::string& rev,
                                      git_object_t type) {
    git_object* raw = nullptr;
    int rc = git_revparse_single(&raw, repo, rev.c_str());
    if (rc == GIT_ENOTFOUND) {
        return util::fail(util::ErrorCode::bad_input, "unknown revision `" + rev + "`");
    }
    if (rc == GIT_EAMBIGUOUS) {
        return git_failure(util::ErrorCode::bad_input, "ambiguous revision `" + rev + "`");
    }
    if (rc != 0) return git_failure(util::ErrorCode::bad_input, "invalid revision `" + rev + "`");
    ObjectPtr object(raw);
    git_object* peeled = nullptr;
    if (git_object_peel(&peeled, object.get(), type) != 0) {
        return util::fail(util::ErrorCode::bad_input,
                          "revision `" + rev + "` names no " + git_object_type2string(type));
    }
    return ObjectPtr(peeled);
}

}  // namespace

util::Result<std::vector<std::string>> changed_files(const std::filesystem::path& repo_path,
                                                     const std::string& from,
                                                     const std::string& to) {
    auto repo = open_repository(repo_path);
    if (!repo) return std::unexpected(repo.error());
    ObjectPtr old_tree;
    if (!from.empty()) {
        auto tree = peel_revision(repo->get(), from, GIT_OBJECT_TREE);
        if (!tree) return std::unexpected(tree.error());
        old_tree = std::move(*tree);
    }
    auto new_tree = peel_revision(repo->get(), to, GIT_OBJECT_TREE);
    if (!new_tree) return std::unexpected(new_tree.error());

    // No rename detection: a rename is a deletion and an addition, which lists both
    // paths anyway, and costs nothing.
    git_diff_options options = GIT_DIFF_OPTIONS_INIT;
    options.flags = GIT_DIFF_INCLUDE_TYPECHANGE;
    git_diff* raw = nullptr;
    if (git_diff_tree_to_tree(&raw, repo->get(), reinterpret_cast<git_tree*>(old_tree.get()),
                              reinterpret_cast<git_tree*>(new_tree->get()), &options) != 0) {
        return git_failure(util::ErrorCode::io, "cannot compare `" + from + "` with `" + to + "`");
    }
    DiffPtr diff(raw);
    std::vector<std::string> paths;
    for (std::size_t i = 0; i < git_diff_num_deltas(diff.get()); ++i) {
        const git_diff_delta* delta = git_diff_get_delta(diff.get(), i);
        if (delta->old_file.path != nullptr) paths.emplace_back(delta->old_file.path);
        if (delta->new_file.path != nullptr) paths.emplace_back(delta->new_file.path);
    }
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    return paths;
}

util::Result<std::string> merge_base(const std::filesystem::path& repo_path, const std::string& a,
                                     const std::string& b) {
    auto repo = open_repository(repo_path);
    if (!repo) return std::unexpected(repo.error());
    auto ca = peel_revision(repo->get(), a, GIT_OBJECT_COMMIT);
    if (!ca) return std::unexpected(ca.error());
    auto cb = peel_revision(repo->get(), b, GIT_OBJECT_COMMIT);
    if (!cb) return std::unexpected(cb.error());
    git_oid base;
    int rc = git_merge_base(&base, repo->get(), git_object_id(ca->get()), git_object_id(cb->get()));
    if (rc == GIT_ENOTFOUND) {
        return util::fail(util::ErrorCode::not_found,
                          "`" + a + "` and `" + b + "` have no common ancestor");
    }
    if (rc != 0) {
        return git_failure(util::ErrorCode::io,
                           "cannot find the merge base of `" + a + "` and `" + b + "`");
    }
    return to_hex(base);
}

util::Result<int> count_uncommitted(const std::filesystem::path& repo_path) {
    auto repo = open_repository(repo_path);
    if (!repo) return std::unexpected(repo.error());
    if (git_repository_is_bare(repo->get()) != 0) return 0;
    git_status_options options = GIT_STATUS_OPTIONS_INIT;
    options.show = GIT_STATUS_SHOW_INDEX_AND_WORKDIR;
    // Without GIT_STATUS_OPT_UPDATE_INDEX libgit2 never writes the index; NO_REFRESH also
    // skips re-reading it, which a freshly opened repository does not need.
    options.flags = GIT_STATUS_OPT_INCLUDE_UNTRACKED | GIT_STATUS_OPT_RECURSE_UNTRACKED_DIRS |
                    GIT_STATUS_OPT_NO_REFRESH;
    git_status_list* raw = nullptr;
    if (git_status_list_new(&raw, repo->get(), &options) != 0) {
        return git_failure(util::ErrorCode::io, "cannot read the status of " + repo_path.string());
    }
    StatusListPtr list(raw);
    return static_cast<int>(git_status_list_entrycount(list.get()));
}

}  // namespace sluice::git
