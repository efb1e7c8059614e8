// The user's repository is never written: after resolving revisions, counting changes,
// diffing and checking commits out into workspaces (inside the repository's own .sluice/
// state directory), its status, index file, HEAD, refs, stash and every file of .git
// are byte for byte what they were, uncommitted changes included.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <map>
#include <sstream>

#include "runner/git/checkout.hpp"
#include "runner/git/head.hpp"
#include "runner/git/repo_fixture_test_support.hpp"
#include "runner/git/revision.hpp"
#include "runner/git/workspace_pool.hpp"
#include "runner/util/clock.hpp"

namespace sluice::git {
namespace {

using test_support::FixtureRepo;
using test_support::git;

struct Snapshot {
    std::string status;
    std::string index;
    std::string head_file;
    std::string head;
    std::string refs;
    std::string stash;
    std::map<std::string, std::string> git_dir;    // path -> size and mtime
    std::map<std::string, std::string> work_tree;  // path -> content
    bool operator==(const Snapshot&) const = default;
};

std::string stamp(const std::filesystem::path& p) {
    struct stat st {};
    ::lstat(p.c_str(), &st);
    return std::to_string(st.st_size) + "@" + std::to_string(st.st_mtim.tv_sec) + "." +
           std::to_string(st.st_mtim.tv_nsec) + " mode " + std::to_string(st.st_mode);
}

// Read-only looks only: `git status` would refresh (rewrite) the index, unless optional
// locks are off.
std::string git_read(const std::filesystem::path& dir, std::vector<std::string> args) {
    args.insert(args.begin(), "--no-optional-locks");
    return git(dir, args);
}

Snapshot snapshot(const std::filesystem::path& repo) {
    Snapshot s;
    // Files first, before any git command could touch them.
    for (const auto& e : std::filesystem::recursive_directory_iterator(repo / ".git")) {
        s.git_dir[e.path().lexically_relative(repo).string()] = stamp(e.path());
    }
    for (auto it = std::filesystem::recursive_directory_iterator(repo);
         it != std::filesystem::recursive_directory_iterator(); ++it) {
        auto name = it->path().filename();
        if (name == ".git" || name == ".sluice") {
            it.disable_recursion_pending();
            continue;
        }
        if (it->is_regular_file()) {
            s.work_tree[it->path().lexically_relative(repo).string()] =
                test_support::read(it->path()) + " " + stamp(it->path());
        }
    }
    s.index = test_support::read(repo / ".git" / "index");
    s.head_file = test_support::read(repo / ".git" / "HEAD");
    s.status = git_read(repo, {"status", "--porcelain=v2", "--branch", "-uall"});
    s.head = git_read(repo, {"rev-parse", "HEAD"});
    s.refs = git_read(repo, {"for-each-ref"});
    s.stash = git_read(repo, {"stash", "list"});
    return s;
}

TEST(UserTree, NeverWritten) {
    sluice::testing::TempDir tmp;
    FixtureRepo repo(tmp / "repo");
    repo.write("a.txt", "a1\n");
    repo.write("dir/b.txt", "b1\n");
    std::string first = repo.commit("first");
    repo.write("a.txt", "a2\n");
    std::string second = repo.commit("second");
    git(repo.dir(), {"tag", "-a", "v1", "-m", "v1", first});
    git(repo.dir(), {"branch", "topic", first});
    repo.write("dir/b.txt", "b3\n");
    std::string third = repo.commit("third");

    // Uncommitted work of every kind, and a stash.
    repo.write("a.txt", "stashed change\n");
    git(repo.dir(), {"stash", "push", "-q", "-m", "wip"});
    repo.write("a.txt", "modified, not staged\n");
    repo.write("staged.txt", "staged\n");
    git(repo.dir(), {"add", "staged.txt"});
    repo.write("dir/b.txt", "staged then modified\n");
    git(repo.dir(), {"add", "dir/b.txt"});
    repo.write("dir/b.txt", "modified again\n");
    repo.write("new/untracked.txt", "untracked\n");

    // The state directory, as the engine makes it: inside the repository, excluded.
    auto state = repo.dir() / ".sluice";
    std::filesystem::create_directories(state);
    ASSERT_TRUE(exclude_in_repository(repo.dir(), "/.sluice/").has_value());
    git(repo.dir(), {"status"});  // lets git refresh its index once, before the snapshot

    Snapshot before = snapshot(repo.dir());
    ASSERT_NE(before.status.find("staged.txt"), std::string::npos);
    ASSERT_NE(before.stash, "");

    auto uncommitted = count_uncommitted(repo.dir());
    ASSERT_TRUE(uncommitted.has_value()) << uncommitted.error().message;
    EXPECT_EQ(*uncommitted, 4);  // a.txt, dir/b.txt, staged.txt, new/untracked.txt
    for (const std::string& rev :
         std::vector<std::string>{"HEAD", "", "HEAD~2", "v1", "topic", first.substr(0, 7)}) {
        auto c = resolve_revision(repo.dir(), rev);
        ASSERT_TRUE(c.has_value()) << rev << ": " << c.error().message;
    }
    ASSERT_TRUE(head_commit(repo.dir()).has_value());
    ASSERT_TRUE(changed_files(repo.dir(), first, third).has_value());
    ASSERT_TRUE(merge_base(repo.dir(), "topic", "main").has_value());

    util::SystemClock clock;
    WorkspacePool pool(state / "workspaces", clock);
    auto key = repository_key(repo.dir());
    ASSERT_TRUE(key.has_value());
    {
        auto lease = pool.acquire(*key, "main");
        ASSERT_TRUE(lease.has_value()) << lease.error().message;
        for (const auto& sha : {third, first, second, third}) {
            auto stats = checkout(repo.dir(), sha, lease->dir(), {state});
            ASSERT_TRUE(stats.has_value()) << stats.error().message;
            ASSERT_TRUE(lease->record_checkout(sha, "main").has_value());
        }
        // The workspace holds the commit, not the uncommitted work.
        EXPECT_EQ(test_support::read(lease->dir() / "a.txt"), "a2\n");
        EXPECT_FALSE(std::filesystem::exists(lease->dir() / "staged.txt"));
        EXPECT_FALSE(std::filesystem::exists(lease->dir() / "new"));
        // A stage's git commands in the workspace see the workspace, not the user's repo.
        EXPECT_EQ(git(lease->dir(), {"status", "--porcelain"}), "");
    }
    auto checked = checkout_revision(repo.dir(), "topic", tmp / "elsewhere");
    ASSERT_TRUE(checked.has_value()) << checked.error().message;

    Snapshot after = snapshot(repo.dir());
    EXPECT_EQ(after.status, before.status);
    EXPECT_EQ(after.index, before.index);
    EXPECT_EQ(after.head_file, before.head_file);
    EXPECT_EQ(after.head, before.head);
    EXPECT_EQ(after.refs, before.refs);
    EXPECT_EQ(after.stash, before.stash);
    for (const auto& [path, was] : before.git_dir) {
        auto it = after.git_dir.find(path);
        EXPECT_TRUE(it != after.git_dir.end() && it->second == was)
            << path << " was " << was << ", is "
            << (it == after.git_dir.end() ? "gone" : it->second);
    }
    for (const auto& [path, is] : after.git_dir) {
        EXPECT_TRUE(before.git_dir.count(path) == 1) << path << " is new: " << is;
    }
    EXPECT_EQ(after.work_tree, before.work_tree);
    EXPECT_TRUE(after == before);
}

// A stage that writes objects in its workspace (git add, git commit) writes them there:
// no object, ref or log is added to the user's repository. (git "freshens" an object it
// would write that an alternate already has by touching that file's mtime, as with
// `git clone --shared`; that is the only trace.)
TEST(UserTree, AStageCommittingInItsWorkspaceAddsNothingToIt) {
    sluice::testing::TempDir tmp;
    FixtureRepo repo(tmp / "repo");
    repo.write("a.txt", "a\n");
    std::string sha = repo.commit("first");
    git(repo.dir(), {"gc", "-q"});
    Snapshot before = snapshot(repo.dir());
    auto ws = tmp / "ws";
    ASSERT_TRUE(checkout(repo.dir(), sha, ws).has_value());
    std::ofstream(ws / "made-by-a-stage") << "x";
    git(ws, {"add", "-A"});
    git(ws, {"commit", "-q", "-m", "stage commit"});
    git(ws, {"tag", "stage-tag"});
    EXPECT_NE(git(ws, {"count-objects"}).substr(0, 10), "0 objects,");  // its own objects
    Snapshot after = snapshot(repo.dir());
    auto without_object_times = [](Snapshot s) {
        for (auto& [path, value] : s.git_dir) {
            if (path.starts_with(".git/objects/")) value = value.substr(0, value.find('@'));
        }
        return s;
    };
    EXPECT_TRUE(without_object_times(after) == without_object_times(before));
    auto again = checkout(repo.dir(), sha, ws);
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_FALSE(std::filesystem::exists(ws / "made-by-a-stage"));
}

}  // namespace
}  // namespace sluice::git
