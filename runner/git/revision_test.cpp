// resolve_revision on real repositories: every kind of revision git accepts, and the
// errors for missing and ambiguous ones; changed_files, merge_base, count_uncommitted.
#include "runner/git/revision.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <sstream>

#include "runner/git/repo_fixture_test_support.hpp"

namespace sluice::git {
namespace {

using test_support::FixtureRepo;
using test_support::git;

class RevisionTest : public ::testing::Test {
protected:
    void SetUp() override {
        repo_.write("a.txt", "one\n");
        first_ = repo_.commit("first");
        repo_.write("a.txt", "two\n");
        second_ = repo_.commit("second\n\nwith a body");
        repo_.write("b.txt", "b\n");
        third_ = repo_.commit("third");
    }

    sluice::testing::TempDir tmp_;
    FixtureRepo repo_{tmp_ / "repo"};
    std::string first_, second_, third_;
};

TEST_F(RevisionTest, FullShaGivesEveryField) {
    auto c = resolve_revision(repo_.dir(), second_);
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->sha, second_);
    EXPECT_EQ(c->short_sha, second_.substr(0, 8));
    EXPECT_EQ(c->author, "Ada Lovelace <ada@example.com>");
    EXPECT_EQ(c->author_name, "Ada Lovelace");
    EXPECT_EQ(c->author_email, "ada@example.com");
    EXPECT_EQ(c->authored_at, 1704164645);
    EXPECT_EQ(c->committed_at, 1704164645);
    EXPECT_EQ(c->message, "second\n\nwith a body");
    EXPECT_EQ(c->parents, std::vector<std::string>{first_});
    EXPECT_EQ(c->branch, "");  // a sha names no branch
}

TEST_F(RevisionTest, ShortSha) {
    auto c = resolve_revision(repo_.dir(), first_.substr(0, 7));
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->sha, first_);
    EXPECT_TRUE(c->parents.empty());
}

TEST_F(RevisionTest, BranchNamesTheBranch) {
    git(repo_.dir(), {"branch", "feature/x", first_});
    auto c = resolve_revision(repo_.dir(), "feature/x");
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->sha, first_);
    EXPECT_EQ(c->branch, "feature/x");
    auto main = resolve_revision(repo_.dir(), "main");
    ASSERT_TRUE(main.has_value());
    EXPECT_EQ(main->sha, third_);
    EXPECT_EQ(main->branch, "main");
    auto full = resolve_revision(repo_.dir(), "refs/heads/main");
    ASSERT_TRUE(full.has_value());
    EXPECT_EQ(full->branch, "main");
}

TEST_F(RevisionTest, AnnotatedAndLightweightTags) {
    git(repo_.dir(), {"tag", "-a", "v1.0", "-m", "release", second_});
    git(repo_.dir(), {"tag", "light", first_});
    auto annotated = resolve_revision(repo_.dir(), "v1.0");
    ASSERT_TRUE(annotated.has_value()) << annotated.error().message;
    EXPECT_EQ(annotated->sha, second_);
    EXPECT_EQ(annotated->tag, "v1.0");
    EXPECT_EQ(annotated->branch, "");
    auto light = resolve_revision(repo_.dir(), "light");
    ASSERT_TRUE(light.has_value()) << light.error().message;
    EXPECT_EQ(light->sha, first_);
    EXPECT_EQ(light->tag, "light");
    // A sha of a tagged commit still reports the tag.
    auto by_sha = resolve_revision(repo_.dir(), second_);
    ASSERT_TRUE(by_sha.has_value());
    EXPECT_EQ(by_sha->tag, "v1.0");
}

TEST_F(RevisionTest, RelativeRevisions) {
    auto c = resolve_revision(repo_.dir(), "HEAD~2");
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->sha, first_);
    auto caret = resolve_revision(repo_.dir(), "main^");
    ASSERT_TRUE(caret.has_value());
    EXPECT_EQ(caret->sha, second_);
}

TEST_F(RevisionTest, HeadAndEmptyGiveTheCurrentBranch) {
    for (std::string rev : {"HEAD", ""}) {
        auto c = resolve_revision(repo_.dir(), rev);
        ASSERT_TRUE(c.has_value()) << c.error().message;
        EXPECT_EQ(c->sha, third_);
        EXPECT_EQ(c->branch, "main");
    }
    git(repo_.dir(), {"checkout", "-q", "--detach", second_});
    auto detached = resolve_revision(repo_.dir(), "HEAD");
    ASSERT_TRUE(detached.has_value());
    EXPECT_EQ(detached->sha, second_);
    EXPECT_EQ(detached->branch, "");
}

