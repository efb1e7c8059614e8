// ObjectStore on real files: put and restore round trips, what restore replaces and
// what it leaves alone, corrupted and missing objects, and concurrent puts.
#include "runner/cache/object_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "runner/cache/cache_test_support.hpp"
#include "runner/testing/temp_dir.hpp"
#include "runner/util/sha256.hpp"

namespace sluice::cache {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using sluice::testing::read_file;
using sluice::testing::TempDir;
using testing::lstat_of;
using testing::mode_string;
using testing::SetClock;

std::vector<std::string> names_in(const fs::path& dir) {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir)) {
        names.push_back(entry.path().filename().string());
    }
    return names;
}

class ObjectStoreTest : public ::testing::Test {
  protected:
    ObjectStore open_store() {
        auto opened = ObjectStore::open(dir.path() / "state/cache");
        if (!opened) throw std::runtime_error(opened.error().message);
        return std::move(*opened);
    }

    TempDir dir;
    ObjectStore store = open_store();
    fs::path workspace = dir.path() / "workspace";
};

TEST_F(ObjectStoreTest, PutStoresAReadOnlyObjectUnderItsDigest) {
    auto source = dir.write("model.bin", "weights");
    auto stored = store.put(source);
    ASSERT_TRUE(stored) << stored.error().message;
    EXPECT_EQ(stored->digest, util::sha256_hex("weights"));
    EXPECT_EQ(stored->size, 7u);
    fs::path object = store.object_path(stored->digest);
    EXPECT_EQ(object,
              dir.path() / "state/cache/objects" / stored->digest.substr(0, 2) / stored->digest);
    EXPECT_EQ(read_file(object), "weights");
    EXPECT_EQ(mode_string(object), "0444");
    EXPECT_TRUE(store.contains(stored->digest));
    EXPECT_TRUE(names_in(dir.path() / "state/cache/tmp").empty());
}

TEST_F(ObjectStoreTest, PuttingTheSameContentAgainKeepsTheObject) {
    auto first = store.put(dir.write("a", "same")).value();
    auto inode = lstat_of(store.object_path(first.digest)).st_ino;
    auto second = store.put(dir.write("b", "same")).value();
    EXPECT_EQ(second.digest, first.digest);
    EXPECT_EQ(lstat_of(store.object_path(first.digest)).st_ino, inode);
    EXPECT_EQ(store.list().value().size(), 1u);
    EXPECT_TRUE(names_in(dir.path() / "state/cache/tmp").empty());
}

TEST_F(ObjectStoreTest, PutRefusesWhatIsNotARegularFile) {
    fs::create_directory(dir / "sub");
    auto directory = store.put(dir / "sub");
    ASSERT_FALSE(directory);
    EXPECT_EQ(directory.error().code, util::ErrorCode::bad_input);
    auto missing = store.put(dir / "nope");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, util::ErrorCode::not_found);
    EXPECT_NE(missing.error().message.find((dir / "nope").string()), std::string::npos);
}

TEST_F(ObjectStoreTest, RestoreRoundTripsContentAndMode) {
    auto tool = store.put(dir.write("tool.sh", "#!/bin/sh\necho hi\n")).value();
    auto data = store.put(dir.write("data.csv", "a,b\n1,2\n")).value();
    FileDigests memo;

    auto restored = store.restore(tool.digest, workspace / "bin/tool.sh", true, &memo);
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_EQ(*restored, RestoreOutcome::restored);
    EXPECT_EQ(read_file(workspace / "bin/tool.sh"), "#!/bin/sh\necho hi\n");
    EXPECT_EQ(mode_string(workspace / "bin/tool.sh"), "0755");

    ASSERT_TRUE(store.restore(data.digest, workspace / "out/deep/data.csv", false, &memo));
    EXPECT_EQ(read_file(workspace / "out/deep/data.csv"), "a,b\n1,2\n");
    EXPECT_EQ(mode_string(workspace / "out/deep/data.csv"), "0644");

    // The workspace copy is its own file: editing it leaves the object alone.
    fs::permissions(workspace / "out/deep/data.csv", fs::perms::owner_write, fs::perm_options::add);
    std::ofstream(workspace / "out/deep/data.csv", std::ios::app) << "3,4\n";
    EXPECT_EQ(read_file(store.object_path(data.digest)), "a,b\n1,2\n");
    EXPECT_NE(lstat_of(workspace / "out/deep/data.csv").st_ino,
              lstat_of(store.object_path(data.digest)).st_ino);

    // Without a memo everything is hashed, and it works the same.
    ASSERT_TRUE(store.restore(data.digest, workspace / "again.csv", false, nullptr));
    EXPECT_EQ(read_file(workspace / "again.csv"), "a,b\n1,2\n");
}

