// branches_containing: a branch contains its tip and the tip's ancestors, nothing else.
#include "runner/git/branches.hpp"

#include <gtest/gtest.h>

#include "runner/git/repo_fixture_test_support.hpp"

namespace sluice::git {
namespace {

using test_support::FixtureRepo;
using test_support::git;
using Names = std::vector<std::string>;

bool any(const std::string&) { return true; }

TEST(Branches, ABranchContainsItsTipAndItsAncestorsOnly) {
    testing::TempDir tmp;
    FixtureRepo repo(tmp.path() / "repo");
    std::string first = repo.commit("first");
    git(repo.dir(), {"checkout", "-q", "-b", "release/1"});
    std::string feature = repo.commit("on release/1 only");
    git(repo.dir(), {"checkout", "-q", "main"});
    std::string second = repo.commit("on main only");

    EXPECT_EQ(*branches_containing(repo.dir(), first, any), (Names{"main", "release/1"}));
    EXPECT_EQ(*branches_containing(repo.dir(), feature, any), (Names{"release/1"}));
    EXPECT_EQ(*branches_containing(repo.dir(), second, any), (Names{"main"}));
    auto only_main = [](const std::string& b) { return b == "main"; };
    EXPECT_EQ(*branches_containing(repo.dir(), feature, only_main), Names{});

    git(repo.dir(), {"merge", "-q", "--no-ff", "-m", "merge", "release/1"});
    EXPECT_EQ(*branches_containing(repo.dir(), feature, any), (Names{"main", "release/1"}));

    auto bad = branches_containing(repo.dir(), "main", any);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, util::ErrorCode::bad_input);
}

}  // namespace
}  // namespace sluice::git
