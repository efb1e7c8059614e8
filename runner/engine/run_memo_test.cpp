// The run memo on real files: what it writes it reads back (only for the same cache
// generation), a damaged file is an empty memo, a path is vouched for only when its
// timestamps are old enough, and a look again notices every kind of change: new
// content behind an mtime put back, a file removed or created, a directory that got a
// new entry. Also: match_stage_files reports what it looked at.
#include "runner/engine/run_memo.hpp"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>

#include "runner/testing/temp_dir.hpp"
#include "runner/util/unique_fd.hpp"

namespace sluice::engine {
namespace {

constexpr std::int64_t k_far_future_ns = std::numeric_limits<std::int64_t>::max();

SeenPath seen_lstat(const std::filesystem::path& root, const std::string& relative) {
    SeenPath seen{relative, false, false, {}};
    seen.present = ::lstat((root / relative).c_str(), &seen.st) == 0;
    return seen;
}

SeenPath seen_listing(const std::filesystem::path& root, const std::string& relative) {
    SeenPath seen{relative, true, false, {}};
    seen.present = ::stat((root / relative).c_str(), &seen.st) == 0 && S_ISDIR(seen.st.st_mode);
    return seen;
}

PathCheck check_of(const SeenPath& seen) {
    auto check = path_check(seen, k_far_future_ns);
    EXPECT_TRUE(check.has_value());
    return check.value_or(PathCheck{});
}

StageMemo sample(const std::string& stage) {
    StageMemo m;
    m.stage = stage;
    m.key = std::string(64, 'a');
    m.needs = {{"prep", std::string(64, 'b')}, {"lint", "skipped"}};
    m.lookups = {{"vars.mode", "fast"}, {"commit.tag", std::nullopt}};
    PathCheck file{"data/a.csv", false, true, 1, 2, 3, 0100644, 4, 5};
    PathCheck dir{"data", true, true, 1, 7, 4096, 040755, 8, 9};
    PathCheck absent{"data/missing", false, false};
    m.checks = {dir, file, absent};
    m.entry.key = m.key;
    m.entry.stage = stage;
    m.entry.run_id = 42;
    m.entry.stage_outputs = {{"rows", "2"}};
    m.entry.paths = {{"model.txt", cache::CachedPath::Type::file, std::string(64, 'c'), 12, true, ""},
                     {"out/link", cache::CachedPath::Type::symlink, "", 0, false, "../model.txt"},
                     {"out/empty", cache::CachedPath::Type::dir, "", 0, false, ""}};
    return m;
}

void expect_same(const StageMemo& a, const StageMemo& b) {
    EXPECT_EQ(a.stage, b.stage);
    EXPECT_EQ(a.key, b.key);
    EXPECT_EQ(a.needs, b.needs);
    EXPECT_EQ(a.lookups, b.lookups);
    EXPECT_EQ(a.checks, b.checks);
    EXPECT_EQ(a.entry.run_id, b.entry.run_id);
    EXPECT_EQ(a.entry.paths, b.entry.paths);
    EXPECT_EQ(a.entry.stage_outputs, b.entry.stage_outputs);
}

TEST(RunMemo, WhatIsSavedIsLoadedBackForTheSameGenerationOnly) {
    testing::TempDir dir;
    RunMemo memo;
    memo.add(sample("train"));
    memo.add(sample("report"));
    auto file = dir / "runs/x.memo";
    ASSERT_TRUE(memo.save(file, "gen-1"));

    auto loaded = RunMemo::load(file, "gen-1");
    ASSERT_EQ(loaded.size(), 2u);
    ASSERT_NE(loaded.find("train"), nullptr);
    expect_same(*loaded.find("train"), sample("train"));
    ASSERT_NE(loaded.find("report"), nullptr);
    expect_same(*loaded.find("report"), sample("report"));
    EXPECT_EQ(loaded.find("deploy"), nullptr);

    // After `cache gc` (or an entry stored again) the generation moved on.
    EXPECT_EQ(RunMemo::load(file, "gen-2").size(), 0u);
    EXPECT_EQ(RunMemo::load(dir / "runs/none.memo", "gen-1").size(), 0u);
}

TEST(RunMemo, ADamagedFileIsAnEmptyMemo) {
    testing::TempDir dir;
    RunMemo memo;
    memo.add(sample("train"));
    auto file = dir / "x.memo";
    ASSERT_TRUE(memo.save(file, "g"));
    std::string whole = testing::read_file(file);
    // Every truncation, and a byte flipped in a length, is refused without a crash.
    for (std::size_t n = 0; n < whole.size(); n += 7) {
        dir.write("cut.memo", whole.substr(0, n));
        EXPECT_EQ(RunMemo::load(dir / "cut.memo", "g").size(), 0u) << n;
    }
    std::string flipped = whole;
    flipped[whole.find("train") - 8] = '\x7f';  // the stage name's length
    dir.write("flipped.memo", flipped);
    EXPECT_EQ(RunMemo::load(dir / "flipped.memo", "g").size(), 0u);
    dir.write("garbage.memo", "sluice-run-memo 1\n" + std::string(100, '\xff'));
    EXPECT_EQ(RunMemo::load(dir / "garbage.memo", "g").size(), 0u);
}

TEST(RunMemo, APathIsVouchedForOnlyWhenItsTimestampsAreOldEnough) {
    testing::TempDir dir;
    dir.write("young.txt", "x");
    auto seen = seen_lstat(dir.path(), "young.txt");
    auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count();
    // Written just now: within the slack before the run's start it proves nothing.
    EXPECT_FALSE(path_check(seen, now_ns - 2'000'000'000).has_value());
    EXPECT_TRUE(path_check(seen, now_ns + 2'000'000'000).has_value());
    // Absence has no timestamps to doubt.
    EXPECT_TRUE(path_check(seen_lstat(dir.path(), "none"), 0).has_value());
}

TEST(RunMemo, LookingAgainNoticesEveryChange) {
    testing::TempDir dir;
    dir.write("data/a.csv", "1,2\n");
    dir.write("keep.txt", "same\n");
    util::UniqueFd fd(::open(dir.path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(fd);
    int ws = fd.get();
    auto a = check_of(seen_lstat(dir.path(), "data/a.csv"));
    auto keep = check_of(seen_lstat(dir.path(), "keep.txt"));
    auto listing = check_of(seen_listing(dir.path(), "data"));
    auto absent = check_of(seen_lstat(dir.path(), "later.txt"));
    auto no_dir = check_of(seen_listing(dir.path(), "nodir"));
    EXPECT_TRUE(still_holds(a, ws));
    EXPECT_TRUE(still_holds(keep, ws));
    EXPECT_TRUE(still_holds(listing, ws));
    EXPECT_TRUE(still_holds(absent, ws));
    EXPECT_TRUE(still_holds(no_dir, ws));

    // New content of the same size, its mtime put back: the ctime still moved.
    struct stat before {};
    ASSERT_EQ(::stat((dir / "data/a.csv").c_str(), &before), 0);
    dir.write("data/a.csv", "5,6\n");
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    ASSERT_EQ(utimensat(AT_FDCWD, (dir / "data/a.csv").c_str(), times, 0), 0);
    EXPECT_FALSE(still_holds(a, ws));

    // A new entry in a listed directory changes the directory.
    struct stat dir_before {};
    ASSERT_EQ(::stat((dir / "data").c_str(), &dir_before), 0);
    dir.write("data/b.csv", "3,4\n");
    struct stat dir_after {};
    ASSERT_EQ(::stat((dir / "data").c_str(), &dir_after), 0);
    if (dir_after.st_mtim.tv_sec == dir_before.st_mtim.tv_sec &&
        dir_after.st_mtim.tv_nsec == dir_before.st_mtim.tv_nsec) {
        GTEST_SKIP() << "this file system's clock did not tick between two writes";
    }
    EXPECT_FALSE(still_holds(listing, ws));

    // What was absent appears; what was there goes; a directory appears.
    dir.write("later.txt", "now\n");
    EXPECT_FALSE(still_holds(absent, ws));
    std::filesystem::remove(dir / "keep.txt");
    EXPECT_FALSE(still_holds(keep, ws));
    std::filesystem::create_directories(dir / "nodir");
    EXPECT_FALSE(still_holds(no_dir, ws));
}

TEST(RunMemo, MatchingReportsEveryPathItLookedAt) {
    testing::TempDir dir;
    dir.write("data/a.csv", "1");
    dir.write("data/raw/b.csv", "2");
    dir.write("train.py", "x");
    std::vector<SeenPath> seen;
    std::vector<std::string> patterns = {"data/**", "train.py", "missing.txt", "nodir/*"};
    auto matched = match_stage_files(dir.path(), patterns, {}, &seen);
    ASSERT_TRUE(matched);
    std::vector<std::pair<std::string, bool>> looked;
    for (const auto& s : seen) looked.emplace_back(s.path + (s.listed ? "/" : ""), s.present);
    EXPECT_EQ(looked, (std::vector<std::pair<std::string, bool>>{{"data/", true},
                                                                  {"data/raw/", true},
                                                                  {"train.py", true},
                                                                  {"missing.txt", false},
                                                                  {"nodir/", false}}));
}

}  // namespace
}  // namespace sluice::engine
