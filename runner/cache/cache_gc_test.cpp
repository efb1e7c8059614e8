// Garbage collection of the stage cache: the pure choice of entries, then on a real
// index and object store (keep per stage, a size bound, young objects kept), and the
// cache's size.
#include "runner/cache/cache_gc.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "runner/cache/cache_test_support.hpp"
#include "runner/testing/temp_dir.hpp"
#include "runner/util/sha256.hpp"

namespace sluice::cache {
namespace {

namespace fs = std::filesystem;
using sluice::testing::TempDir;

constexpr std::int64_t k_hour_ms = 3'600'000;

CacheEntry entry_with(const std::string& name, const std::string& stage, std::int64_t used_ms,
                      std::vector<std::pair<std::string, std::uint64_t>> objects) {
    CacheEntry entry;
    entry.key = util::sha256_hex("key " + name);
    entry.pipeline = "ml";
    entry.stage = stage;
    entry.created_ms = used_ms;
    entry.used_ms = used_ms;
    int n = 0;
    for (auto& [digest, size] : objects) {
        entry.paths.push_back(
            {"f" + std::to_string(n++), CachedPath::Type::file, digest, size, false, ""});
    }
    return entry;
}

std::string key_of(const std::string& name) { return util::sha256_hex("key " + name); }

TEST(EntriesToRemove, KeepsTheMostRecentlyUsedPerStage) {
    std::vector<CacheEntry> entries{
        entry_with("t1", "train", 1, {}),
        entry_with("t3", "train", 3, {}),
        entry_with("t2", "train", 2, {}),
        entry_with("e1", "eval", 1, {}),
    };
    GcPolicy keep_one;
    keep_one.keep_per_stage = 1;
    EXPECT_EQ(entries_to_remove(entries, keep_one),
              (std::vector<std::string>{key_of("t2"), key_of("t1")}));
    GcPolicy keep_none;
    keep_none.keep_per_stage = 0;
    EXPECT_EQ(entries_to_remove(entries, keep_none).size(), 4u);
    EXPECT_TRUE(entries_to_remove(entries, GcPolicy{}).empty());
}

TEST(EntriesToRemove, DropsTheLeastRecentlyUsedUntilTheObjectsFit) {
    std::string shared = util::sha256_hex("shared");
    std::vector<CacheEntry> entries{
        entry_with("old", "a", 1, {{util::sha256_hex("old"), 400}, {shared, 100}}),
        entry_with("mid", "b", 2, {{util::sha256_hex("mid"), 300}, {shared, 100}}),
        entry_with("new", "c", 3, {{util::sha256_hex("new"), 200}}),
    };
    // 400 + 300 + 200 + 100 (shared counted once) = 1000 bytes referenced.
    GcPolicy fits;
    fits.max_bytes = 1000;
    EXPECT_TRUE(entries_to_remove(entries, fits).empty());
    GcPolicy smaller;
    smaller.max_bytes = 600;  // dropping "old" frees 400 only: the shared object stays
    EXPECT_EQ(entries_to_remove(entries, smaller), (std::vector<std::string>{key_of("old")}));
    smaller.max_bytes = 599;
    EXPECT_EQ(entries_to_remove(entries, smaller),
              (std::vector<std::string>{key_of("mid"), key_of("old")}));
    smaller.max_bytes = 0;
    EXPECT_EQ(entries_to_remove(entries, smaller).size(), 3u);
}

class CacheGcTest : public ::testing::Test {
  protected:
    // Stores content as an object and returns an entry referencing it.
    CacheEntry stored_entry(const std::string& name, const std::string& stage, std::int64_t used_ms,
                            const std::string& content) {
        auto object = objects.put(dir.write("src/" + name, content)).value();
        auto entry = entry_with(name, stage, used_ms, {{object.digest, object.size}});
        EXPECT_TRUE(index.put(entry));
        return entry;
    }