TEST_F(ObjectStoreTest, RestoreReplacesAFileADirectoryOrASymlink) {
    auto object = store.put(dir.write("new.txt", "new content")).value();

    dir.write("workspace/file.txt", "old");
    dir.write("workspace/dir/inside/x.txt", "x");
    auto elsewhere = dir.write("elsewhere.txt", "must stay");
    fs::create_directories(workspace);
    fs::create_symlink(elsewhere, workspace / "link");

    for (const char* name : {"file.txt", "dir", "link"}) {
        auto restored = store.restore(object.digest, workspace / name, false, nullptr);
        ASSERT_TRUE(restored) << name << ": " << restored.error().message;
        EXPECT_EQ(*restored, RestoreOutcome::restored);
        EXPECT_TRUE(S_ISREG(lstat_of(workspace / name).st_mode)) << name;
        EXPECT_EQ(read_file(workspace / name), "new content") << name;
    }
    EXPECT_EQ(read_file(elsewhere), "must stay");  // the link was replaced, not followed
    EXPECT_EQ(names_in(workspace).size(), 3u);     // no temporary file left beside them
}

TEST_F(ObjectStoreTest, RestoreLeavesADestinationThatHoldsTheContentAlone) {
    auto object = store.put(dir.write("a.txt", "content")).value();
    auto clock = SetClock::at_real_now_plus(1h);  // files look settled to the memo
    auto memo = FileDigests::load(dir / "state/memo", &clock);
    fs::path dest = workspace / "a.txt";
    ASSERT_EQ(store.restore(object.digest, dest, false, &memo).value(), RestoreOutcome::restored);
    auto written = lstat_of(dest);

    EXPECT_EQ(store.restore(object.digest, dest, false, &memo).value(), RestoreOutcome::unchanged);
    auto hashed = memo.counters().hashed_files;
    EXPECT_EQ(store.restore(object.digest, dest, false, &memo).value(), RestoreOutcome::unchanged);
    EXPECT_EQ(memo.counters().hashed_files, hashed);  // the memo answered, nothing was read
    auto after = lstat_of(dest);
    EXPECT_EQ(after.st_ino, written.st_ino);
    EXPECT_EQ(testing::nanoseconds(after.st_mtim), testing::nanoseconds(written.st_mtim));

    // Only the executable bit differs: fixed in place, not rewritten.
    EXPECT_EQ(store.restore(object.digest, dest, true, &memo).value(), RestoreOutcome::restored);
    EXPECT_EQ(lstat_of(dest).st_ino, written.st_ino);
    EXPECT_EQ(mode_string(dest), "0755");

    // Other content of the same size is replaced.
    fs::remove(dest);
    dir.write("workspace/a.txt", "CONTENT");
    // The new file may get the freed inode back and, on a coarse clock, the same
    // times; another mtime keeps its stat data apart from the old file's.
    timespec other = written.st_mtim;
    other.tv_sec -= 10;
    testing::set_mtime(dest, other);
    EXPECT_EQ(store.restore(object.digest, dest, false, &memo).value(), RestoreOutcome::restored);
    EXPECT_EQ(read_file(dest), "content");
}

TEST_F(ObjectStoreTest, RestoresToANameOfTheLongestLength) {
    auto object = store.put(dir.write("a.txt", "content")).value();
    fs::path dest = workspace / std::string(255, 'n');  // NAME_MAX: no room for a suffix
    auto restored = store.restore(object.digest, dest, false, nullptr);
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_EQ(read_file(dest), "content");
}

