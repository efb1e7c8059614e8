// FileDigests on real files: memo hits that do not read the file, stat changes and
// racy timestamps that force a re-hash, the memo file's load/save, and its errors.
#include "runner/cache/file_digests.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <thread>
#include <vector>

#include "runner/cache/cache_test_support.hpp"
#include "runner/testing/temp_dir.hpp"
#include "runner/util/sha256.hpp"

namespace sluice::cache {
namespace {

using namespace std::chrono_literals;
using sluice::testing::TempDir;
using testing::SetClock;
using testing::stat_of;

// Rewrites a file in place (same inode), e.g. with content of the same size.
void overwrite(const std::filesystem::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

TEST(FileDigests, HashesTheFileContent) {
    TempDir dir;
    auto file = dir.write("a.txt", "hello");
    FileDigests memo;
    auto digest = memo.digest(file);
    ASSERT_TRUE(digest) << digest.error().message;
    EXPECT_EQ(*digest, util::sha256_hex("hello"));
    EXPECT_EQ(memo.counters().hashed_files, 1u);
    EXPECT_EQ(memo.counters().hashed_bytes, 5u);
}

TEST(FileDigests, RemembersAnUnchangedFileWithoutReadingIt) {
    TempDir dir;
    auto file = dir.write("a.txt", "first");
    auto clock = SetClock::at_real_now_plus(1h);  // the file looks an hour old
    auto memo = FileDigests::load(dir / "memo", &clock);
    auto before = stat_of(file);
    ASSERT_EQ(memo.digest(file).value(), util::sha256_hex("first"));
    ASSERT_EQ(memo.digest(file).value(), util::sha256_hex("first"));
    EXPECT_EQ(memo.counters().hashed_files, 1u);
    EXPECT_EQ(memo.counters().remembered, 1u);

    // The content changes but the caller hands in the old stat data: the memo answers
    // from what it remembers, so it did not read the file.
    overwrite(file, "other");
    EXPECT_EQ(memo.digest(file, before).value(), util::sha256_hex("first"));
    EXPECT_EQ(memo.counters().hashed_files, 1u);
    // With the file's real stat data it notices (another mtime, so the stat data
    // differs even when the rewrite fell in the same clock tick).
    timespec other = before.st_mtim;
    other.tv_sec -= 10;
    testing::set_mtime(file, other);
    EXPECT_EQ(memo.digest(file).value(), util::sha256_hex("other"));
    EXPECT_EQ(memo.counters().hashed_files, 2u);
}

TEST(FileDigests, AChangedMtimeForcesARehash) {
    TempDir dir;
    auto file = dir.write("a.txt", "content");
    auto clock = SetClock::at_real_now_plus(1h);
    auto memo = FileDigests::load(dir / "memo", &clock);
    ASSERT_TRUE(memo.digest(file));
    auto status = stat_of(file);
    timespec later = status.st_mtim;
    later.tv_sec += 5;
    testing::set_mtime(file, later);
    ASSERT_TRUE(memo.digest(file));
    EXPECT_EQ(memo.counters().hashed_files, 2u);
}

// Content replaced with the same size, inode and mtime (what cp -p, rsync -t or tar
// can do): the ctime still moved, so the file is hashed again.
TEST(FileDigests, ContentReplacedWithItsMtimeRestoredIsHashedAgain) {
    TempDir dir;
    auto file = dir.write("a.txt", "first");
    auto clock = SetClock::at_real_now_plus(1h);
    auto memo = FileDigests::load(dir / "memo", &clock);
    ASSERT_EQ(memo.digest(file).value(), util::sha256_hex("first"));
    auto before = stat_of(file);

    overwrite(file, "other");
    testing::set_mtime_until_ctime_differs(file, before.st_mtim, before.st_ctim);
    auto after = stat_of(file);
    ASSERT_EQ(after.st_ino, before.st_ino);
    ASSERT_EQ(after.st_size, before.st_size);
    ASSERT_EQ(testing::nanoseconds(after.st_mtim), testing::nanoseconds(before.st_mtim));

    EXPECT_EQ(memo.digest(file).value(), util::sha256_hex("other"));
}

// A file changed within the slack before it was hashed could change again within the
// same timestamp: its digest is not remembered, and every look-up reads it.
TEST(FileDigests, RacyFilesAreHashedAtEveryLookUp) {
    TempDir dir;
    auto file = dir.write("a.txt", "first");
    auto status = stat_of(file);
    SetClock clock(testing::nanoseconds(status.st_mtim) / 1'000'000 + 500);  // 0.5 s later
    auto memo = FileDigests::load(dir / "memo", &clock);
    ASSERT_EQ(memo.digest(file).value(), util::sha256_hex("first"));
    EXPECT_EQ(memo.size(), 0u);
    ASSERT_EQ(memo.digest(file).value(), util::sha256_hex("first"));
    EXPECT_EQ(memo.counters().hashed_files, 2u);

    // Even handed the old stat data, the memo reads the file (contrast with
    // RemembersAnUnchangedFileWithoutReadingIt).
    overwrite(file, "other");
    EXPECT_EQ(memo.digest(file, status).value(), util::sha256_hex("other"));

    // Once the file is older than the slack, its digest is remembered.
    clock.set(clock.epoch_ms() + 10'000);
    ASSERT_TRUE(memo.digest(file));
    EXPECT_EQ(memo.size(), 1u);
}

TEST(FileDigests, SavedMemoAnswersAfterLoading) {
    TempDir dir;
    auto a = dir.write("a.txt", "alpha");
    auto b = dir.write("sub/b.txt", "beta");
    auto clock = SetClock::at_real_now_plus(1h);
    {
        auto memo = FileDigests::load(dir / "state/memo", &clock);
        ASSERT_TRUE(memo.digest(a));
        ASSERT_TRUE(memo.digest(b));
        ASSERT_TRUE(memo.save());
    }
    auto memo = FileDigests::load(dir / "state/memo", &clock);
    EXPECT_EQ(memo.size(), 2u);
    EXPECT_EQ(memo.digest(a).value(), util::sha256_hex("alpha"));
    EXPECT_EQ(memo.digest(b).value(), util::sha256_hex("beta"));
    EXPECT_EQ(memo.counters().hashed_files, 0u);
    EXPECT_EQ(memo.counters().remembered, 2u);
}

// Entries whose times are not older than the moment the memo is loaded (a clock that
// stepped back since it was saved) are dropped.
TEST(FileDigests, EntriesNotOlderThanTheLoadAreDropped) {
    TempDir dir;
    auto file = dir.write("a.txt", "alpha");
    auto late = SetClock::at_real_now_plus(1h);
    {
        auto memo = FileDigests::load(dir / "memo", &late);
        ASSERT_TRUE(memo.digest(file));
        ASSERT_TRUE(memo.save());
    }
    SetClock early(testing::nanoseconds(stat_of(file).st_mtim) / 1'000'000 + 100);
    auto memo = FileDigests::load(dir / "memo", &early);
    EXPECT_EQ(memo.size(), 0u);
    ASSERT_TRUE(memo.digest(file));
    EXPECT_EQ(memo.counters().hashed_files, 1u);
}

TEST(FileDigests, IdleEntriesAreDropped) {
    TempDir dir;
    auto file = dir.write("a.txt", "alpha");
    auto clock = SetClock::at_real_now_plus(1h);
    {
        auto memo = FileDigests::load(dir / "memo", &clock);
        ASSERT_TRUE(memo.digest(file));
        ASSERT_TRUE(memo.save());
    }
    SetClock month_later(clock.epoch_ms() + (FileDigests::k_max_idle_days + 1) * 86'400'000LL);
    EXPECT_EQ(FileDigests::load(dir / "memo", &month_later).size(), 0u);
    SetClock next_week(clock.epoch_ms() + 7 * 86'400'000LL);
    EXPECT_EQ(FileDigests::load(dir / "memo", &next_week).size(), 1u);
}

TEST(FileDigests, AMissingOrGarbledMemoIsEmpty) {
    TempDir dir;
    auto file = dir.write("a.txt", "alpha");
    auto clock = SetClock::at_real_now_plus(1h);
    EXPECT_EQ(FileDigests::load(dir / "missing/memo", &clock).size(), 0u);

    {
        auto memo = FileDigests::load(dir / "memo", &clock);
        ASSERT_TRUE(memo.digest(file));
        ASSERT_TRUE(memo.save());
    }
    std::string good = sluice::testing::read_file(dir / "memo");
    ASSERT_EQ(FileDigests::load(dir / "memo", &clock).size(), 1u);

    std::string flipped = good;
    flipped[good.size() / 2] = static_cast<char>(flipped[good.size() / 2] ^ 0x01);
    std::string wrong_version = good;
    wrong_version[8] = static_cast<char>(wrong_version[8] + 1);
    for (const std::string& garbled :
         {std::string(), std::string("not a memo at all"), good.substr(0, good.size() - 1),
          good + "x", flipped, wrong_version}) {
        dir.write("memo", garbled);
        auto memo = FileDigests::load(dir / "memo", &clock);
        EXPECT_EQ(memo.size(), 0u) << "memo of " << garbled.size() << " bytes";
        ASSERT_EQ(memo.digest(file).value(), util::sha256_hex("alpha"));
        ASSERT_TRUE(memo.save());  // and it is replaced by a good one
        EXPECT_EQ(FileDigests::load(dir / "memo", &clock).size(), 1u);
    }

    std::filesystem::remove(dir / "memo");
    std::filesystem::create_directory(dir / "memo");  // a directory where the file should be
    EXPECT_EQ(FileDigests::load(dir / "memo", &clock).size(), 0u);
}

TEST(FileDigests, SaveWritesOnlyWhenSomethingChanged) {
    TempDir dir;
    auto file = dir.write("a.txt", "alpha");
    auto clock = SetClock::at_real_now_plus(1h);
    {
        auto memo = FileDigests::load(dir / "memo", &clock);
        ASSERT_TRUE(memo.save());
        EXPECT_FALSE(std::filesystem::exists(dir / "memo"));  // nothing to write
        ASSERT_TRUE(memo.digest(file));
        ASSERT_TRUE(memo.save());
    }
    auto written = stat_of(dir / "memo").st_ino;
    auto memo = FileDigests::load(dir / "memo", &clock);
    ASSERT_TRUE(memo.digest(file));  // a hit, the same day
    ASSERT_TRUE(memo.save());
    EXPECT_EQ(stat_of(dir / "memo").st_ino, written);  // a save renames a new file in
}

TEST(FileDigests, ErrorsNameThePath) {
    TempDir dir;
    FileDigests memo;
    auto missing = memo.digest(dir / "nope.txt");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, util::ErrorCode::not_found);
    EXPECT_NE(missing.error().message.find((dir / "nope.txt").string()), std::string::npos);

    std::filesystem::create_directory(dir / "sub");
    auto directory = memo.digest(dir / "sub");
    ASSERT_FALSE(directory);
    EXPECT_EQ(directory.error().code, util::ErrorCode::bad_input);
    EXPECT_NE(directory.error().message.find("not a regular file"), std::string::npos);
    EXPECT_NE(directory.error().message.find((dir / "sub").string()), std::string::npos);

    if (::geteuid() != 0) {  // root reads anything
        auto secret = dir.write("secret.txt", "x");
        std::filesystem::permissions(secret, std::filesystem::perms::none);
        auto unreadable = memo.digest(secret);
        ASSERT_FALSE(unreadable);
        EXPECT_EQ(unreadable.error().code, util::ErrorCode::io);
        EXPECT_NE(unreadable.error().message.find(secret.string()), std::string::npos);
    }
}

TEST(FileDigests, FollowsSymlinksAndSharesHardLinks) {
    TempDir dir;
    auto file = dir.write("a.txt", "alpha");
    std::filesystem::create_symlink("a.txt", dir / "link");
    std::filesystem::create_hard_link(file, dir / "hard");
    auto clock = SetClock::at_real_now_plus(1h);
    auto memo = FileDigests::load(dir / "memo", &clock);
    EXPECT_EQ(memo.digest(dir / "link").value(), util::sha256_hex("alpha"));
    EXPECT_EQ(memo.digest(dir / "hard").value(), util::sha256_hex("alpha"));
    EXPECT_EQ(memo.digest(file).value(), util::sha256_hex("alpha"));
    EXPECT_EQ(memo.size(), 1u);
    EXPECT_EQ(memo.counters().hashed_files, 1u);
}

// Two savers at once (threads here; the rename is the same between processes): the
// memo file is always some saver's whole memo, never garbled (a garbled one would
// load empty), and no temporary file is left behind.
TEST(FileDigests, ConcurrentSavesLeaveAWholeMemo) {
    TempDir dir;
    auto clock = SetClock::at_real_now_plus(1h);
    auto saver = [&](const std::string& name) {
        for (int round = 0; round < 30; ++round) {
            auto memo = FileDigests::load(dir / "state/memo", &clock);
            auto file = dir.write(name + "/" + std::to_string(round), name + std::to_string(round));
            ASSERT_TRUE(memo.digest(file));  // a new entry, so the save writes
            ASSERT_TRUE(memo.save());
            EXPECT_GT(FileDigests::load(dir / "state/memo", &clock).size(), 0u);
        }
    };
    std::thread a(saver, "a");
    std::thread b(saver, "b");
    a.join();
    b.join();
    std::vector<std::string> left;
    for (const auto& entry : std::filesystem::directory_iterator(dir / "state")) {
        left.push_back(entry.path().filename().string());
    }
    EXPECT_EQ(left, std::vector<std::string>{"memo"});
}

}  // namespace
}  // namespace sluice::cache
