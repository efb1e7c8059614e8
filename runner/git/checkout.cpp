// Workspaces as small repositories of their own that borrow the source repository's
// objects (objects/info/alternates): a new workspace gets every file written at once
// (full_checkout.cpp), an existing one is moved with git_checkout_tree limited to the
// paths that can differ from the commit (workspace_move.cpp).
#include "runner/git/checkout.hpp"

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "runner/git/full_checkout.hpp"
#include "runner/git/handles.hpp"
#include "runner/git/mirror.hpp"
#include "runner/git/revision.hpp"
#include "runner/git/workspace_move.hpp"

namespace sluice::git {

namespace {

constexpr int k_max_submodule_depth = 8;
// Set in a workspace's .git/config: what allows a checkout to empty a directory.
constexpr const char* k_workspace_marker = "sluice.workspace";

// One repository to check out: the workspace itself, or one of its submodules.
struct Target {
    std::filesystem::path source;  // the repository whose objects are borrowed
    git_oid commit;
    std::filesystem::path work_dir;  // where the files go
    std::filesystem::path git_dir;   // the workspace's own git directory for them
    bool top = true;                 // the workspace itself (git_dir is work_dir/.git)
    WorkspaceScan* scan = nullptr;   // started early (the workspace itself), else none
};

struct Gitlink {
    std::string path;
    git_oid commit;
};

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

util::Status write_text(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
    out.close();
    if (!out) return util::fail(util::ErrorCode::io, "cannot write " + path.string());
    return {};
}

// A shallow source (a CI's `git clone --depth N`) lists where its history stops in
// `shallow`; the workspace needs the same list, or `git log` in a stage fails on the
// missing parents.
util::Status copy_shallow(const std::filesystem::path& source_git_dir,
                          const std::filesystem::path& git_dir) {
    std::error_code ec;
    auto from = source_git_dir / "shallow";
    auto to = git_dir / "shallow";
    if (!std::filesystem::exists(from, ec)) {
        std::filesystem::remove(to, ec);
        return {};
    }
    std::string text = read_text(from);
    if (read_text(to) == text) return {};
    return write_text(to, text);
}

util::Result<RepoPtr> create_repo(const Target& t, const std::string& alternates) {
    std::error_code ec;
    std::filesystem::create_directories(t.work_dir, ec);
    if (ec) {
        return util::fail(util::ErrorCode::io,
                          "cannot create " + t.work_dir.string() + ": " + ec.message());
    }
    // Nothing usable is there: start from an empty directory (a submodule keeps nothing
    // either; its .git file is written again by the init below).
    if (auto st = clear_directory(t.work_dir, ""); !st) return std::unexpected(st.error());
    if (!t.top) {
        if (auto st = remove_tree(t.git_dir); !st) return std::unexpected(st.error());
    }
    git_repository_init_options init = GIT_REPOSITORY_INIT_OPTIONS_INIT;
    init.flags = GIT_REPOSITORY_INIT_MKPATH;
    std::filesystem::path init_path = t.work_dir;
    std::string workdir = t.work_dir.string();
    if (!t.top) {
        // As git lays submodules out: the repository in .git/modules/NAME, a `.git` file
        // in the submodule's directory pointing at it.
        init.flags |= GIT_REPOSITORY_INIT_NO_DOTGIT_DIR | GIT_REPOSITORY_INIT_RELATIVE_GITLINK;
        init.workdir_path = workdir.c_str();
        init_path = t.git_dir;
    }
    git_repository* raw = nullptr;
    if (git_repository_init_ext(&raw, init_path.c_str(), &init) != 0) {
        return git_failure(util::ErrorCode::io,
                           "cannot create a workspace in " + t.work_dir.string());
    }
    RepoPtr created(raw);
    git_config* config_raw = nullptr;
    if (git_repository_config(&config_raw, created.get()) == 0) {
        ConfigPtr config(config_raw);
        // HEAD moves once per run: no reflog growing forever, no gc in a stage's git call.
        git_config_set_bool(config.get(), "core.logAllRefUpdates", 0);
        git_config_set_int32(config.get(), "gc.auto", 0);
        git_config_set_bool(config.get(), k_workspace_marker, 1);
    }
    if (auto st = write_text(t.git_dir / "objects" / "info" / "alternates", alternates); !st) {
        return std::unexpected(st.error());
    }
    created.reset();
    // Opened again so that its object database includes the alternates.
    return open_repository(t.git_dir, false);
}

std::filesystem::path without_trailing_separator(std::filesystem::path p) {
    p = p.lexically_normal();
    return p.has_filename() ? p : p.parent_path();
}

// Whether work_dir/.git is a "gitdir: PATH" file naming git_dir.
bool gitlink_points_to(const std::filesystem::path& work_dir,
                       const std::filesystem::path& git_dir) {
    std::string text = read_text(work_dir / ".git");
    const std::string prefix = "gitdir: ";
    if (!text.starts_with(prefix)) return false;
    text = text.substr(prefix.size());
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    std::filesystem::path target = text;
    if (target.is_relative()) target = work_dir / target;
    return without_trailing_separator(target) == without_trailing_separator(git_dir);
}

// The workspace's repository, reused when it is sound and borrows from the same source;
// `created` says a new one was made (so its work directory is empty).
util::Result<RepoPtr> prepare_repo(const Target& t, const std::filesystem::path& objects,
                                   bool& created) {
    const std::string alternates = objects.string() + "\n";
    created = false;
    std::error_code ec;
    if (std::filesystem::is_directory(t.git_dir, ec)) {
        auto repo = open_repository(t.git_dir, false);
        if (repo && git_repository_workdir(repo->get()) != nullptr &&
            read_text(t.git_dir / "objects" / "info" / "alternates") == alternates) {
            if (!t.top) {
                // A submodule checked out before, then removed and now back: its directory
                // is new and lacks the `.git` file that makes it a repository for git.
                if (!gitlink_points_to(t.work_dir, t.git_dir)) {
                    auto link =
                        "gitdir: " + t.git_dir.lexically_relative(t.work_dir).string() + "\n";
                    if (auto st = write_text(t.work_dir / ".git", link); !st) {
                        return std::unexpected(st.error());
                    }
                }
            }
            return repo;
        }
    }
    created = true;
    if (t.scan != nullptr) t.scan->cancel();  // nothing may look at what is removed
    if (t.top) {
        if (auto st = remove_tree(t.git_dir); !st) return std::unexpected(st.error());
    }
    return create_repo(t, alternates);
}

util::Result<TreePtr> commit_tree(git_repository* repo, const git_oid& oid) {
    git_commit* raw = nullptr;
    if (git_commit_lookup(&raw, repo, &oid) != 0) {
        return util::fail(util::ErrorCode::not_found, "commit " + to_hex(oid) + " is not there");
    }
    CommitPtr commit(raw);
    git_tree* tree = nullptr;
    if (git_commit_tree(&tree, commit.get()) != 0) {
        return git_failure(util::ErrorCode::io, "cannot read the tree of " + to_hex(oid));
    }
    return TreePtr(tree);
}

// The submodules a tree records; only looked for when it has a .gitmodules (a gitlink
// without one is checked out as an empty directory, as git does).
std::vector<Gitlink> gitlinks(git_tree* tree) {
    std::vector<Gitlink> links;
    if (git_tree_entry_byname(tree, ".gitmodules") == nullptr) return links;
    git_tree_walk(
        tree, GIT_TREEWALK_PRE,
        [](const char* dir, const git_tree_entry* entry, void* payload) {
            if (git_tree_entry_filemode(entry) == GIT_FILEMODE_COMMIT) {
                static_cast<std::vector<Gitlink>*>(payload)->push_back(Gitlink{
                    std::string(dir) + git_tree_entry_name(entry), *git_tree_entry_id(entry)});
            }
            return 0;
        },
        &links);
    return links;
}

// git's rule (CVE-2018-11235): a submodule's name becomes a path below .git/modules, so
// it must not climb out of it.
bool safe_submodule_name(std::string_view name) {
    if (name.empty()) return false;
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t end = name.find_first_of("/\\", start);
        if (end == std::string_view::npos) end = name.size();
        auto part = name.substr(start, end - start);
        if (part == ".." || part == ".") return false;
        start = end + 1;
    }
    return true;
}

util::Status checkout_one(const Target& t, const CheckoutOptions& options, CheckoutStats& stats,
                          int depth);

// A source repository: the workspace's own source may be given as any directory of a
// work tree; a submodule's source is a git directory (.git/modules/NAME, or a mirror),
// opened without its work tree, which may be gone (`git rm` of the submodule).
util::Result<RepoPtr> open_source(const std::filesystem::path& path, bool top) {
    if (top) return open_repository(path, true);
    git_repository* raw = nullptr;
    if (git_repository_open_bare(&raw, path.c_str()) != 0) {
        return git_failure(util::ErrorCode::io, "cannot open " + path.string());
    }
    return RepoPtr(raw);
}

bool has_commit(const std::filesystem::path& git_dir, const git_oid& commit) {
    git_odb* raw = nullptr;
    if (git_odb_open(&raw, (git_dir / "objects").c_str()) != 0) return false;
    OdbPtr odb(raw);
    return git_odb_exists(odb.get(), &commit) != 0;
}

struct SubmoduleSource {
    std::filesystem::path dir;  // where its objects are
    std::string url;            // its URL, relative ones resolved
};

// Where a submodule's commit can be read: the source repository's own copy of the
// submodule (.git/modules/NAME, there after `git submodule update`), else a mirror of
// its URL in the state directory.
util::Result<SubmoduleSource> submodule_source(git_repository* source, git_submodule* sm,
                                               const git_oid& commit,
                                               const CheckoutOptions& options) {
    const std::string path = git_submodule_path(sm);
    const char* url = git_submodule_url(sm);
    std::string resolved_url;
    if (url != nullptr && *url != '\0') {
        Buf resolved;
        if (git_submodule_resolve_url(resolved.get(), source, url) != 0) {
            return git_failure(util::ErrorCode::io,
                               "submodule `" + path + "`: cannot resolve its url");
        }
        resolved_url = resolved.str();
    }
    auto local = common_dir(source) / "modules" / git_submodule_name(sm);
    if (has_commit(local, commit)) return SubmoduleSource{local, resolved_url};
    if (resolved_url.empty()) {
        return util::fail(util::ErrorCode::not_found,
                          "submodule `" + path + "` has no url in .gitmodules");
    }
    if (options.state_dir.empty()) {
        return util::fail(util::ErrorCode::not_found,
                          "submodule `" + path + "`: commit " + to_hex(commit) +
                              " is not on this machine and there is no state directory to fetch "
                              "it into");
    }
    auto mirrored = mirror(options.state_dir, resolved_url);
    if (!mirrored) return std::unexpected(mirrored.error());
    if (!has_commit(*mirrored, commit)) {
        return util::fail(util::ErrorCode::not_found, "submodule `" + path + "`: " + resolved_url +
                                                          " has no commit " + to_hex(commit));
    }
    return SubmoduleSource{*mirrored, resolved_url};
}

util::Status checkout_submodules(git_repository* repo, git_repository* source, const Target& t,
                                 const std::vector<Gitlink>& links, const CheckoutOptions& options,
                                 CheckoutStats& stats, int depth) {
    if (depth >= k_max_submodule_depth) {
        return util::fail(util::ErrorCode::io, "submodules nested more than " +
                                                   std::to_string(k_max_submodule_depth) +
                                                   " deep in " + t.work_dir.string());
    }
    for (const auto& link : links) {
        git_submodule* raw = nullptr;
        if (git_submodule_lookup(&raw, repo, link.path.c_str()) != 0) {
            return git_failure(util::ErrorCode::io, "submodule `" + link.path + "`");
        }
        SubmodulePtr sm(raw);
        const char* name = git_submodule_name(sm.get());
        if (!safe_submodule_name(name)) {
            return util::fail(util::ErrorCode::io,
                              "submodule `" + link.path + "` has an unsafe name `" + name + "`");
        }
        auto src = submodule_source(source, sm.get(), link.commit, options);
        if (!src) return std::unexpected(src.error());
        // Initialised, as `git submodule update --init` leaves it: a stage's `git
        // submodule status` or `update` in the workspace then works.
        git_config* config_raw = nullptr;
        if (git_repository_config(&config_raw, repo) == 0 && !src->url.empty()) {
            ConfigPtr config(config_raw);
            const std::string key = std::string("submodule.") + name;
            git_config_set_string(config.get(), (key + ".url").c_str(), src->url.c_str());
            git_config_set_bool(config.get(), (key + ".active").c_str(), 1);
        }
        Target child{src->dir, link.commit, t.work_dir / link.path, t.git_dir / "modules" / name,
                     false};
        if (auto st = checkout_one(child, options, stats, depth + 1); !st) return st;
        ++stats.submodules;
    }
    return {};
}

util::Status checkout_one(const Target& t, const CheckoutOptions& options, CheckoutStats& stats,
                          int depth) {
    auto source = open_source(t.source, t.top);
    if (!source) return std::unexpected(source.error());
    std::error_code ec;
    auto objects = std::filesystem::canonical(common_dir(source->get()) / "objects", ec);
    if (ec) return util::fail(util::ErrorCode::io, "no object database in " + t.source.string());

    CheckoutStats mine;
    bool created = false;
    auto repo = prepare_repo(t, objects, created);
    if (!repo) return std::unexpected(repo.error());
    if (auto st = copy_shallow(common_dir(source->get()), t.git_dir); !st) return st;
    auto tree = commit_tree(repo->get(), t.commit);
    if (!tree) {
        if (tree.error().code != util::ErrorCode::not_found) return std::unexpected(tree.error());
        return util::fail(util::ErrorCode::not_found,
                          "commit " + to_hex(t.commit) + " is not in " + t.source.string());
    }

    std::vector<Gitlink> old_links;
    bool moved = false;
    if (!created) {
        git_oid previous;
        if (git_reference_name_to_id(&previous, repo->get(), "HEAD") == 0) {
            if (auto old_tree = commit_tree(repo->get(), previous)) {
                mine.previous = to_hex(previous);
                old_links = gitlinks(old_tree->get());
                // A failure (a stage broke the index, objects gone) falls back to a full
                // checkout into an emptied workspace below.
                std::optional<WorkspaceScan> own_scan;
                WorkspaceScan* scan = t.scan;
                if (scan == nullptr) {
                    scan = &own_scan.emplace(t.work_dir, t.git_dir);
                    scan->start();
                }
                auto limited =
                    move_changed_paths(repo->get(), tree->get(), t.work_dir, *scan, mine);
                if (limited && *limited) {
                    moved = true;
                    mine.path_limited = true;
                } else if (limited) {
                    moved = static_cast<bool>(
                        move_whole_tree(repo->get(), tree->get(), t.work_dir, *scan, mine));
                }
                scan->cancel();
            }
        }
    }
    if (!moved) {
        if (t.scan != nullptr) t.scan->cancel();
        if (!created) {
            // Whatever is there cannot be trusted: a new repository, an empty directory.
            mine.files_written = 0;
            mine.files_removed = 0;
            tree = TreePtr();  // libgit2 objects go before their repository
            repo = RepoPtr();
            if (auto st = remove_tree(t.git_dir); !st) return st;
            repo = prepare_repo(t, objects, created);
            if (!repo) return std::unexpected(repo.error());
            tree = commit_tree(repo->get(), t.commit);
            if (!tree) return std::unexpected(tree.error());
        }
        auto written = write_full_tree(repo->get(), tree->get(), options.threads);
        if (!written) return std::unexpected(written.error());
        mine.files_written = *written;
        mine.full = true;
    }
    record_checkout(t.git_dir, t.commit);
    git_oid head;
    bool at_commit = git_repository_head_detached(repo->get()) == 1 &&
                     git_reference_name_to_id(&head, repo->get(), "HEAD") == 0 &&
                     git_oid_equal(&head, &t.commit) != 0;
    if (!at_commit) {
        if (!mine.full) keep_for_later(t.git_dir, "HEAD");
        if (git_repository_set_head_detached(repo->get(), &t.commit) != 0) {
            return git_failure(util::ErrorCode::io, "cannot set HEAD of " + t.work_dir.string());
        }
    }

    auto new_links = gitlinks(tree->get());
    for (const auto& old : old_links) {
        bool kept = std::any_of(new_links.begin(), new_links.end(),
                                [&](const Gitlink& l) { return l.path == old.path; });
        auto dir = t.work_dir / old.path;
        if (!kept && std::filesystem::symlink_status(dir, ec).type() ==
                         std::filesystem::file_type::directory) {
            // Only a removed submodule's leftover directory: a file now at that path was
            // written by the checkout and is not a directory.
            if (auto st = remove_tree(dir); !st) return st;
            ++mine.files_removed;
        }
    }
    if (t.top) {
        stats.previous = mine.previous;
        stats.full = mine.full;
        stats.path_limited = mine.path_limited;
    }
    stats.files_written += mine.files_written;
    stats.files_removed += mine.files_removed;
    if (options.submodules && !new_links.empty()) {
        return checkout_submodules(repo->get(), source->get(), t, new_links, options, stats, depth);
    }
    return {};
}

// Whether `dir` is a workspace sluice made (and so may be emptied), or empty.
bool safe_to_use(const std::filesystem::path& dir) {
    std::error_code ec;
    if (std::filesystem::is_empty(dir, ec) && !ec) return true;
    git_config* raw = nullptr;
    if (git_config_open_ondisk(&raw, (dir / ".git" / "config").c_str()) != 0) return false;
    ConfigPtr config(raw);
    int marked = 0;
    return git_config_get_bool(&marked, config.get(), k_workspace_marker) == 0 && marked != 0;
}

// checkout() with the scan of the workspace started already.
util::Result<CheckoutStats> checkout_scanned(const std::filesystem::path& source_repo,
                                             const std::string& commit_sha,
                                             const std::filesystem::path& workspace_dir,
                                             const CheckoutOptions& options, WorkspaceScan& scan) {
    ensure_initialized();
    git_oid oid;
    if (commit_sha.size() != GIT_OID_HEXSZ || git_oid_fromstr(&oid, commit_sha.c_str()) != 0) {
        return util::fail(util::ErrorCode::bad_input,
                          "not a full commit sha: `" + commit_sha + "`");
    }
    std::error_code ec;
    std::filesystem::create_directories(workspace_dir, ec);
    auto work = std::filesystem::canonical(workspace_dir, ec);
    if (ec) {
        return util::fail(util::ErrorCode::io, "cannot create the workspace " +
                                                   workspace_dir.string() + ": " + ec.message());
    }
    if (!options.owned_directory && !safe_to_use(work)) {
        return util::fail(util::ErrorCode::conflict,
                          "refusing to check out into " + work.string() +
                              ": it is neither empty nor a sluice workspace");
    }
    Target top{source_repo, oid, work, work / ".git", true, &scan};
    CheckoutStats stats;
    if (auto st = checkout_one(top, options, stats, 0); !st) return std::unexpected(st.error());
    return stats;
}

}  // namespace

util::Result<CheckoutStats> checkout(const std::filesystem::path& source_repo,
                                     const std::string& commit_sha,
                                     const std::filesystem::path& workspace_dir,
                                     const CheckoutOptions& options) {
    // What a previous run changed is looked for while libgit2 opens the repositories.
    WorkspaceScan scan(workspace_dir, workspace_dir / ".git");
    scan.start();
    return checkout_scanned(source_repo, commit_sha, workspace_dir, options, scan);
}

util::Result<RevisionCheckout> checkout_revision(const std::filesystem::path& repo,
                                                 const std::string& rev,
                                                 const std::filesystem::path& into,
                                                 const CheckoutOptions& options) {
    // Started first: the scan takes about as long as libgit2's start (git_libgit2_init
    // parses the system's CA certificates) and the resolution.
    WorkspaceScan scan(into, into / ".git");
    scan.start();
    auto commit = resolve_revision(repo, rev);
    if (!commit) return std::unexpected(commit.error());
    auto stats = checkout_scanned(repo, commit->sha, into, options, scan);
    if (!stats) return std::unexpected(stats.error());
    return RevisionCheckout{std::move(*commit), *stats};
}

}  // namespace sluice::git
