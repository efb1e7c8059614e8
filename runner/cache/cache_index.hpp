// The stage cache's index: stage key -> what that stage produced (its output paths,
// key=value outputs, metrics) and what went into the key, in SQLite at ROOT/cache.db
// (WAL, every write one transaction, several sluice processes at once).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runner/cache/cached_path.hpp"
#include "runner/util/error.hpp"

namespace sluice::cache {

struct CacheEntry {
    std::string key;  // 64-hex stage key
    std::string pipeline;
    std::string stage;
    std::int64_t run_id = 0;  // the run that produced it
    std::int64_t created_ms = 0;
    std::int64_t used_ms = 0;
    std::vector<CachedPath> paths;
    nlohmann::json stage_outputs = nlohmann::json::object();  // key=value outputs the stage wrote
    nlohmann::json metrics = nlohmann::json::object();        // its metrics file's numbers, if any
    // What went into the key, to explain a miss: {"files": {path: digest}, "command":
    // hash, "env": hash, "needs": {stage: key}, ...}, stored as given.
    nlohmann::json inputs = nlohmann::json::object();
};

class CacheIndex {
  public:
    // Opens (creating and migrating) the index database, usually ROOT/cache.db.
    static util::Result<CacheIndex> open(
        const std::filesystem::path& path,
        std::chrono::milliseconds busy_timeout = std::chrono::seconds(10));

    CacheIndex(CacheIndex&&) noexcept;
    CacheIndex& operator=(CacheIndex&&) noexcept;
    CacheIndex(const CacheIndex&) = delete;
    CacheIndex& operator=(const CacheIndex&) = delete;
    ~CacheIndex();

    // nullopt when no entry has that key. What went into the key is left out (`inputs`
    // is `{}`): latest() and entries() have it.
    util::Result<std::optional<CacheEntry>> find(const std::string& key);

    // Adds the entry, replacing one with the same key (*replaced, when given, says
    // whether there was one). ErrorCode::bad_input for a key that is not 64 lowercase
    // hex digits or an invalid path (see check_cached_path).
    util::Status put(const CacheEntry& entry, bool* replaced = nullptr);

    // Marks the entry used at now_ms (it never moves back); a key that is not there
    // (a gc removed it meanwhile) is left alone.
    util::Status touch(const std::string& key, std::int64_t now_ms);
    // The same for many entries in one transaction (a run's hits, at its end), except
    // that an entry already used within k_touch_resolution_ms before now_ms is left as
    // it is: a run that only re-uses what the previous one used writes nothing.
    util::Status touch(std::span<const std::string> keys, std::int64_t now_ms);
    static constexpr std::int64_t k_touch_resolution_ms = 60'000;

    // The most recently used entry of that stage (to say which input changed).
    util::Result<std::optional<CacheEntry>> latest(const std::string& pipeline,
                                                   const std::string& stage);

    // Every entry, most recently used first.
    util::Result<std::vector<CacheEntry>> list();

    // Removes entries (one transaction); keys that are not there are ignored.
    util::Status remove(const std::string& key);
    util::Status remove(std::span<const std::string> keys);

    util::Result<std::size_t> count();

  private:
    struct Impl;
    explicit CacheIndex(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::cache
