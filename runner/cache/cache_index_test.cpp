// CacheIndex on a real SQLite file: round trips, replacing, use times, the latest
// entry of a stage, listing, removing, validation, and two writers at once.
#include "runner/cache/cache_index.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "runner/store/sqlite.hpp"
#include "runner/testing/temp_dir.hpp"
#include "runner/util/sha256.hpp"

namespace sluice::cache {
namespace {

using sluice::testing::TempDir;

std::string key_of(const std::string& name) { return util::sha256_hex("key " + name); }

CacheEntry entry_of(const std::string& name, const std::string& stage, std::int64_t used_ms) {
    CacheEntry entry;
    entry.key = key_of(name);
    entry.pipeline = "ml";
    entry.stage = stage;
    entry.run_id = 7;
    entry.created_ms = used_ms;
    entry.used_ms = used_ms;
    entry.paths = {
        {"model.bin", CachedPath::Type::file, util::sha256_hex(name + " model"), 1000, false, ""},
        {"out/latest", CachedPath::Type::symlink, "", 0, false, "model.bin"},
        {"out/empty", CachedPath::Type::dir, "", 0, false, ""},
        {"train.sh", CachedPath::Type::file, util::sha256_hex(name + " tool"), 20, true, ""},
    };
    entry.stage_outputs = {{"accuracy", "0.93"}};
    entry.metrics = {{"accuracy", 0.93}, {"loss", 0.2}};
    entry.inputs = {{"files", {{"data.csv", util::sha256_hex("data")}}},
                    {"command", util::sha256_hex("python train.py")},
                    {"needs", {{"prepare", key_of("prepare")}}}};
    return entry;
}

std::vector<CachedPath> sorted_paths(std::vector<CachedPath> paths) {
    std::sort(paths.begin(), paths.end(),
              [](const auto& a, const auto& b) { return a.path < b.path; });
    return paths;
}

// find() leaves out what went into the key; latest() and entries() have it.
void expect_same(const CacheEntry& actual, const CacheEntry& expected, bool with_inputs = false) {
    EXPECT_EQ(actual.key, expected.key);
    EXPECT_EQ(actual.pipeline, expected.pipeline);
    EXPECT_EQ(actual.stage, expected.stage);
    EXPECT_EQ(actual.run_id, expected.run_id);
    EXPECT_EQ(actual.created_ms, expected.created_ms);
    EXPECT_EQ(actual.used_ms, expected.used_ms);
    EXPECT_EQ(actual.paths, sorted_paths(expected.paths));
    EXPECT_EQ(actual.stage_outputs, expected.stage_outputs);
    EXPECT_EQ(actual.metrics, expected.metrics);
    EXPECT_EQ(actual.inputs, with_inputs ? expected.inputs : nlohmann::json::object());
}

class CacheIndexTest : public ::testing::Test {
  protected:
    TempDir dir;
    CacheIndex index = CacheIndex::open(dir.path() / "state/cache/cache.db").value();
};

TEST_F(CacheIndexTest, PutThenFindRoundTripsEverything) {
    auto entry = entry_of("a", "train", 1000);
    ASSERT_TRUE(index.put(entry));
    auto found = index.find(entry.key);
    ASSERT_TRUE(found) << found.error().message;
    ASSERT_TRUE(found->has_value());
    expect_same(**found, entry);

    // And from another connection, after reopening.
    auto reopened = CacheIndex::open(dir.path() / "state/cache/cache.db").value();
    expect_same(reopened.find(entry.key).value().value(), entry);
}

TEST_F(CacheIndexTest, AnEntryWithoutPathsRoundTrips) {
    auto entry = entry_of("a", "check", 1000);
    entry.paths.clear();
    ASSERT_TRUE(index.put(entry));
    expect_same(index.find(entry.key).value().value(), entry);
}

TEST_F(CacheIndexTest, AnUnknownKeyIsNotFoundWithoutAnError) {
    auto found = index.find(key_of("nothing"));
    ASSERT_TRUE(found);
    EXPECT_FALSE(found->has_value());
    auto latest = index.latest("ml", "train");
    ASSERT_TRUE(latest);
    EXPECT_FALSE(latest->has_value());
}

TEST_F(CacheIndexTest, PutReplacesAnEntryWithTheSameKey) {
    auto entry = entry_of("a", "train", 1000);
    bool replaced = true;
    ASSERT_TRUE(index.put(entry, &replaced));
    EXPECT_FALSE(replaced);  // a new key
    entry.paths = {{"other.bin", CachedPath::Type::file, util::sha256_hex("x"), 1, false, ""}};
    entry.metrics = {{"accuracy", 0.5}};
    entry.run_id = 8;
    ASSERT_TRUE(index.put(entry, &replaced));
    EXPECT_TRUE(replaced);
    expect_same(index.find(entry.key).value().value(), entry);
    EXPECT_EQ(index.count().value(), 1u);
}

TEST_F(CacheIndexTest, TouchMovesTheUseTimeForwardOnly) {
    auto entry = entry_of("a", "train", 1000);
    ASSERT_TRUE(index.put(entry));
    ASSERT_TRUE(index.touch(entry.key, 5000));
    EXPECT_EQ(index.find(entry.key).value()->used_ms, 5000);
    ASSERT_TRUE(index.touch(entry.key, 3000));
    EXPECT_EQ(index.find(entry.key).value()->used_ms, 5000);
    EXPECT_EQ(index.find(entry.key).value()->created_ms, 1000);
    EXPECT_TRUE(index.touch(key_of("gone"), 5000));  // not there: nothing to do
}

TEST_F(CacheIndexTest, ARunsTouchesLeaveEntriesUsedWithinTheLastMinuteAlone) {
    ASSERT_TRUE(index.put(entry_of("a", "train", 1000)));
    ASSERT_TRUE(index.put(entry_of("b", "eval", 1000)));
    std::vector<std::string> keys{key_of("a"), key_of("b"), key_of("gone")};
    ASSERT_TRUE(index.touch(keys, 1000 + CacheIndex::k_touch_resolution_ms - 1));
    EXPECT_EQ(index.find(key_of("a")).value()->used_ms, 1000);
    ASSERT_TRUE(index.touch(keys, 1000 + CacheIndex::k_touch_resolution_ms + 1));
    EXPECT_EQ(index.find(key_of("a")).value()->used_ms, 1000 + CacheIndex::k_touch_resolution_ms + 1);
    EXPECT_EQ(index.find(key_of("b")).value()->used_ms, 1000 + CacheIndex::k_touch_resolution_ms + 1);
}

TEST(CacheIndexMigration, AVersionOneIndexKeepsItsEntriesAndWhatWentIntoThem) {
    TempDir dir;
    auto path = dir.path() / "cache.db";
    {
        // An index as the first version wrote it: the key's parts in the entries table.
        auto db = store::sqlite::Connection::open(path).value();
        ASSERT_TRUE(db.exec(R"sql(
CREATE TABLE entries (key TEXT PRIMARY KEY, pipeline TEXT NOT NULL, stage TEXT NOT NULL,
  run_id INTEGER NOT NULL DEFAULT 0, created_ms INTEGER NOT NULL, used_ms INTEGER NOT NULL,
  stage_outputs TEXT NOT NULL DEFAULT '{}', metrics TEXT NOT NULL DEFAULT '{}',
  inputs TEXT NOT NULL DEFAULT '{}');
CREATE INDEX entries_by_stage ON entries(pipeline, stage, used_ms);
CREATE INDEX entries_by_use ON entries(used_ms);
CREATE TABLE entry_paths (key TEXT NOT NULL REFERENCES entries(key) ON DELETE CASCADE,
  path TEXT NOT NULL, type TEXT NOT NULL, digest TEXT NOT NULL DEFAULT '',
  size INTEGER NOT NULL DEFAULT 0, executable INTEGER NOT NULL DEFAULT 0,
  target TEXT NOT NULL DEFAULT '', PRIMARY KEY (key, path)) WITHOUT ROWID;
PRAGMA user_version = 1;)sql"));
        ASSERT_TRUE(db.exec("INSERT INTO entries VALUES ('" + key_of("old") +
                            "', 'ml', 'train', 3, 1000, 2000, '{\"a\":\"1\"}', '{}', "
                            "'{\"files\":{\"data.csv\":\"x\"}}')"));
    }
    auto index = CacheIndex::open(path).value();
    auto latest = index.latest("ml", "train").value();
    ASSERT_TRUE(latest);
    EXPECT_EQ(latest->key, key_of("old"));
    EXPECT_EQ(latest->run_id, 3);
    EXPECT_EQ(latest->stage_outputs, nlohmann::json({{"a", "1"}}));
    EXPECT_EQ(latest->inputs, nlohmann::json({{"files", {{"data.csv", "x"}}}}));
    // New entries keep theirs too, and removing an entry removes them.
    ASSERT_TRUE(index.put(entry_of("new", "train", 5000)));
    EXPECT_EQ(index.latest("ml", "train").value()->inputs, entry_of("new", "train", 5000).inputs);
    ASSERT_TRUE(index.remove(key_of("old")));
    EXPECT_EQ(index.count().value(), 1u);
    auto db = store::sqlite::Connection::open(path).value();
    EXPECT_EQ(db.query_int("SELECT count(*) FROM entry_inputs").value(), 1);
}

TEST_F(CacheIndexTest, LatestIsTheMostRecentlyUsedEntryOfThatStage) {
    ASSERT_TRUE(index.put(entry_of("old", "train", 1000)));
    ASSERT_TRUE(index.put(entry_of("new", "train", 2000)));
    ASSERT_TRUE(index.put(entry_of("other stage", "eval", 9000)));
    auto other_pipeline = entry_of("other pipeline", "train", 9000);
    other_pipeline.pipeline = "etl";
    ASSERT_TRUE(index.put(other_pipeline));

    EXPECT_EQ(index.latest("ml", "train").value()->key, key_of("new"));
    ASSERT_TRUE(index.touch(key_of("old"), 3000));
    auto latest = index.latest("ml", "train").value();
    EXPECT_EQ(latest->key, key_of("old"));
    EXPECT_EQ(latest->paths.size(), 4u);
    EXPECT_EQ(latest->inputs, entry_of("old", "train", 1000).inputs);  // for explaining a miss
    EXPECT_EQ(index.latest("etl", "train").value()->key, key_of("other pipeline"));
}

TEST_F(CacheIndexTest, ListIsMostRecentlyUsedFirst) {
    ASSERT_TRUE(index.put(entry_of("b", "train", 2000)));
    ASSERT_TRUE(index.put(entry_of("a", "train", 1000)));
    ASSERT_TRUE(index.put(entry_of("c", "eval", 3000)));
    ASSERT_TRUE(index.touch(key_of("a"), 4000));
    auto listed = index.list().value();
    ASSERT_EQ(listed.size(), 3u);
    EXPECT_EQ(listed[0].key, key_of("a"));
    EXPECT_EQ(listed[1].key, key_of("c"));
    EXPECT_EQ(listed[2].key, key_of("b"));
    for (const auto& entry : listed) EXPECT_EQ(entry.paths.size(), 4u);
}

TEST_F(CacheIndexTest, RemoveDropsEntriesAndTheirPaths) {
    ASSERT_TRUE(index.put(entry_of("a", "train", 1000)));
    ASSERT_TRUE(index.put(entry_of("b", "train", 2000)));
    ASSERT_TRUE(index.put(entry_of("c", "train", 3000)));
    ASSERT_TRUE(index.remove(key_of("a")));
    std::vector<std::string> keys{key_of("b"), key_of("never there")};
    ASSERT_TRUE(index.remove(keys));
    EXPECT_FALSE(index.find(key_of("a")).value().has_value());
    EXPECT_FALSE(index.find(key_of("b")).value().has_value());
    EXPECT_EQ(index.count().value(), 1u);
    // A new entry with a removed key starts without the old paths.
    auto again = entry_of("a", "train", 5000);
    again.paths.resize(1);
    ASSERT_TRUE(index.put(again));
    EXPECT_EQ(index.find(key_of("a")).value()->paths.size(), 1u);
}

TEST_F(CacheIndexTest, RefusesABadKeyOrPath) {
    auto entry = entry_of("a", "train", 1000);
    entry.key = "not-a-key";
    auto bad_key = index.put(entry);
    ASSERT_FALSE(bad_key);
    EXPECT_EQ(bad_key.error().code, util::ErrorCode::bad_input);

    entry = entry_of("a", "train", 1000);
    entry.paths.push_back({"../outside", CachedPath::Type::dir, "", 0, false, ""});
    auto bad_path = index.put(entry);
    ASSERT_FALSE(bad_path);
    EXPECT_EQ(bad_path.error().code, util::ErrorCode::bad_input);
    EXPECT_EQ(index.count().value(), 0u);
}

TEST_F(CacheIndexTest, StageOutputsWithInvalidUtf8AreStoredNotThrown) {
    auto entry = entry_of("a", "train", 1000);
    entry.stage_outputs = {{"blob", std::string("\xff\xfe", 2)}};
    ASSERT_TRUE(index.put(entry));
    EXPECT_TRUE(index.find(entry.key).value().has_value());
}

// Two connections (as two sluice processes would have) writing at once: every entry
// of both arrives whole; the busy timeout makes them take turns.
TEST_F(CacheIndexTest, ConcurrentWritersFromTwoConnections) {
    constexpr int k_per_writer = 100;
    auto writer = [&](const std::string& name) {
        auto own = CacheIndex::open(dir.path() / "state/cache/cache.db");
        ASSERT_TRUE(own) << own.error().message;
        for (int i = 0; i < k_per_writer; ++i) {
            auto entry = entry_of(name + std::to_string(i), name, i);
            auto put = own->put(entry);
            ASSERT_TRUE(put) << put.error().message;
            ASSERT_TRUE(own->touch(entry.key, i + 1));
        }
    };
    std::thread a(writer, "a");
    std::thread b(writer, "b");
    a.join();
    b.join();
    auto listed = index.list().value();
    ASSERT_EQ(listed.size(), 2u * k_per_writer);
    for (const auto& entry : listed) EXPECT_EQ(entry.paths.size(), 4u) << entry.key;
    EXPECT_EQ(index.latest("ml", "a").value()->key, key_of("a" + std::to_string(k_per_writer - 1)));
}

}  // namespace
}  // namespace sluice::cache
