// checkout() on real repositories: a full checkout is exactly the commit, a move rewrites
// only what differs (counted, and seen in inodes and mtimes), leftovers of a previous run
// are removed, filters match git's, and broken workspaces recover.
#include "runner/git/checkout.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "runner/git/repo_fixture_test_support.hpp"

namespace sluice::git {
namespace {

using test_support::FixtureRepo;
using test_support::git;
using test_support::identity;
using test_support::list_files;
using test_support::path_exists;
using test_support::read;

class CheckoutTest : public ::testing::Test {
  protected:
    void SetUp() override {
        for (int d = 0; d < 5; ++d) {
            for (int f = 0; f < 10; ++f) {
                repo_.write("d" + std::to_string(d) + "/f" + std::to_string(f) + ".txt",
                            "file " + std::to_string(d) + "/" + std::to_string(f) + "\n");
            }
        }
        repo_.write(".gitignore", "*.log\nbuild/\n");
        repo_.write("run.sh", "#!/bin/sh\necho hi\n");
        ::chmod((repo_.dir() / "run.sh").c_str(), 0755);
        std::filesystem::create_symlink("d0/f0.txt", repo_.dir() / "link");
        first_ = repo_.commit("first");
        // The second commit: 3 files changed, 1 added, 1 deleted.
        repo_.write("d1/f1.txt", "changed\n");
        repo_.write("d2/f2.txt", "changed\n");
        repo_.write("d3/f3.txt", "changed\n");
        repo_.write("d4/new.txt", "new\n");
        repo_.remove("d4/f9.txt");
        second_ = repo_.commit("second");
    }

    // The workspace holds exactly `sha`: the same files as `git ls-tree`, and git itself
    // sees a clean work tree at that commit.
    void expect_exactly(const std::string& sha) {
        EXPECT_EQ(git(ws_, {"rev-parse", "HEAD"}), sha);
        EXPECT_EQ(git(ws_, {"status", "--porcelain", "--ignored", "-uall"}), "");
        std::string listed = git(repo_.dir(), {"ls-tree", "-r", "--name-only", sha});
        std::vector<std::string> expected;
        std::istringstream lines(listed);
        for (std::string line; std::getline(lines, line);) expected.push_back(line);
        EXPECT_EQ(list_files(ws_), expected);
    }

