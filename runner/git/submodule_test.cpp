// Submodules in workspaces: checked out at the commits the superproject records (nested
// ones too), moved with it, removed with it; their objects come from the user's
// .git/modules when there, else from a mirror of their URL in the state directory.
#include <gtest/gtest.h>

#include "runner/git/checkout.hpp"
#include "runner/git/repo_fixture_test_support.hpp"

namespace sluice::git {
namespace {

using test_support::FixtureRepo;
using test_support::git;
using test_support::identity;
using test_support::path_exists;
using test_support::read;

class SubmoduleTest : public ::testing::Test {
protected:
    void SetUp() override {
        for (int i = 0; i < 10; ++i) sub_.write("f" + std::to_string(i), "sub v1\n");
        s1_ = sub_.commit("sub one");
        sub_.write("f0", "sub v2\n");
        sub_.write("added", "new in v2\n");
        s2_ = sub_.commit("sub two");

        super_.write("top.txt", "top\n");
        super_.commit("top");
        // A relative URL, as most projects have: resolved against the superproject.
        git(super_.dir(),
            {"-c", "protocol.file.allow=always", "submodule", "add", "-q", "../sub", "libs/sub"});
        git(super_.dir() / "libs/sub", {"checkout", "-q", s1_});
        git(super_.dir(), {"add", "libs/sub"});
        c1_ = super_.commit("add the submodule at s1");
        git(super_.dir() / "libs/sub", {"checkout", "-q", s2_});
        git(super_.dir(), {"add", "libs/sub"});
        c2_ = super_.commit("move the submodule to s2");
        git(super_.dir(), {"rm", "-q", "libs/sub"});
        c3_ = super_.commit("remove the submodule");
    }

    void expect_clean(const std::filesystem::path& ws) {
        EXPECT_EQ(git(ws, {"status", "--porcelain", "--ignored", "-uall"}), "");
        EXPECT_EQ(git(ws, {"submodule", "status", "--recursive"}).find_first_of("+-U"),
                  std::string::npos)
            << git(ws, {"submodule", "status", "--recursive"});
    }

