// Finding the work tree a directory belongs to: from the root, from deep inside, from a
// linked worktree (whose .git is a file), and nothing outside any repository.
#include <gtest/gtest.h>

#include "runner/git/head.hpp"
#include "runner/git/repo_fixture_test_support.hpp"
#include "runner/testing/temp_dir.hpp"

namespace sluice::git {
namespace {

using test_support::FixtureRepo;
using test_support::git;

TEST(WorkTreeRoot, IsFoundFromTheRootAndFromInside) {
    testing::TempDir dir;
    FixtureRepo repo(dir.path() / "project");
    repo.write("src/deep/file.txt", "x");
    repo.commit("first");
    auto root = std::filesystem::canonical(repo.dir());
    EXPECT_EQ(work_tree_root(repo.dir()), root);
    EXPECT_EQ(work_tree_root(repo.dir() / "src/deep"), root);
}

TEST(WorkTreeRoot, AWorktreeWhoseGitIsAFileIsItsOwnRoot) {
    testing::TempDir dir;
    FixtureRepo repo(dir.path() / "project");
    repo.write("a.txt", "x");
    repo.commit("first");
    git(repo.dir(), {"worktree", "add", "-q", (dir.path() / "linked").string()});
    ASSERT_TRUE(std::filesystem::is_regular_file(dir.path() / "linked/.git"));
    EXPECT_EQ(work_tree_root(dir.path() / "linked"), std::filesystem::canonical(dir.path() / "linked"));
}

TEST(WorkTreeRoot, IsNothingOutsideEveryRepository) {
    testing::TempDir dir;
    std::filesystem::create_directories(dir.path() / "plain/sub");
    EXPECT_EQ(work_tree_root(dir.path() / "plain/sub"), std::nullopt);
    // A bare repository has no work tree either.
    git(dir.path(), {"init", "-q", "--bare", "bare.git"});
    EXPECT_EQ(work_tree_root(dir.path() / "bare.git"), std::nullopt);
}

}  // namespace
}  // namespace sluice::git
