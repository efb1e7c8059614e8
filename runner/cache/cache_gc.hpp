// Keeping the stage cache bounded: which entries to drop (a pure decision on the
// index's entries), then dropping them and deleting the objects nothing references;
// and the cache's size for `sluice cache ls`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runner/cache/byte_size.hpp"
#include "runner/cache/cache_index.hpp"
#include "runner/cache/object_store.hpp"
#include "runner/util/error.hpp"

namespace sluice::cache {

// Objects and temporary files younger than this are never deleted, referenced or not:
// a run filling the cache writes its objects first and its index entry after them.
inline constexpr std::int64_t k_gc_grace_ms = 10 * 60 * 1000;

struct GcPolicy {
    int keep_per_stage = -1;  // the most recently used entries kept per (pipeline, stage); <0: all
    std::optional<std::uint64_t> max_bytes;  // bound on the bytes the kept entries reference
    std::int64_t now_ms = 0;  // unix ms, for the grace period of new objects; required
};

struct GcReport {
    std::size_t entries_removed = 0;
    std::size_t objects_removed = 0;
    std::uint64_t bytes_freed = 0;  // objects and leftover temporary files deleted
    std::uint64_t bytes_kept = 0;   // objects left in the store
};

// The keys of the entries the policy drops: first those beyond the `keep_per_stage`
// most recently used of their stage, then, while the distinct objects the others
// reference add up to more than `max_bytes`, the least recently used of all.
std::vector<std::string> entries_to_remove(std::span<const CacheEntry> entries,
                                           const GcPolicy& policy);

// Drops the entries entries_to_remove() names, then deletes the objects no entry
// references and leftover temporary files, except those younger than k_gc_grace_ms.
util::Result<GcReport> gc(CacheIndex& index, ObjectStore& objects, const GcPolicy& policy);

struct CacheSize {
    std::size_t entries = 0;
    std::size_t objects = 0;
    std::uint64_t bytes = 0;  // of the objects
};

util::Result<CacheSize> cache_size(CacheIndex& index, const ObjectStore& objects);

}  // namespace sluice::cache