    sluice::testing::TempDir tmp_;
    FixtureRepo sub_{tmp_ / "sub"};
    FixtureRepo super_{tmp_ / "super"};
    std::filesystem::path ws_ = tmp_ / "ws";
    std::string s1_, s2_, c1_, c2_, c3_;
};

TEST_F(SubmoduleTest, CheckedOutAtTheRecordedCommitMovedAndRemoved) {
    auto stats = checkout(super_.dir(), c1_, ws_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_EQ(stats->submodules, 1);
    EXPECT_EQ(stats->files_written, 2 + 10);  // top.txt and .gitmodules; 10 in the submodule
    EXPECT_EQ(git(ws_ / "libs/sub", {"rev-parse", "HEAD"}), s1_);
    EXPECT_EQ(read(ws_ / "libs/sub/f0"), "sub v1\n");
    EXPECT_FALSE(path_exists(ws_ / "libs/sub/added"));
    expect_clean(ws_);

    auto untouched = identity(ws_ / "libs/sub/f5");
    auto link = identity(ws_ / "libs/sub/.git");
    auto moved = checkout(super_.dir(), c2_, ws_);
    ASSERT_TRUE(moved.has_value()) << moved.error().message;
    EXPECT_EQ(moved->submodules, 1);
    EXPECT_EQ(moved->files_written, 2);  // f0 and added, in the submodule
    EXPECT_EQ(git(ws_ / "libs/sub", {"rev-parse", "HEAD"}), s2_);
    EXPECT_EQ(read(ws_ / "libs/sub/f0"), "sub v2\n");
    EXPECT_EQ(identity(ws_ / "libs/sub/f5"), untouched);
    EXPECT_EQ(identity(ws_ / "libs/sub/.git"), link);
    expect_clean(ws_);

    auto removed = checkout(super_.dir(), c3_, ws_);
    ASSERT_TRUE(removed.has_value()) << removed.error().message;
    EXPECT_EQ(removed->submodules, 0);
    EXPECT_FALSE(path_exists(ws_ / "libs/sub"));
    EXPECT_EQ(git(ws_, {"status", "--porcelain", "--ignored", "-uall"}), "");

    auto back = checkout(super_.dir(), c1_, ws_);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(git(ws_ / "libs/sub", {"rev-parse", "HEAD"}), s1_);
    EXPECT_EQ(read(ws_ / "libs/sub/f0"), "sub v1\n");
    expect_clean(ws_);
}

TEST_F(SubmoduleTest, LeftoversInsideTheSubmoduleAreRemoved) {
    ASSERT_TRUE(checkout(super_.dir(), c2_, ws_).has_value());
    std::ofstream(ws_ / "libs/sub/junk") << "j";
    std::ofstream(ws_ / "libs/sub/f1") << "edited";
    auto stats = checkout(super_.dir(), c2_, ws_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_EQ(stats->files_written, 1);
    EXPECT_EQ(stats->files_removed, 1);
    expect_clean(ws_);
}

TEST_F(SubmoduleTest, NotOnThisMachineIsFetchedIntoAMirror) {
    // A clone without `submodule update`: no .git/modules/ to borrow from.
    git(tmp_.path(), {"clone", "-q", super_.dir().string(), "clone"});
    auto clone = tmp_ / "clone";
    ASSERT_FALSE(path_exists(clone / ".git/modules"));
    auto refused = checkout(clone, c2_, ws_);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, util::ErrorCode::not_found);
    EXPECT_NE(refused.error().message.find("submodule `libs/sub`"), std::string::npos)
        << refused.error().message;

    CheckoutOptions options;
    options.state_dir = tmp_ / "state";
    auto stats = checkout(clone, c2_, tmp_ / "ws2", options);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_EQ(git(tmp_ / "ws2" / "libs/sub", {"rev-parse", "HEAD"}), s2_);
    EXPECT_TRUE(std::filesystem::is_directory(options.state_dir / "mirrors"));
    expect_clean(tmp_ / "ws2");
    // Nothing was added to the clone.
    EXPECT_FALSE(path_exists(clone / ".git/modules"));
}

TEST_F(SubmoduleTest, NestedSubmodules) {
    FixtureRepo deep(tmp_ / "deep");
    deep.write("deep.txt", "deep\n");
    std::string d1 = deep.commit("deep");
    git(sub_.dir(), {"-c", "protocol.file.allow=always", "submodule", "add", "-q",
                     (tmp_ / "deep").string(), "deep"});
    std::string s3 = sub_.commit("sub with deep");
    git(super_.dir(), {"checkout", "-q", c2_});
    git(super_.dir(), {"-c", "protocol.file.allow=always", "submodule", "update", "-q", "--init"});
    git(super_.dir() / "libs/sub", {"fetch", "-q"});
    git(super_.dir() / "libs/sub", {"checkout", "-q", s3});
    git(super_.dir() / "libs/sub",
        {"-c", "protocol.file.allow=always", "submodule", "update", "-q", "--init"});
    git(super_.dir(), {"add", "libs/sub"});
    std::string c4 = super_.commit("nested");

    auto stats = checkout(super_.dir(), c4, ws_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_EQ(stats->submodules, 2);
    EXPECT_EQ(read(ws_ / "libs/sub/deep/deep.txt"), "deep\n");
    EXPECT_EQ(git(ws_ / "libs/sub/deep", {"rev-parse", "HEAD"}), d1);
    expect_clean(ws_);
}

TEST_F(SubmoduleTest, WithoutSubmodulesOnlyTheDirectory) {
    CheckoutOptions options;
    options.submodules = false;
    auto stats = checkout(super_.dir(), c1_, ws_, options);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_EQ(stats->submodules, 0);
    EXPECT_TRUE(std::filesystem::is_directory(ws_ / "libs/sub"));
    EXPECT_TRUE(std::filesystem::is_empty(ws_ / "libs/sub"));
}

}  // namespace
}  // namespace sluice::git
