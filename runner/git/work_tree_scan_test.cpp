// scan_work_tree on work trees and indexes made by git itself: what a stage changed is
// found by stat data alone (a same-size edit with its mtime put back too), leftovers are
// reported once per directory, symlinks and submodules are not looked into, and indexes
// a path-limited move cannot trust are refused.
#include "runner/git/work_tree_scan.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>

#include "runner/git/repo_fixture_test_support.hpp"

namespace sluice::git {
namespace {

using test_support::FixtureRepo;
using test_support::git;

using Paths = std::vector<std::string>;

class WorkTreeScanTest : public ::testing::Test {
protected:
    void SetUp() override {
        repo_.write(".gitignore", "*.log\n");
        for (int d = 0; d < 3; ++d) {
            for (int f = 0; f < 3; ++f) {
                repo_.write("d" + std::to_string(d) + "/f" + std::to_string(f) + ".txt",
                            "file " + std::to_string(d) + std::to_string(f) + "\n");
            }
        }
        repo_.write("d0/deep/x.txt", "x\n");
        repo_.write("top.txt", "top\n");
        std::filesystem::create_symlink("top.txt", repo_.dir() / "link");
        repo_.commit("first");
    }

    // The index as a later run finds it: written well after the files (none racily clean).
    void settle_index() const {
        auto index = repo_.dir() / ".git/index";
        std::filesystem::last_write_time(
            index, std::filesystem::file_time_type::clock::now() + std::chrono::seconds(10));
    }

    WorkTreeScan scan() const {
        auto index = read_index_snapshot(repo_.dir() / ".git/index");
        EXPECT_TRUE(index.has_value()) << index.error().message;
        if (!index) return {};
        auto found = scan_work_tree(repo_.dir(), *index);
        EXPECT_TRUE(found.has_value()) << found.error().message;
        if (!found) return {};
        std::sort(found->changed.begin(), found->changed.end());
        std::sort(found->replaced.begin(), found->replaced.end());
        std::sort(found->leftovers.begin(), found->leftovers.end());
        return *found;
    }