TEST_F(RevisionTest, FromASubdirectory) {
    repo_.write("sub/dir/file", "x");
    auto c = resolve_revision(repo_.dir() / "sub" / "dir", "HEAD~1");
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->sha, second_);
}

TEST_F(RevisionTest, RemoteTrackingBranchOfAClone) {
    git(repo_.dir(), {"branch", "feature/y", second_});
    git(tmp_.path(), {"clone", "-q", repo_.dir().string(), "clone"});
    auto c = resolve_revision(tmp_ / "clone", "origin/main");
    ASSERT_TRUE(c.has_value()) << c.error().message;
    EXPECT_EQ(c->sha, third_);
    EXPECT_EQ(c->branch, "main");
    auto nested = resolve_revision(tmp_ / "clone", "origin/feature/y");
    ASSERT_TRUE(nested.has_value()) << nested.error().message;
    EXPECT_EQ(nested->sha, second_);
    EXPECT_EQ(nested->branch, "feature/y");
}

TEST_F(RevisionTest, UnknownRevisionIsBadInput) {
    auto c = resolve_revision(repo_.dir(), "nope");
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(c.error().message, "unknown revision `nope`");
    auto typo = resolve_revision(repo_.dir(), "mian");
    ASSERT_FALSE(typo.has_value());
    EXPECT_EQ(typo.error().message, "unknown revision `mian`; did you mean `main`?");
    auto too_far = resolve_revision(repo_.dir(), "HEAD~10");
    ASSERT_FALSE(too_far.has_value());
    EXPECT_EQ(too_far.error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(too_far.error().message, "unknown revision `HEAD~10`");
    auto sha = resolve_revision(repo_.dir(), std::string(40, 'f'));
    ASSERT_FALSE(sha.has_value());
    EXPECT_EQ(sha.error().code, util::ErrorCode::bad_input);
}

TEST_F(RevisionTest, ATreeIsNoCommit) {
    auto c = resolve_revision(repo_.dir(), "HEAD^{tree}");
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(c.error().message, "revision `HEAD^{tree}` names a tree, not a commit");
}

TEST(Revision, EmptyRepositoryAndNoRepository) {
    sluice::testing::TempDir tmp;
    FixtureRepo empty(tmp / "empty");
    auto c = resolve_revision(empty.dir(), "HEAD");
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(c.error().message, "unknown revision `HEAD`: the repository has no commits yet");
    std::filesystem::create_directories(tmp / "plain");
    auto none = resolve_revision(tmp / "plain", "HEAD");
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().code, util::ErrorCode::not_found);
}

// Many commits (fast-import, reproducible ids) so that some short prefixes are shared.
class AmbiguousTest : public ::testing::Test {
protected:
    void SetUp() override {
        repo_.write("seed", "seed\n");
        repo_.commit("seed");
        std::ostringstream stream;
        for (int i = 0; i < 1000; ++i) {
            std::string message = "commit " + std::to_string(i) + "\n";
            std::string content = "content " + std::to_string(i) + "\n";
            stream << "commit refs/heads/many\n"
                   << "committer C <c@example.com> " << 1700000000 + i << " +0000\n"
                   << "data " << message.size() << "\n"
                   << message;
            if (i == 0) stream << "from refs/heads/main^0\n";
            stream << "M 100644 inline file.txt\ndata " << content.size() << "\n"
                   << content << "\n";
        }
        tmp_.write("stream", stream.str());
        auto r = sluice::testing::run_command({"sh", "-c", "git fast-import --quiet < ../stream"},
                                              {repo_.dir(), test_support::git_env()});
        ASSERT_EQ(r.exit_code, 0) << r.err;
        std::istringstream objects(git(repo_.dir(), {"cat-file", "--batch-all-objects",
                                                     "--batch-check=%(objectname) %(objecttype)"}));
        std::string sha, type;
        while (objects >> sha >> type) by_prefix_[sha.substr(0, 4)].emplace_back(sha, type);
    }

    // A 4-digit prefix matching (exactly / at least) the given numbers of commits and
    // of other objects.
    std::string find_prefix(int commits, int min_others) const {
        for (const auto& [prefix, objects] : by_prefix_) {
            int c = 0, others = 0;
            for (const auto& [sha, type] : objects) (type == "commit" ? c : others)++;
            if (c == commits && others >= min_others) return prefix;
        }
        return "";
    }

    sluice::testing::TempDir tmp_;
    FixtureRepo repo_{tmp_ / "repo"};
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> by_prefix_;
};

