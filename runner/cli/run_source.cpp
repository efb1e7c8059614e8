// Resolving a run's pipeline, commit and workspace from the command line.
#include "runner/cli/run_source.hpp"

#include <algorithm>
#include <iostream>
#include <thread>

#include "runner/cli/pipeline_file.hpp"
#include "runner/git/blob.hpp"
#include "runner/git/checkout.hpp"
#include "runner/git/mirror.hpp"
#include "runner/util/clock.hpp"
#include "runner/git/revision.hpp"
#include "runner/pipeline/loader.hpp"
#include "runner/pipeline/pipeline_memo.hpp"
#include "runner/git/branches.hpp"
#include "runner/rules/glob.hpp"

namespace sluice::cli {

namespace {

// Where validated pipelines are remembered between runs.
std::filesystem::path pipeline_memo_dir(const engine::StateDir& state) {
    return state.cache_dir() / "pipelines";
}

util::Error pipeline_errors(const util::Errors& errors, const std::string& where) {
    for (const auto& e : errors) std::cerr << e.to_string() << "\n";
    return {util::ErrorCode::bad_input,
            std::to_string(errors.size()) + (errors.size() == 1 ? " error" : " errors") + " in " +
                where,
            {}};
}

// The files a push or merge request changed, for `changes:` rules.
util::Status find_changes(const std::filesystem::path& repo, const RunOptions& options,
                          RunSource& src) {
    if (!src.commit) return {};
    std::string base;
    if (!options.before.empty()) {
        auto before = git::resolve_revision(repo, options.before);
        if (!before) return std::unexpected(before.error());
        base = before->sha;
    } else if (options.event == "merge_request" && !options.target.empty()) {
        auto target = git::resolve_revision(repo, options.target);
        if (!target) return std::unexpected(target.error());
        auto merge_base = git::merge_base(repo, target->sha, src.commit->sha);
        if (!merge_base) return std::unexpected(merge_base.error());
        base = *merge_base;
    } else if (options.event == "push" && !src.commit->parents.empty()) {
        base = src.commit->parents.front();
    } else {
        return {};  // a manual run, or a first commit: nothing to compare with
    }
    auto changed = git::changed_files(repo, base, src.commit->sha);
    if (!changed) return std::unexpected(changed.error());
    src.changed_files = std::move(*changed);
    src.changed_base = " since " + base.substr(0, 8);
    return {};
}

util::Status check_out(const std::filesystem::path& repo, RunSource& src) {
    auto lease = check_out_commit(src.session, repo, src.commit->sha, src.commit->branch);
    if (!lease) return std::unexpected(lease.error());
    src.lease = std::move(*lease);
    src.source["repo"] = repo.string();
    return {};
}

bool has_branch_rules(const pipeline::Pipeline& pipeline) {
    return std::ranges::any_of(pipeline.environments,
                               [](const auto& env) { return !env.branches.empty(); });
}

// The branches that contain the run's commit (and, for the working tree, whether it has
// uncommitted changes), when some environment has `branches:`.
util::Status find_deploy_branches(const std::filesystem::path& repo, RunSource& src,
                                  bool worktree) {
    if (!src.commit || !has_branch_rules(src.pipeline)) return {};
    auto branches = deploy_branches(repo, src.pipeline, src.commit->sha);
    if (!branches) return std::unexpected(branches.error());
    src.branches_with_commit = std::move(*branches);
    if (worktree) {
        auto dirty = git::count_uncommitted(repo);
        src.uncommitted = !dirty || *dirty > 0;  // cannot tell: as if changed (fail closed)
    }
    return {};
}

}  // namespace

util::Result<std::vector<std::string>> deploy_branches(const std::filesystem::path& repo,
                                                       const pipeline::Pipeline& pipeline,
                                                       const std::string& sha) {
    if (!has_branch_rules(pipeline)) return std::vector<std::string>{};
    return git::branches_containing(repo, sha, [&](const std::string& branch) {
        return std::ranges::any_of(pipeline.environments, [&](const auto& env) {
            return std::ranges::any_of(env.branches, [&](const std::string& glob) {
                return rules::glob_match(glob, branch);
            });
        });
    });
}

util::Result<git::WorkspaceLease> check_out_commit(const Session& session,
                                                   const std::filesystem::path& repo,
                                                   const std::string& sha,
                                                   const std::string& branch) {
    static const util::SystemClock clock;
    auto key = git::repository_key(repo);
    if (!key) return std::unexpected(key.error());
    git::WorkspacePool pool(session.state.root / "workspaces", clock);
    auto lease = pool.acquire(*key, branch);
    if (!lease) return std::unexpected(lease.error());
    git::CheckoutOptions options;
    options.state_dir = session.state.root;
    options.owned_directory = true;  // the lease's directory is sluice's: rebuild it if broken
    auto stats = git::checkout(repo, sha, lease->dir(), options);
    if (!stats) return std::unexpected(stats.error());
    if (auto st = lease->record_checkout(sha, branch); !st) return std::unexpected(st.error());
    return lease;
}

int RunOptions::effective_jobs() const {
    return jobs > 0 ? jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

util::Result<RunSource> open_run_source(const GlobalOptions& global, const RunOptions& options) {
    std::filesystem::path file = options.file.empty() ? "sluice.yml" : options.file;

    if (!options.repo.empty()) {
        // A remote repository: mirrored in the state directory, the pipeline read from
        // the commit, the commit checked out into a workspace.
        auto session = open_session(global, std::filesystem::current_path());
        if (!session) return std::unexpected(session.error());
        auto mirror = git::mirror(session->state.root, options.repo);
        if (!mirror) return std::unexpected(mirror.error());
        RunSource src{std::move(*session), {}, {}, {}, {}, {}, {}, {}, {}, {}};
        auto commit = git::resolve_revision(*mirror, options.commit.empty() ? "HEAD" : options.commit);
        if (!commit) return std::unexpected(commit.error());
        src.commit = *commit;
        std::string rel = file.generic_string();
        auto text = git::read_file_at(*mirror, commit->sha, rel);
        if (!text) return std::unexpected(text.error());
        if (!*text) {
            return util::fail(util::ErrorCode::bad_input, options.repo + " has no " + rel +
                                                              " at commit " + commit->short_sha);
        }
        auto loaded = pipeline::load_pipeline_remembered(**text, rel, pipeline_memo_dir(src.session.state));
        if (!loaded) return std::unexpected(pipeline_errors(loaded.error(), rel));
        src.pipeline = std::move(*loaded);
        src.yaml = std::move(**text);
        if (auto st = check_out(*mirror, src); !st) return std::unexpected(st.error());
        src.workspace = src.lease->dir() / file.parent_path();
        src.source["subdir"] = file.parent_path().generic_string();
        if (auto st = find_changes(*mirror, options, src); !st) return std::unexpected(st.error());
        if (auto st = find_deploy_branches(*mirror, src, false); !st) return std::unexpected(st.error());
        return src;
    }

    std::error_code ec;
    if (std::filesystem::is_directory(file, ec)) file /= "sluice.yml";
    file = std::filesystem::absolute(file).lexically_normal();
    auto project_dir = file.parent_path();
    auto repo = git::work_tree_root(project_dir);

    if (options.worktree || !repo) {
        if (!options.commit.empty()) {
            return util::fail(util::ErrorCode::bad_input,
                              project_dir.string() + " is not in a git repository: --commit needs one");
        }
        // The store is opened only for a valid pipeline: a bad one records nothing.
        auto state = open_state(global, project_dir);
        if (!state) return std::unexpected(state.error());
        std::shared_ptr<engine::RememberedRun> remembered;
        auto remember_ahead = [&](const std::string& text) {
            // The memo loads and its paths are looked at while the text is parsed and the
            // store opened (engine/remembered_run.hpp); the run checks it is its own.
            if (options.no_cache || options.dry_run || options.effective_jobs() < 2) return;
            remembered = std::make_shared<engine::RememberedRun>(state->cache_dir(), text, project_dir);
        };
        auto loaded = load_for_cli(file.string(), pipeline_memo_dir(*state), remember_ahead);
        if (!loaded) return util::fail(util::ErrorCode::bad_input, "the pipeline has errors");
        auto session = open_session(global, project_dir);
        if (!session) return std::unexpected(session.error());
        RunSource src{std::move(*session), std::move(loaded->pipeline), std::move(loaded->yaml),
                      project_dir, {}, {}, {}, {}, {}, std::move(remembered)};
        if (repo) {
            auto commit = git::resolve_revision(*repo, "HEAD");
            if (commit) src.commit = *commit;
            if (auto st = find_changes(*repo, options, src); !st) return std::unexpected(st.error());
            if (auto st = find_deploy_branches(*repo, src, true); !st) {
                return std::unexpected(st.error());
            }
        }
        return src;
    }

    // A commit of the project's repository, checked out into a workspace.
    auto session = open_session(global, project_dir);
    if (!session) return std::unexpected(session.error());
    RunSource src{std::move(*session), {}, {}, {}, {}, {}, {}, {}, {}, {}};
    auto commit = git::resolve_revision(*repo, options.commit.empty() ? "HEAD" : options.commit);
    if (!commit && options.commit.empty() && git::head_is_unborn(*repo)) {
        return util::fail(util::ErrorCode::bad_input,
                          "the repository at " + repo->string() +
                              " has no commits yet, and a run is of a commit: commit sluice.yml "
                              "(and what it runs) first, or run the files as they are with "
                              "`sluice run --worktree`");
    }
    if (!commit) return std::unexpected(commit.error());
    src.commit = *commit;
    if (options.commit.empty()) {
        auto dirty = git::count_uncommitted(*repo);
        if (dirty && *dirty > 0) {
            std::cerr << "sluice: running commit " << commit->short_sha << "; " << *dirty
                      << (*dirty == 1 ? " uncommitted change" : " uncommitted changes")
                      << " left out (--worktree runs them)\n";
        }
    }
    std::string rel = file.lexically_relative(std::filesystem::canonical(*repo, ec)).generic_string();
    if (rel.empty() || rel.rfind("..", 0) == 0) rel = file.lexically_relative(*repo).generic_string();
    auto text = git::read_file_at(*repo, commit->sha, rel);
    if (!text) return std::unexpected(text.error());
    if (!*text) {
        return util::fail(util::ErrorCode::bad_input,
                          rel + " does not exist at commit " + commit->short_sha +
                              " (commit it, or run the working tree with --worktree)");
    }
    auto loaded = pipeline::load_pipeline_remembered(**text, file.string(), pipeline_memo_dir(src.session.state));
    if (!loaded) return std::unexpected(pipeline_errors(loaded.error(), file.string()));
    src.pipeline = std::move(*loaded);
    src.yaml = std::move(**text);
    if (auto st = check_out(*repo, src); !st) return std::unexpected(st.error());
    src.workspace = src.lease->dir() / std::filesystem::path(rel).parent_path();
    src.source["subdir"] = std::filesystem::path(rel).parent_path().generic_string();
    if (auto st = find_changes(*repo, options, src); !st) return std::unexpected(st.error());
    if (auto st = find_deploy_branches(*repo, src, false); !st) return std::unexpected(st.error());
    return src;
}

}  // namespace sluice::cli