    sluice::testing::TempDir tmp_;
    FixtureRepo repo_{tmp_ / "repo"};
    std::filesystem::path ws_ = tmp_ / "ws";
    std::string first_, second_;
};

TEST_F(CheckoutTest, FullCheckoutIsExactlyTheCommit) {
    auto stats = checkout(repo_.dir(), first_, ws_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_TRUE(stats->full);
    EXPECT_EQ(stats->files_written, 53);  // 50 files, .gitignore, run.sh, link
    EXPECT_EQ(stats->files_removed, 0);
    EXPECT_EQ(stats->previous, "");
    expect_exactly(first_);
    EXPECT_EQ(read(ws_ / "d3/f3.txt"), "file 3/3\n");
    struct stat st {};
    ASSERT_EQ(::stat((ws_ / "run.sh").c_str(), &st), 0);
    EXPECT_NE(st.st_mode & S_IXUSR, 0u);
    ASSERT_TRUE(std::filesystem::is_symlink(ws_ / "link"));
    EXPECT_EQ(std::filesystem::read_symlink(ws_ / "link"), "d0/f0.txt");
    // The workspace borrows objects: it has none of its own.
    EXPECT_EQ(git(ws_, {"count-objects"}).substr(0, 10), "0 objects,");
    EXPECT_EQ(git(ws_, {"log", "--format=%s", "-1"}), "first");
}

TEST_F(CheckoutTest, MoveRewritesOnlyTheFilesThatDiffer) {
    ASSERT_TRUE(checkout(repo_.dir(), first_, ws_).has_value());
    auto unchanged = identity(ws_ / "d0/f5.txt");
    auto changed = identity(ws_ / "d1/f1.txt");
    auto stats = checkout(repo_.dir(), second_, ws_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_FALSE(stats->full);
    EXPECT_TRUE(stats->path_limited);
    EXPECT_EQ(stats->previous, first_);
    EXPECT_EQ(stats->files_written, 4);  // 3 changed, 1 added
    EXPECT_EQ(stats->files_removed, 1);
    EXPECT_EQ(identity(ws_ / "d0/f5.txt"), unchanged);
    EXPECT_NE(identity(ws_ / "d1/f1.txt"), changed);
    EXPECT_EQ(read(ws_ / "d1/f1.txt"), "changed\n");
    EXPECT_FALSE(path_exists(ws_ / "d4/f9.txt"));
    expect_exactly(second_);

    // And back; then staying put writes nothing.
    auto back = checkout(repo_.dir(), first_, ws_);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_EQ(back->files_written, 4);  // 3 restored, 1 re-added
    EXPECT_EQ(back->files_removed, 1);
    expect_exactly(first_);
    auto same = checkout(repo_.dir(), first_, ws_);
    ASSERT_TRUE(same.has_value());
    EXPECT_EQ(same->files_written, 0);
    EXPECT_EQ(same->files_removed, 0);
    EXPECT_EQ(identity(ws_ / "d0/f5.txt"), unchanged);
}

TEST_F(CheckoutTest, LeftoversOfAPreviousRunAreRemoved) {
    ASSERT_TRUE(checkout(repo_.dir(), first_, ws_).has_value());
    auto untouched = identity(ws_ / "d0/f1.txt");
    std::ofstream(ws_ / "untracked.txt") << "x";
    std::filesystem::create_directories(ws_ / "out/deep");
    std::ofstream(ws_ / "out/deep/model.pkl") << "m";
    std::ofstream(ws_ / "debug.log") << "ignored";  // ignored by .gitignore
    std::filesystem::create_directories(ws_ / "build");
    std::ofstream(ws_ / "build/a.o") << "o";                  // an ignored directory
    std::filesystem::create_directories(ws_ / "vendor/lib");  // a repository a stage cloned
    git(ws_ / "vendor/lib", {"init", "-q"});
    std::ofstream(ws_ / "vendor/lib/x") << "x";
    std::ofstream(ws_ / "d2/f2.txt") << "edited by a stage";    // modified
    std::filesystem::remove(ws_ / "d3/f3.txt");                 // deleted
    ::chmod((ws_ / "run.sh").c_str(), 0644);                    // mode changed
    std::filesystem::create_directories(ws_ / "locked/inner");  // read-only leftovers
    std::ofstream(ws_ / "locked/inner/f") << "f";
    ::chmod((ws_ / "locked/inner").c_str(), 0555);
    ::chmod((ws_ / "locked").c_str(), 0555);

    auto stats = checkout(repo_.dir(), first_, ws_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_FALSE(stats->full);
    EXPECT_TRUE(stats->path_limited);
    EXPECT_EQ(stats->files_written, 3);  // d2/f2.txt, d3/f3.txt, run.sh
    EXPECT_EQ(stats->files_removed, 6);  // untracked.txt, out/, debug.log, build/, vendor/, locked/
    for (const char* gone : {"untracked.txt", "out", "debug.log", "build", "vendor", "locked"}) {
        EXPECT_FALSE(path_exists(ws_ / gone)) << gone;
    }
    EXPECT_EQ(read(ws_ / "d2/f2.txt"), "file 2/2\n");
    EXPECT_EQ(identity(ws_ / "d0/f1.txt"), untouched);
    expect_exactly(first_);
}

TEST_F(CheckoutTest, AStageTouchingAFileWithoutChangingItCausesNoRewrite) {
    ASSERT_TRUE(checkout(repo_.dir(), first_, ws_).has_value());
    auto before = identity(ws_ / "d0/f2.txt");
    std::filesystem::last_write_time(
        ws_ / "d0/f2.txt",
        std::filesystem::last_write_time(ws_ / "d0/f2.txt") + std::chrono::seconds(5));
    auto stats = checkout(repo_.dir(), first_, ws_);
    ASSERT_TRUE(stats.has_value());
    EXPECT_EQ(stats->files_written, 0);
    EXPECT_EQ(identity(ws_ / "d0/f2.txt").inode, before.inode);
}

TEST_F(CheckoutTest, StageGitCommandsInTheWorkspaceDoNotConfuseTheNextMove) {
    ASSERT_TRUE(checkout(repo_.dir(), first_, ws_).has_value());
    // A stage commits in the workspace and switches to a branch of its own.
    std::ofstream(ws_ / "d0/f0.txt") << "stage commit";
    std::ofstream(ws_ / "extra.txt") << "e";
    git(ws_, {"checkout", "-q", "-b", "stage-branch"});
    git(ws_, {"add", "-A"});
    git(ws_, {"commit", "-q", "-m", "made by a stage"});
    std::ofstream(ws_ / "d0/f1.txt") << "staged only";
    git(ws_, {"add", "d0/f1.txt"});
    auto stats = checkout(repo_.dir(), second_, ws_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_FALSE(stats->path_limited);  // the index is not as sluice left it
    expect_exactly(second_);
    EXPECT_EQ(git(ws_, {"rev-parse", "--abbrev-ref", "HEAD"}), "HEAD");  // detached
    // The next move is path-limited again.
    auto back = checkout(repo_.dir(), first_, ws_);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_TRUE(back->path_limited);
    expect_exactly(first_);
}

// A path-limited move checks out the paths the commits differ in and those a stage
// touched, found by stat data: an edit of a file both commits have (of the same size,
// its mtime put back), a deletion, a new file are all undone.
TEST_F(CheckoutTest, APathLimitedMoveUndoesWhatAStageDidToFilesTheCommitsShare) {
    ASSERT_TRUE(checkout(repo_.dir(), first_, ws_).has_value());
    auto untouched = identity(ws_ / "d0/f5.txt");
    auto edited = ws_ / "d0/f3.txt";
    auto mtime = std::filesystem::last_write_time(edited);
    std::ofstream(edited, std::ios::trunc) << "FILE 0/3\n";
    std::filesystem::last_write_time(edited, mtime);
    std::filesystem::remove(ws_ / "d4/f4.txt");
    std::ofstream(ws_ / "d3/new.txt") << "made by a stage";
    auto stats = checkout(repo_.dir(), second_, ws_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_TRUE(stats->path_limited);
    EXPECT_EQ(stats->files_written, 4 + 2);  // the commits' 4, d0/f3.txt, d4/f4.txt
    EXPECT_EQ(stats->files_removed, 1 + 1);  // d4/f9.txt, d3/new.txt
    EXPECT_EQ(read(edited), "file 0/3\n");
    EXPECT_EQ(identity(ws_ / "d0/f5.txt"), untouched);
    expect_exactly(second_);
}

// Nothing is written through a symlink a stage left where a directory or a file was,
// not even by the emptying of files before they are rewritten.
TEST_F(CheckoutTest, SymlinksAStageLeftRedirectNoWrite) {
    ASSERT_TRUE(checkout(repo_.dir(), first_, ws_).has_value());
    auto outside = tmp_ / "outside";
    std::filesystem::create_directories(outside);
    std::ofstream(outside / "f1.txt") << "not the workspace's";
    std::ofstream(outside / "f2.txt") << "not the workspace's either";
    // d1/f1.txt and d2/f2.txt differ between the commits.
    std::filesystem::remove_all(ws_ / "d1");
    std::filesystem::create_directory_symlink(outside, ws_ / "d1");
    std::filesystem::remove(ws_ / "d2/f2.txt");
    std::filesystem::create_symlink(outside / "f2.txt", ws_ / "d2/f2.txt");
    auto stats = checkout(repo_.dir(), second_, ws_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_TRUE(stats->path_limited);
    EXPECT_EQ(read(outside / "f1.txt"), "not the workspace's");
    EXPECT_EQ(read(outside / "f2.txt"), "not the workspace's either");
    EXPECT_FALSE(std::filesystem::is_symlink(ws_ / "d1"));
    EXPECT_EQ(read(ws_ / "d2/f2.txt"), "changed\n");
    expect_exactly(second_);

    // The same when a stage changed the index too, and the whole tree is compared; and
    // an edit libgit2 would trust (same size, mtime put back) is undone all the same.
    std::ofstream(ws_ / "staged.txt") << "s";
    git(ws_, {"add", "staged.txt"});
    std::filesystem::remove(ws_ / "d2/f2.txt");
    std::filesystem::create_symlink(outside / "f2.txt", ws_ / "d2/f2.txt");
    auto edited = ws_ / "d0/f3.txt";
    auto mtime = std::filesystem::last_write_time(edited);
    std::ofstream(edited, std::ios::trunc) << "FILE 0/3\n";
    std::filesystem::last_write_time(edited, mtime);
    auto back = checkout(repo_.dir(), first_, ws_);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_FALSE(back->path_limited);
    EXPECT_EQ(read(outside / "f2.txt"), "not the workspace's either");
    EXPECT_EQ(read(edited), "file 0/3\n");
    expect_exactly(first_);
}

TEST_F(CheckoutTest, ADirectoryTheCommitDropsLeavesNothingBehind) {
    ASSERT_TRUE(checkout(repo_.dir(), first_, ws_).has_value());
    repo_.remove("d3");
    std::string third = repo_.commit("third");
    auto stats = checkout(repo_.dir(), third, ws_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_TRUE(stats->path_limited);
    EXPECT_FALSE(path_exists(ws_ / "d3"));
    expect_exactly(third);
    auto back = checkout(repo_.dir(), first_, ws_);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_TRUE(back->path_limited);
    EXPECT_EQ(back->files_removed, 1);  // d4/new.txt
    expect_exactly(first_);
}

// A commit whose tree has a path git refuses (`..`, `.git`; git mktree makes them) gets
// nothing written or emptied outside the workspace or in its .git, before the checkout
// refuses it.
TEST_F(CheckoutTest, AHostileTreeCannotReachOutOfTheWorkspace) {
    ASSERT_TRUE(checkout(repo_.dir(), first_, ws_).has_value());
    std::ofstream(tmp_ / "escape.txt") << "outside";  // ws_/../escape.txt
    for (const char* name : {"..", ".git"}) {
        std::string script =
            "inner=$(printf '100644 blob %s\\tescape.txt\\n100644 blob %s\\tindex\\n' "
            "$(git rev-parse HEAD:d0/f0.txt) $(git rev-parse HEAD:d0/f1.txt) | git mktree) && "
            "root=$( (git ls-tree HEAD; printf '040000 tree %s\\t" +
            std::string(name) +
            "\\n' $inner) | git mktree) && git commit-tree -p HEAD -m hostile $root";
        auto made = sluice::testing::run_command({"sh", "-c", script},
                                                 {repo_.dir(), test_support::git_env()});
        ASSERT_EQ(made.exit_code, 0) << made.err;
        std::string hostile = made.out.substr(0, 40);
        EXPECT_FALSE(checkout(repo_.dir(), hostile, ws_).has_value()) << name;
        EXPECT_EQ(read(tmp_ / "escape.txt"), "outside") << name;
        EXPECT_FALSE(path_exists(ws_ / ".git/escape.txt")) << name;
    }
    auto back = checkout(repo_.dir(), first_, ws_);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    expect_exactly(first_);
}

// The index and HEAD a checkout replaces are kept (linked) in .git/sluice-trash, so that
// replacing them frees no blocks then; the next checkout removes them.
TEST_F(CheckoutTest, ReplacedIndexAndHeadWaitInTheTrashUntilTheNextCheckout) {
    ASSERT_TRUE(checkout(repo_.dir(), first_, ws_).has_value());
    auto trash = ws_ / ".git/sluice-trash";
    auto index_before = identity(ws_ / ".git/index");
    ASSERT_TRUE(checkout(repo_.dir(), second_, ws_).has_value());
    EXPECT_EQ(identity(trash / "index"), index_before);
    EXPECT_NE(identity(ws_ / ".git/index"), index_before);
    EXPECT_TRUE(path_exists(trash / "HEAD"));
    auto index_second = identity(ws_ / ".git/index");
    ASSERT_TRUE(checkout(repo_.dir(), first_, ws_).has_value());
    EXPECT_EQ(identity(trash / "index"), index_second);  // the older one is gone
    std::vector<std::string> kept;
    for (const auto& e : std::filesystem::directory_iterator(trash)) {
        kept.push_back(e.path().filename().string());
    }
    std::sort(kept.begin(), kept.end());
    EXPECT_EQ(kept, (std::vector<std::string>{"HEAD", "index"}));
    expect_exactly(first_);
}

// The record of the last checkout is checked before it is believed: garbled, or naming
// an index that is no longer there, it is ignored and the whole tree compared.
TEST_F(CheckoutTest, AGarbledRecordMeansAWholeTreeMove) {
    ASSERT_TRUE(checkout(repo_.dir(), first_, ws_).has_value());
    auto record = ws_ / ".git/sluice-checkout";
    std::string text = read(record);
    ASSERT_NE(text.find(first_), std::string::npos) << text;
    // Another commit with the same index checksum: the check line no longer fits.
    std::string forged = text;
    forged.replace(forged.find(first_), first_.size(), second_);
    std::ofstream(record, std::ios::trunc) << forged;
    std::ofstream(ws_ / "d0/f0.txt") << "edited";
    auto stats = checkout(repo_.dir(), second_, ws_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_FALSE(stats->path_limited);
    expect_exactly(second_);
    std::ofstream(record, std::ios::trunc) << "garbage";
    auto back = checkout(repo_.dir(), first_, ws_);
    ASSERT_TRUE(back.has_value()) << back.error().message;
    EXPECT_FALSE(back->path_limited);
    expect_exactly(first_);
    auto again = checkout(repo_.dir(), second_, ws_);
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_TRUE(again->path_limited);
    expect_exactly(second_);
}

TEST_F(CheckoutTest, ABrokenIndexFallsBackToAFullCheckout) {
    ASSERT_TRUE(checkout(repo_.dir(), first_, ws_).has_value());
    std::ofstream(ws_ / ".git/index", std::ios::trunc) << "garbage";
    std::ofstream(ws_ / "leftover.txt") << "x";
    auto stats = checkout(repo_.dir(), second_, ws_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_TRUE(stats->full);
    expect_exactly(second_);
}

TEST_F(CheckoutTest, AForeignDirectoryIsRefusedUnlessOwned) {
    std::filesystem::create_directories(ws_ / "junk");
    std::ofstream(ws_ / "junk/file") << "j";
    auto refused = checkout(repo_.dir(), first_, ws_);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, util::ErrorCode::conflict);
    EXPECT_TRUE(path_exists(ws_ / "junk/file"));
    // The user's own work tree is such a directory.
    EXPECT_FALSE(checkout(repo_.dir(), first_, repo_.dir()).has_value());

    CheckoutOptions owned;
    owned.owned_directory = true;
    auto stats = checkout(repo_.dir(), first_, ws_, owned);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_TRUE(stats->full);
    expect_exactly(first_);
    // A stage deleted .git: owned, the workspace starts afresh.
    std::filesystem::remove_all(ws_ / ".git");
    EXPECT_FALSE(checkout(repo_.dir(), second_, ws_).has_value());
    auto again = checkout(repo_.dir(), second_, ws_, owned);
    ASSERT_TRUE(again.has_value()) << again.error().message;
    EXPECT_TRUE(again->full);
    expect_exactly(second_);
}

TEST_F(CheckoutTest, AnotherSourceRepositoryStartsAfresh) {
    ASSERT_TRUE(checkout(repo_.dir(), first_, ws_).has_value());
    FixtureRepo other(tmp_ / "other");
    other.write("only.txt", "other\n");
    std::string sha = other.commit("other");
    auto stats = checkout(other.dir(), sha, ws_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    EXPECT_TRUE(stats->full);
    EXPECT_EQ(list_files(ws_), std::vector<std::string>{"only.txt"});
    EXPECT_EQ(git(ws_, {"status", "--porcelain", "--ignored"}), "");
}

TEST_F(CheckoutTest, MissingCommitAndBadSha) {
    auto missing = checkout(repo_.dir(), std::string(40, 'a'), ws_);
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code, util::ErrorCode::not_found);
    EXPECT_NE(missing.error().message.find("is not in"), std::string::npos)
        << missing.error().message;
    auto bad = checkout(repo_.dir(), "main", ws_);
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().code, util::ErrorCode::bad_input);
}

TEST_F(CheckoutTest, AShallowCloneAsACIHasIt) {
    git(tmp_.path(), {"clone", "-q", "--depth", "1", "file://" + repo_.dir().string(), "shallow"});
    auto stats = checkout(tmp_ / "shallow", second_, ws_);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    expect_exactly(second_);
    // History ends where the clone's does, without errors about missing parents.
    EXPECT_EQ(git(ws_, {"log", "--format=%s"}), "second");
    EXPECT_EQ(git(ws_, {"rev-parse", "--is-shallow-repository"}), "true");
}

TEST_F(CheckoutTest, SingleThreadedFullCheckoutIsTheSame) {
    CheckoutOptions options;
    options.threads = 1;
    auto stats = checkout(repo_.dir(), second_, ws_, options);
    ASSERT_TRUE(stats.has_value()) << stats.error().message;
    expect_exactly(second_);
}

TEST_F(CheckoutTest, CheckoutRevisionResolvesFirst) {
    auto done = checkout_revision(repo_.dir(), "HEAD~1", ws_);
    ASSERT_TRUE(done.has_value()) << done.error().message;
    EXPECT_EQ(done->commit.sha, first_);
    EXPECT_EQ(done->stats.files_written, 53);
    auto unknown = checkout_revision(repo_.dir(), "nope", ws_);
    ASSERT_FALSE(unknown.has_value());
    EXPECT_EQ(unknown.error().code, util::ErrorCode::bad_input);
}

// Attributes (ident, eol) are applied as git applies them: the workspace's files equal
// those of `git worktree add`, after a full checkout and after a move.
TEST(CheckoutFilters, SameBytesAsGit) {
    sluice::testing::TempDir tmp;
    FixtureRepo repo(tmp / "repo");
    repo.write(".gitattributes", "*.id ident\n*.bat text eol=crlf\n");
    repo.write("a.id", "$Id$\nline\n");
    repo.write("b.bat", "echo one\necho two\n");
    repo.write("plain.txt", "plain\n");
    std::string first = repo.commit("first");
    repo.write("a.id", "$Id$\nline two\n");
    repo.write("c.bat", "echo three\n");
    std::string second = repo.commit("second");

    auto ws = tmp / "ws";
    for (const auto& sha : {first, second}) {
        auto stats = checkout(repo.dir(), sha, ws);
        ASSERT_TRUE(stats.has_value()) << stats.error().message;
        auto wt = tmp / ("wt-" + sha);
        git(repo.dir(), {"worktree", "add", "-q", "--detach", wt.string(), sha});
        for (const auto& file : list_files(wt)) {
            EXPECT_EQ(read(ws / file), read(wt / file)) << file << " at " << sha;
        }
        EXPECT_EQ(list_files(ws), list_files(wt));
        EXPECT_EQ(git(ws, {"status", "--porcelain"}), "");
    }
    EXPECT_EQ(read(ws / "b.bat"), "echo one\r\necho two\r\n");
}

}  // namespace
}  // namespace sluice::git
