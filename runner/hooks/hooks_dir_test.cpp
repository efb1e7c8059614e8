// Finding the hooks directory: the default, core.hooksPath (relative, absolute, `~`),
// linked worktrees, bare repositories, and outside any repository.
#include "runner/hooks/hooks_dir.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "runner/hooks/hooks_test_support.hpp"

namespace sluice::hooks {
namespace {

using test::Git;

class HooksDirTest : public ::testing::Test {
  protected:
    void SetUp() override {
        test::clean_process_env();
        git_.ok(tmp_.path(), {"init", "-q", "-b", "main", "repo"});
        git_.ok(repo(), {"commit", "-q", "--allow-empty", "-m", "first"});
    }
    fs::path repo() const { return tmp_ / "repo"; }

    testing::TempDir tmp_;
    Git git_{tmp_ / "home"};
};

TEST_F(HooksDirTest, DefaultIsTheGitDirectorysHooks) {
    auto dir = find_hooks_dir(repo());
    ASSERT_TRUE(dir.has_value()) << dir.error().message;
    EXPECT_EQ(dir->path, repo() / ".git" / "hooks");
    EXPECT_EQ(dir->work_tree, repo());
    EXPECT_FALSE(dir->from_config);
    EXPECT_TRUE(dir->inside_repository);
}

TEST_F(HooksDirTest, FoundFromASubdirectory) {
    fs::create_directories(repo() / "a" / "b");
    auto dir = find_hooks_dir(repo() / "a" / "b");
    ASSERT_TRUE(dir.has_value());
    EXPECT_EQ(dir->path, repo() / ".git" / "hooks");
}

TEST_F(HooksDirTest, LinkedWorktreeSharesTheCommonHooks) {
    git_.ok(repo(), {"worktree", "add", "-q", (tmp_ / "wt").string()});
    auto dir = find_hooks_dir(tmp_ / "wt");
    ASSERT_TRUE(dir.has_value()) << dir.error().message;
    EXPECT_EQ(dir->path, repo() / ".git" / "hooks");
    EXPECT_EQ(dir->work_tree, tmp_ / "wt");
    // git agrees.
    EXPECT_EQ(git_.ok(tmp_ / "wt", {"rev-parse", "--path-format=absolute", "--git-path", "hooks"}),
              (repo() / ".git" / "hooks").string());
}

TEST_F(HooksDirTest, RelativeCoreHooksPathIsFromTheTopOfTheWorkTree) {
    git_.ok(repo(), {"config", "core.hooksPath", ".githooks"});
    fs::create_directories(repo() / "sub");
    auto dir = find_hooks_dir(repo() / "sub");
    ASSERT_TRUE(dir.has_value()) << dir.error().message;
    EXPECT_EQ(dir->path, repo() / ".githooks");
    EXPECT_TRUE(dir->from_config);
    EXPECT_TRUE(dir->inside_repository);
}

TEST_F(HooksDirTest, RelativeCoreHooksPathInALinkedWorktreeIsFromThatWorktree) {
    git_.ok(repo(), {"worktree", "add", "-q", (tmp_ / "wt").string()});
    git_.ok(repo(), {"config", "core.hooksPath", "tools/hooks/"});
    auto dir = find_hooks_dir(tmp_ / "wt");
    ASSERT_TRUE(dir.has_value());
    EXPECT_EQ(dir->path, tmp_ / "wt" / "tools" / "hooks");
    EXPECT_EQ(git_.ok(tmp_ / "wt", {"rev-parse", "--path-format=absolute", "--git-path", "hooks"}),
              (tmp_ / "wt" / "tools" / "hooks").string());
}

TEST_F(HooksDirTest, AbsoluteCoreHooksPathOutsideTheRepository) {
    git_.ok(repo(), {"config", "core.hooksPath", (tmp_ / "shared-hooks").string()});
    auto dir = find_hooks_dir(repo());
    ASSERT_TRUE(dir.has_value());
    EXPECT_EQ(dir->path, tmp_ / "shared-hooks");
    EXPECT_TRUE(dir->from_config);
    EXPECT_FALSE(dir->inside_repository);
}

TEST_F(HooksDirTest, AbsoluteCoreHooksPathInsideTheGitDirectory) {
    git_.ok(repo(), {"config", "core.hooksPath", (repo() / ".git" / "my-hooks").string()});
    auto dir = find_hooks_dir(repo());
    ASSERT_TRUE(dir.has_value());
    EXPECT_EQ(dir->path, repo() / ".git" / "my-hooks");
    EXPECT_TRUE(dir->inside_repository);
}

TEST_F(HooksDirTest, TildeInCoreHooksPathIsTheHomeDirectory) {
    git_.ok(repo(), {"config", "core.hooksPath", "~/my-hooks"});
    auto dir = find_hooks_dir(repo());
    ASSERT_TRUE(dir.has_value()) << dir.error().message;
    const char* home = std::getenv("HOME");  // libgit2 reads the process's HOME
    ASSERT_NE(home, nullptr);
    EXPECT_EQ(dir->path, (fs::path(home) / "my-hooks").lexically_normal());
}

TEST_F(HooksDirTest, BareRepository) {
    git_.ok(tmp_.path(), {"init", "-q", "--bare", "remote.git"});
    auto dir = find_hooks_dir(tmp_ / "remote.git");
    ASSERT_TRUE(dir.has_value());
    EXPECT_EQ(dir->path, tmp_ / "remote.git" / "hooks");
    EXPECT_TRUE(dir->work_tree.empty());
    git_.ok(tmp_ / "remote.git", {"config", "core.hooksPath", "h"});
    dir = find_hooks_dir(tmp_ / "remote.git");
    ASSERT_TRUE(dir.has_value());
    EXPECT_EQ(dir->path, tmp_ / "remote.git" / "h");
}

TEST_F(HooksDirTest, OutsideARepositoryIsNotFound) {
    fs::create_directories(tmp_ / "plain");
    // The temp directory is not inside a repository, so the search upwards finds none.
    auto dir = find_hooks_dir(tmp_ / "plain");
    ASSERT_FALSE(dir.has_value());
    EXPECT_EQ(dir.error().code, util::ErrorCode::not_found);
}

}  // namespace
}  // namespace sluice::hooks
