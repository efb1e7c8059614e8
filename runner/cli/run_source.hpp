// Where a run comes from: which pipeline text, which commit, which directory the stages
// run in. A commit is checked out into a workspace of the state directory (the user's
// tree is never touched); --worktree runs the files as they are; --repo runs a commit of
// a mirrored remote repository.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runner/cli/session.hpp"
#include "runner/engine/remembered_run.hpp"
#include "runner/git/head.hpp"
#include "runner/git/workspace_pool.hpp"
#include "runner/pipeline/model.hpp"

#include <nlohmann/json.hpp>

namespace sluice::cli {

struct RunOptions {
    std::string file;
    std::string commit;          // --commit REV
    std::string repo;            // --repo URL
    bool worktree = false;
    int jobs = 0;
    std::vector<std::string> only;
    std::string event = "manual";
    std::string branch;
    std::string tag;
    std::string target;          // merge request target branch
    std::string before;          // the commit before a push
    std::string trigger = "local";
    std::string id_file;
    bool dry_run = false;
    bool no_cache = false;
    bool json = false;

    // -j, or the number of cores when not given.
    int effective_jobs() const;
};

struct RunSource {
    Session session;
    pipeline::Pipeline pipeline;
    std::string yaml;
    std::filesystem::path workspace;
    std::optional<git::CommitInfo> commit;
    // Files the push or merge request changed; nullopt when there is nothing to compare.
    std::optional<std::vector<std::string>> changed_files;
    std::string changed_base;    // " since abc12345" for messages
    std::optional<git::WorkspaceLease> lease;  // holds the workspace for the run
    nlohmann::json source = nlohmann::json::object();  // {repo, subdir}: for resume
    // The last run's memo, loading (and checked) while the pipeline is parsed: runs of
    // the working tree only (a fresh checkout has nothing the memo could vouch for).
    std::shared_ptr<engine::RememberedRun> remembered;
    // What environments' `branches:` are checked against: the repository's branches
    // that contain the commit, and whether a --worktree run has uncommitted changes.
    std::vector<std::string> branches_with_commit = {};
    bool uncommitted = false;
};

// The branches of `repo` that contain commit `sha`, among those the `branches:` globs of
// `pipeline`'s environments match (empty when no environment has `branches:`).
util::Result<std::vector<std::string>> deploy_branches(const std::filesystem::path& repo,
                                                       const pipeline::Pipeline& pipeline,
                                                       const std::string& sha);

// Takes a free workspace from the pool of the state directory and checks the commit of
// `repo` out into it.
util::Result<git::WorkspaceLease> check_out_commit(const Session& session,
                                                   const std::filesystem::path& repo,
                                                   const std::string& sha,
                                                   const std::string& branch);

// Resolves the options into a run source; pipeline errors are printed as FILE:LINE:COL
// and returned as one bad_input error.
util::Result<RunSource> open_run_source(const GlobalOptions& global, const RunOptions& options);

}  // namespace sluice::cli