    TempDir dir;
    CacheIndex index = CacheIndex::open(dir.path() / "cache/cache.db").value();
    ObjectStore objects = ObjectStore::open(dir.path() / "cache").value();
    std::int64_t an_hour_later = testing::real_now_ms() + k_hour_ms;
};

TEST_F(CacheGcTest, KeepPerStageRemovesEntriesAndTheirObjects) {
    auto old_entry = stored_entry("old", "train", 1, "old model");
    auto new_entry = stored_entry("new", "train", 2, "new model!");
    GcPolicy policy;
    policy.keep_per_stage = 1;
    policy.now_ms = an_hour_later;
    auto report = gc(index, objects, policy);
    ASSERT_TRUE(report) << report.error().message;
    EXPECT_EQ(report->entries_removed, 1u);
    EXPECT_EQ(report->objects_removed, 1u);
    EXPECT_EQ(report->bytes_freed, 9u);
    EXPECT_EQ(report->bytes_kept, 10u);
    EXPECT_FALSE(index.find(old_entry.key).value().has_value());
    EXPECT_FALSE(objects.contains(old_entry.paths[0].digest));
    EXPECT_TRUE(objects.contains(new_entry.paths[0].digest));
}

TEST_F(CacheGcTest, MaxBytesDropsTheLeastRecentlyUsed) {
    auto a = stored_entry("a", "one", 1, std::string(100, 'a'));
    auto b = stored_entry("b", "two", 2, std::string(100, 'b'));
    auto c = stored_entry("c", "three", 3, std::string(100, 'c'));
    GcPolicy policy;
    policy.max_bytes = 250;
    policy.now_ms = an_hour_later;
    auto report = gc(index, objects, policy).value();
    EXPECT_EQ(report.entries_removed, 1u);
    EXPECT_EQ(report.objects_removed, 1u);
    EXPECT_EQ(report.bytes_kept, 200u);
    EXPECT_FALSE(index.find(a.key).value().has_value());
    EXPECT_TRUE(index.find(b.key).value().has_value());
    EXPECT_TRUE(index.find(c.key).value().has_value());
}

TEST_F(CacheGcTest, YoungUnreferencedObjectsAndTemporaryFilesAreKept) {
    auto orphan = objects.put(dir.write("orphan", "no entry yet")).value();
    dir.write("cache/tmp/put.inprogress", "half");
    GcPolicy policy;
    policy.now_ms = testing::real_now_ms();  // they were written just now
    auto report = gc(index, objects, policy).value();
    EXPECT_EQ(report.objects_removed, 0u);
    EXPECT_EQ(report.bytes_kept, orphan.size);
    EXPECT_TRUE(objects.contains(orphan.digest));
    EXPECT_TRUE(fs::exists(dir / "cache/tmp/put.inprogress"));

    policy.now_ms = an_hour_later;  // the run that wrote them never came back
    report = gc(index, objects, policy).value();
    EXPECT_EQ(report.objects_removed, 1u);
    EXPECT_EQ(report.bytes_freed, orphan.size + 4);
    EXPECT_EQ(report.bytes_kept, 0u);
    EXPECT_FALSE(objects.contains(orphan.digest));
    EXPECT_FALSE(fs::exists(dir / "cache/tmp/put.inprogress"));
}

TEST_F(CacheGcTest, AnObjectStaysWhileAnyEntryReferencesIt) {
    auto first = stored_entry("first", "train", 1, "same content");
    auto second = stored_entry("second", "train", 2, "same content");
    ASSERT_EQ(first.paths[0].digest, second.paths[0].digest);
    GcPolicy policy;
    policy.keep_per_stage = 1;
    policy.now_ms = an_hour_later;
    auto report = gc(index, objects, policy).value();
    EXPECT_EQ(report.entries_removed, 1u);
    EXPECT_EQ(report.objects_removed, 0u);
    EXPECT_TRUE(objects.contains(first.paths[0].digest));
}

TEST_F(CacheGcTest, RefusesToRunWithoutTheTime) {
    auto orphan = objects.put(dir.write("orphan", "being written by a run")).value();
    auto report = gc(index, objects, GcPolicy{});
    ASSERT_FALSE(report);
    EXPECT_TRUE(objects.contains(orphan.digest));
}

TEST_F(CacheGcTest, CacheSizeCountsEntriesAndObjects) {
    stored_entry("a", "one", 1, "12345");
    stored_entry("b", "two", 2, "123");
    stored_entry("c", "three", 3, "12345");  // the same object as "a"
    auto size = cache_size(index, objects).value();
    EXPECT_EQ(size.entries, 3u);
    EXPECT_EQ(size.objects, 2u);
    EXPECT_EQ(size.bytes, 8u);
}

}  // namespace
}  // namespace sluice::cache
