// The cache's garbage collection and size (see cache_gc.hpp).
#include "runner/cache/cache_gc.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace sluice::cache {

namespace {

struct Referenced {
    std::uint64_t size = 0;
    std::size_t references = 0;
};

}  // namespace

std::vector<std::string> entries_to_remove(std::span<const CacheEntry> entries,
                                           const GcPolicy& policy) {
    // Most recently used first; for equal times the order given (the index lists
    // newer rows first).
    std::vector<std::size_t> order(entries.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (entries[a].used_ms != entries[b].used_ms)
            return entries[a].used_ms > entries[b].used_ms;
        return entries[a].created_ms > entries[b].created_ms;
    });

    std::vector<bool> removed(entries.size(), false);
    if (policy.keep_per_stage >= 0) {
        std::map<std::pair<std::string_view, std::string_view>, int> kept_of_stage;
        for (std::size_t i : order) {
            int& kept = kept_of_stage[{entries[i].pipeline, entries[i].stage}];
            if (kept >= policy.keep_per_stage) {
                removed[i] = true;
            } else {
                ++kept;
            }
        }
    }

    if (policy.max_bytes) {
        std::unordered_map<std::string_view, Referenced> referenced;
        std::uint64_t total = 0;
        for (std::size_t i : order) {
            if (removed[i]) continue;
            for (const auto& path : entries[i].paths) {
                if (path.type != CachedPath::Type::file) continue;
                auto& object = referenced[path.digest];
                if (object.references++ == 0) {
                    object.size = path.size;
                    total += path.size;
                }
            }
        }
        for (auto it = order.rbegin(); it != order.rend() && total > *policy.max_bytes; ++it) {
            if (removed[*it]) continue;
            removed[*it] = true;
            for (const auto& path : entries[*it].paths) {
                if (path.type != CachedPath::Type::file) continue;
                auto& object = referenced[path.digest];
                if (--object.references == 0) total -= object.size;
            }
        }
    }

    std::vector<std::string> keys;
    for (std::size_t i : order) {
        if (removed[i]) keys.push_back(entries[i].key);
    }
    return keys;
}

util::Result<GcReport> gc(CacheIndex& index, ObjectStore& objects, const GcPolicy& policy) {
    if (policy.now_ms <= 0) {
        // Without the time every object would look old, even one a run is writing now.
        return util::fail(util::ErrorCode::internal, "cache gc needs the current time (now_ms)");
    }
    GcReport report;
    auto entries = index.list();
    if (!entries) return std::unexpected(entries.error());
    auto drop = entries_to_remove(*entries, policy);
    if (auto removed = index.remove(drop); !removed) return std::unexpected(removed.error());
    report.entries_removed = drop.size();

    // Listed again after the removal: an entry another run added meanwhile counts too.
    entries = index.list();
    if (!entries) return std::unexpected(entries.error());
    std::unordered_set<std::string> referenced;
    for (const auto& entry : *entries) {
        for (const auto& path : entry.paths) {
            if (path.type == CachedPath::Type::file) referenced.insert(path.digest);
        }
    }

    auto stored = objects.list();
    if (!stored) return std::unexpected(stored.error());
    const std::int64_t young_after_ms = policy.now_ms - k_gc_grace_ms;
    for (const auto& object : *stored) {
        if (referenced.contains(object.digest) || object.mtime_ms >= young_after_ms) {
            report.bytes_kept += object.size;
            continue;
        }
        if (auto gone = objects.remove(object.digest); !gone) return std::unexpected(gone.error());
        ++report.objects_removed;
        report.bytes_freed += object.size;
    }
    auto temp_freed = objects.remove_temp_files_before(young_after_ms);
    if (!temp_freed) return std::unexpected(temp_freed.error());
    report.bytes_freed += *temp_freed;
    return report;
}

util::Result<CacheSize> cache_size(CacheIndex& index, const ObjectStore& objects) {
    CacheSize size;
    auto entries = index.count();
    if (!entries) return std::unexpected(entries.error());
    size.entries = *entries;
    auto stored = objects.list();
    if (!stored) return std::unexpected(stored.error());
    size.objects = stored->size();
    for (const auto& object : *stored) size.bytes += object.size;
    return size;
}

}  // namespace sluice::cache