    sluice::testing::TempDir tmp_;
    FixtureRepo repo_{tmp_ / "repo"};
};

TEST_F(WorkTreeScanTest, AnUntouchedWorkTreeHasNothingToDo) {
    settle_index();
    auto found = scan();
    EXPECT_EQ(found.changed, Paths{});
    EXPECT_EQ(found.replaced, Paths{});
    EXPECT_EQ(found.leftovers, Paths{});
}

TEST_F(WorkTreeScanTest, EditsDeletionsAndModeChangesAreFoundWithoutHashing) {
    // The same size, and the old mtime put back: only the change time tells.
    auto edited = repo_.dir() / "d1/f1.txt";
    auto mtime = std::filesystem::last_write_time(edited);
    std::ofstream(edited, std::ios::trunc) << "FILE 11\n";
    std::filesystem::last_write_time(edited, mtime);
    std::filesystem::remove(repo_.dir() / "d2/f0.txt");
    ::chmod((repo_.dir() / "top.txt").c_str(), 0755);
    settle_index();
    auto found = scan();
    EXPECT_EQ(found.changed, (Paths{"d1/f1.txt", "d2/f0.txt", "top.txt"}));
    // libgit2 would trust the edited file's size and mtime without reading it.
    EXPECT_EQ(found.replaced, Paths{"d1/f1.txt"});
    EXPECT_EQ(found.leftovers, Paths{});
}

TEST_F(WorkTreeScanTest, LeftoversAreReportedOncePerDirectory) {
    repo_.write("untracked.txt", "u");
    repo_.write("debug.log", "ignored");
    repo_.write("out/a/b/model.pkl", "m");
    repo_.write("d1/extra.txt", "e");
    std::filesystem::create_directories(repo_.dir() / "vendor/lib");
    git(repo_.dir() / "vendor/lib", {"init", "-q"});
    std::filesystem::create_directories(repo_.dir() / "empty");
    settle_index();
    auto found = scan();
    EXPECT_EQ(found.changed, Paths{});
    EXPECT_EQ(found.leftovers,
              (Paths{"d1/extra.txt", "debug.log", "empty", "out", "untracked.txt", "vendor"}));
}

TEST_F(WorkTreeScanTest, WhatStandsWhereSomethingElseShouldIsALeftover) {
    // A directory where a file should be, a file where a directory should be.
    std::filesystem::remove(repo_.dir() / "d2/f2.txt");
    repo_.write("d2/f2.txt/inner", "i");
    std::filesystem::remove_all(repo_.dir() / "d0/deep");
    repo_.write("d0/deep", "a file now");
    settle_index();
    auto found = scan();
    EXPECT_EQ(found.changed, (Paths{"d0/deep/x.txt", "d2/f2.txt"}));
    EXPECT_EQ(found.replaced, Paths{"d2/f2.txt"});
    EXPECT_EQ(found.leftovers, Paths{"d0/deep"});
}

TEST_F(WorkTreeScanTest, ASymlinkWhereAFileShouldBeIsReplacedNotWrittenThrough) {
    std::filesystem::remove(repo_.dir() / "d0/f1.txt");
    std::filesystem::create_symlink(tmp_ / "outside", repo_.dir() / "d0/f1.txt");
    std::filesystem::remove(repo_.dir() / "link");
    repo_.write("link", "top.txt");  // a file where a symlink should be
    settle_index();
    auto found = scan();
    EXPECT_EQ(found.changed, (Paths{"d0/f1.txt", "link"}));
    EXPECT_EQ(found.replaced, (Paths{"d0/f1.txt", "link"}));
    EXPECT_EQ(found.leftovers, Paths{});
}

TEST_F(WorkTreeScanTest, ASymlinkInPlaceOfADirectoryIsNotFollowed) {
    // The same names, even the same files through a link, behind a symlink: not trusted.
    auto elsewhere = tmp_ / "elsewhere";
    std::filesystem::rename(repo_.dir() / "d1", elsewhere);
    std::filesystem::create_directory_symlink(elsewhere, repo_.dir() / "d1");
    settle_index();
    auto found = scan();
    EXPECT_EQ(found.changed, (Paths{"d1/f0.txt", "d1/f1.txt", "d1/f2.txt"}));
    EXPECT_EQ(found.leftovers, Paths{"d1"});
}

TEST_F(WorkTreeScanTest, ASubmodulesDirectoryIsNotLookedInto) {
    std::string commit = repo_.head();
    git(repo_.dir(), {"update-index", "--add", "--cacheinfo", "160000," + commit + ",sub"});
    repo_.write("sub/anything.txt", "the submodule's own business");
    repo_.write("sub/.git", "gitdir: ../.git/modules/sub\n");
    settle_index();
    auto found = scan();
    EXPECT_EQ(found.changed, Paths{});
    EXPECT_EQ(found.leftovers, Paths{});
    // Not a directory: removed, and checked out again.
    std::filesystem::remove_all(repo_.dir() / "sub");
    repo_.write("sub", "a file");
    found = scan();
    EXPECT_EQ(found.changed, Paths{"sub"});
    EXPECT_EQ(found.replaced, Paths{"sub"});
    EXPECT_EQ(found.leftovers, Paths{});
}

TEST_F(WorkTreeScanTest, RacilyCleanEntriesCountAsChanged) {
    // An index written in the same clock tick as a file cannot vouch for it.
    std::filesystem::last_write_time(repo_.dir() / ".git/index",
                                     std::filesystem::last_write_time(repo_.dir() / "top.txt"));
    auto found = scan();
    EXPECT_NE(std::find(found.changed.begin(), found.changed.end(), "top.txt"),
              found.changed.end());
    EXPECT_EQ(found.leftovers, Paths{});
}

TEST_F(WorkTreeScanTest, IndexesAPathLimitedMoveCannotTrustAreRefused) {
    auto index = repo_.dir() / ".git/index";
    git(repo_.dir(), {"update-index", "--skip-worktree", "d0/f0.txt"});
    auto refused = read_index_snapshot(index);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, util::ErrorCode::conflict);
    git(repo_.dir(), {"update-index", "--no-skip-worktree", "d0/f0.txt"});
    git(repo_.dir(), {"update-index", "--assume-unchanged", "d0/f0.txt"});
    refused = read_index_snapshot(index);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, util::ErrorCode::conflict);
    git(repo_.dir(), {"update-index", "--no-assume-unchanged", "d0/f0.txt"});
    git(repo_.dir(), {"update-index", "--index-version", "4"});
    refused = read_index_snapshot(index);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, util::ErrorCode::conflict);
    git(repo_.dir(), {"update-index", "--index-version", "2"});
    EXPECT_TRUE(read_index_snapshot(index).has_value());

    std::ofstream(index, std::ios::trunc) << "DIRC garbage";
    auto broken = read_index_snapshot(index);
    ASSERT_FALSE(broken.has_value());
    EXPECT_EQ(broken.error().code, util::ErrorCode::io);
    EXPECT_FALSE(read_index_snapshot(tmp_ / "no-such-index").has_value());
}

TEST_F(WorkTreeScanTest, TheSnapshotHasGitsEntriesAndChecksum) {
    auto index = read_index_snapshot(repo_.dir() / ".git/index");
    ASSERT_TRUE(index.has_value()) << index.error().message;
    std::vector<std::string> paths;
    for (const auto& e : index->entries) paths.emplace_back(e.path);
    std::string listed = git(repo_.dir(), {"ls-files"});
    std::vector<std::string> expected;
    std::istringstream lines(listed);
    for (std::string line; std::getline(lines, line);) expected.push_back(line);
    EXPECT_EQ(paths, expected);
    auto link = std::find_if(index->entries.begin(), index->entries.end(),
                             [](const TrackedEntry& e) { return e.path == "link"; });
    ASSERT_NE(link, index->entries.end());
    EXPECT_EQ(link->mode, 0120000u);
    // The checksum is the file's last 20 bytes.
    std::string bytes = test_support::read(repo_.dir() / ".git/index");
    std::string tail;
    for (unsigned char c : bytes.substr(bytes.size() - 20)) {
        const char* digits = "0123456789abcdef";
        tail += digits[c >> 4];
        tail += digits[c & 0xf];
    }
    EXPECT_EQ(index->checksum, tail);
}

TEST_F(WorkTreeScanTest, AStopRequestEndsTheScan) {
    auto index = read_index_snapshot(repo_.dir() / ".git/index");
    ASSERT_TRUE(index.has_value());
    std::stop_source stop;
    stop.request_stop();
    auto found = scan_work_tree(repo_.dir(), *index, stop.get_token());
    ASSERT_FALSE(found.has_value());
    EXPECT_EQ(found.error().code, util::ErrorCode::conflict);
}

}  // namespace
}  // namespace sluice::git