TEST_F(ObjectStoreTest, ACorruptedObjectIsAMissAndIsRemoved) {
    auto object = store.put(dir.write("a.txt", "content")).value();
    auto clock = SetClock::at_real_now_plus(1h);
    auto memo = FileDigests::load(dir / "state/memo", &clock);
    ASSERT_TRUE(store.restore(object.digest, workspace / "first.txt", false, &memo));

    fs::path path = store.object_path(object.digest);
    fs::permissions(path, fs::perms::owner_write, fs::perm_options::add);
    auto before = lstat_of(path);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << "CONTENT";  // same size
    // Another mtime, so the stat data differs even on a coarse clock (corruption that
    // keeps the stat data is not seen through a memo: the price of not re-reading).
    timespec other = before.st_mtim;
    other.tv_sec -= 10;
    testing::set_mtime(path, other);

    auto restored = store.restore(object.digest, workspace / "second.txt", false, &memo);
    ASSERT_FALSE(restored);
    EXPECT_EQ(restored.error().code, util::ErrorCode::not_found);
    EXPECT_NE(restored.error().message.find("corrupted cache object " + object.digest),
              std::string::npos)
        << restored.error().message;
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(store.contains(object.digest));
    EXPECT_FALSE(fs::exists(workspace / "second.txt"));
}

TEST_F(ObjectStoreTest, AMissingObjectIsAMiss) {
    std::string digest = util::sha256_hex("never stored");
    auto restored = store.restore(digest, workspace / "x", false, nullptr);
    ASSERT_FALSE(restored);
    EXPECT_EQ(restored.error().code, util::ErrorCode::not_found);
    EXPECT_NE(restored.error().message.find("missing cache object " + digest), std::string::npos);
    EXPECT_FALSE(fs::exists(workspace / "x"));
}

TEST_F(ObjectStoreTest, RestoreRefusesABadDigestOrARelativeDestination) {
    auto object = store.put(dir.write("a.txt", "content")).value();
    auto relative = store.restore(object.digest, "workspace/a.txt", false, nullptr);
    ASSERT_FALSE(relative);
    EXPECT_EQ(relative.error().code, util::ErrorCode::bad_input);
    auto bad = store.restore("../../../etc/passwd", workspace / "a.txt", false, nullptr);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, util::ErrorCode::bad_input);
    EXPECT_FALSE(store.contains("../../../etc/passwd"));
    EXPECT_FALSE(store.remove("../x"));
}

TEST_F(ObjectStoreTest, ConcurrentPutsOfTheSameContentMakeOneGoodObject) {
    std::string content(300'000, 'x');
    for (std::size_t i = 0; i < content.size(); i += 7)
        content[i] = static_cast<char>('a' + i % 26);
    std::vector<fs::path> sources;
    for (int i = 0; i < 8; ++i) sources.push_back(dir.write("src/" + std::to_string(i), content));

    std::vector<std::string> digests(sources.size());
    std::vector<std::thread> putters;
    for (std::size_t i = 0; i < sources.size(); ++i) {
        putters.emplace_back([&, i] {
            // Each thread its own store object, as separate processes would have.
            auto own = ObjectStore::open(store.root()).value();
            for (int round = 0; round < 5; ++round) {
                auto stored = own.put(sources[i]);
                ASSERT_TRUE(stored) << stored.error().message;
                digests[i] = stored->digest;
            }
        });
    }
    for (auto& t : putters) t.join();
    for (const auto& d : digests) EXPECT_EQ(d, util::sha256_hex(content));
    EXPECT_EQ(read_file(store.object_path(digests[0])), content);
    EXPECT_EQ(store.list().value().size(), 1u);
    EXPECT_TRUE(names_in(store.root() / "tmp").empty());
    ASSERT_TRUE(store.restore(digests[0], workspace / "out", false, nullptr));
    EXPECT_EQ(read_file(workspace / "out"), content);
}

TEST_F(ObjectStoreTest, ListRemoveAndOldTemporaryFiles) {
    auto a = store.put(dir.write("a", "alpha")).value();
    auto b = store.put(dir.write("b", "beta")).value();
    auto listed = store.list().value();
    ASSERT_EQ(listed.size(), 2u);
    std::uint64_t bytes = 0;
    for (const auto& o : listed) bytes += o.size;
    EXPECT_EQ(bytes, 9u);

    ASSERT_TRUE(store.remove(a.digest));
    ASSERT_TRUE(store.remove(a.digest));  // gone already: fine
    EXPECT_FALSE(store.contains(a.digest));
    EXPECT_TRUE(store.contains(b.digest));

    dir.write("state/cache/tmp/put.crashed", "half an object");
    auto now = testing::real_now_ms();
    EXPECT_EQ(store.remove_temp_files_before(now - 60'000).value(), 0u);  // too young
    EXPECT_EQ(store.remove_temp_files_before(now + 60'000).value(), 14u);
    EXPECT_TRUE(names_in(store.root() / "tmp").empty());
}

}  // namespace
}  // namespace sluice::cache