TEST_F(AmbiguousTest, TwoCommitsSharingAPrefixAreAnError) {
    std::string prefix = find_prefix(2, 0);
    ASSERT_FALSE(prefix.empty()) << "no two commits share a 4-digit prefix";
    auto c = resolve_revision(repo_.dir(), prefix);
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, util::ErrorCode::bad_input);
    const auto& message = c.error().message;
    EXPECT_EQ(message.rfind("ambiguous revision `" + prefix + "`: matches commit ", 0), 0u)
        << message;
    std::cout << "  the error reads: " << message << "\n";
    for (const auto& [sha, type] : by_prefix_.at(prefix)) {
        if (type == "commit") {
            EXPECT_NE(message.find(sha.substr(0, 12)), std::string::npos) << message;
        }
    }
}

TEST_F(AmbiguousTest, OneCommitAmongOtherObjectsIsThatCommit) {
    std::string prefix = find_prefix(1, 1);
    ASSERT_FALSE(prefix.empty()) << "no commit shares a 4-digit prefix with a blob or tree";
    auto c = resolve_revision(repo_.dir(), prefix);
    ASSERT_TRUE(c.has_value()) << c.error().message;
    // As git does where a commit is expected.
    EXPECT_EQ(c->sha, git(repo_.dir(), {"rev-parse", "--verify", "-q", prefix + "^{commit}"}));
}

TEST_F(AmbiguousTest, OnlyNonCommitsSharingAPrefix) {
    std::string prefix = find_prefix(0, 2);
    ASSERT_FALSE(prefix.empty());
    auto c = resolve_revision(repo_.dir(), prefix);
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(c.error().message.rfind("revision `" + prefix + "` names no commit; it matches ", 0),
              0u)
        << c.error().message;
}

TEST_F(RevisionTest, ChangedFilesBetweenCommits) {
    repo_.write("dir/new.txt", "new\n");
    repo_.write("a.txt", "changed\n");
    git(repo_.dir(), {"mv", "b.txt", "renamed.txt"});
    std::string fourth = repo_.commit("fourth");
    auto files = changed_files(repo_.dir(), third_, fourth);
    ASSERT_TRUE(files.has_value()) << files.error().message;
    EXPECT_EQ(*files, (std::vector<std::string>{"a.txt", "b.txt", "dir/new.txt", "renamed.txt"}));
    auto none = changed_files(repo_.dir(), fourth, fourth);
    ASSERT_TRUE(none.has_value());
    EXPECT_TRUE(none->empty());
    auto all = changed_files(repo_.dir(), "", first_);
    ASSERT_TRUE(all.has_value());
    EXPECT_EQ(*all, std::vector<std::string>{"a.txt"});
    auto bad = changed_files(repo_.dir(), "nope", fourth);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, util::ErrorCode::bad_input);
}

TEST_F(RevisionTest, MergeBaseOfDivergedBranches) {
    git(repo_.dir(), {"checkout", "-q", "-b", "topic", second_});
    repo_.write("topic.txt", "t\n");
    std::string topic = repo_.commit("topic work");
    auto base = merge_base(repo_.dir(), "main", "topic");
    ASSERT_TRUE(base.has_value()) << base.error().message;
    EXPECT_EQ(*base, second_);
    auto files = changed_files(repo_.dir(), *base, topic);
    ASSERT_TRUE(files.has_value());
    EXPECT_EQ(*files, std::vector<std::string>{"topic.txt"});

    git(repo_.dir(), {"checkout", "-q", "--orphan", "unrelated"});
    repo_.write("other.txt", "o\n");
    repo_.commit("unrelated root");
    auto none = merge_base(repo_.dir(), "main", "unrelated");
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().code, util::ErrorCode::not_found);
}

TEST_F(RevisionTest, CountsUncommittedChangesLikeGitStatus) {
    auto clean = count_uncommitted(repo_.dir());
    ASSERT_TRUE(clean.has_value()) << clean.error().message;
    EXPECT_EQ(*clean, 0);
    repo_.write(".gitignore", "*.log\n");
    repo_.commit("ignore logs");
    repo_.write("a.txt", "modified\n");  // modified
    repo_.write("staged.txt", "s\n");    // staged
    git(repo_.dir(), {"add", "staged.txt"});
    repo_.write("untracked/one.txt", "1\n");  // untracked, in a directory
    repo_.write("untracked/two.txt", "2\n");
    repo_.write("debug.log", "ignored\n");           // ignored: not counted
    std::filesystem::remove(repo_.dir() / "b.txt");  // deleted
    auto n = count_uncommitted(repo_.dir());
    ASSERT_TRUE(n.has_value()) << n.error().message;
    EXPECT_EQ(*n, 5);
    std::string porcelain = git(repo_.dir(), {"status", "--porcelain", "-uall"});
    EXPECT_EQ(*n, std::count(porcelain.begin(), porcelain.end(), '\n') + 1) << porcelain;
}

}  // namespace
}  // namespace sluice::git
