// Content-addressed objects of the stage cache: each distinct file content once, at
// ROOT/objects/ab/<64 hex digits of its SHA-256>, read-only. Objects are written to a
// temporary file in ROOT/tmp and renamed into place, so any number of processes may
// put and read at once and nobody sees half an object. Restoring copies (or reflinks)
// an object into a workspace; it never hard-links, since a stage editing its output in
// place would then edit the cache.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "runner/cache/file_digests.hpp"
#include "runner/util/error.hpp"

namespace sluice::cache {

struct StoredObject {
    std::string digest;  // 64 lowercase hex digits
    std::uint64_t size = 0;
};

struct ObjectInfo {
    std::string digest;
    std::uint64_t size = 0;
    std::int64_t mtime_ms = 0;  // when it was last put
};

enum class RestoreOutcome {
    restored,   // the destination was written (or only its executable bit fixed)
    unchanged,  // the destination already held that content
};

class ObjectStore {
  public:
    // The store under `root` (STATE/cache); creates ROOT/objects and ROOT/tmp.
    static util::Result<ObjectStore> open(const std::filesystem::path& root);

    const std::filesystem::path& root() const { return root_; }

    // ROOT/objects/ab/<digest>; `digest` must be 64 lowercase hex digits (is_digest).
    std::filesystem::path object_path(std::string_view digest) const;

    // Copies the regular file at `file` (symlinks followed) into the store, hashing
    // while copying. An object already there is kept (and its mtime refreshed, so a
    // concurrent gc sees it as new).
    util::Result<StoredObject> put(const std::filesystem::path& file);

    // Makes `dest` (absolute; parent directories created; a file, symlink or directory
    // there is replaced) hold the object's content, mode 0755 or 0644. When `dest`
    // already holds that content (asking `memo`, which may hash it) nothing is written,
    // beyond fixing the executable bit. Otherwise the object is first verified against
    // its digest (through `memo`, so only when its stat data changed), then reflinked or
    // copied to a temporary file beside `dest` and renamed over it. A missing or
    // corrupted object is ErrorCode::not_found ("missing cache object <digest>",
    // "corrupted cache object <digest>"), and a corrupted one is removed: the caller
    // treats both as a cache miss. `memo` may be null (then everything is hashed).
    util::Result<RestoreOutcome> restore(std::string_view digest, const std::filesystem::path& dest,
                                         bool executable, FileDigests* memo);

    bool contains(std::string_view digest) const;

    // Removes an object; one that is not there is not an error.
    util::Status remove(std::string_view digest);

    // Every object (files under ROOT/objects named like one), in no particular order.
    util::Result<std::vector<ObjectInfo>> list() const;

    // Removes temporary files (of puts that crashed) last written before `cutoff_ms`
    // (unix ms). Returns the bytes freed.
    util::Result<std::uint64_t> remove_temp_files_before(std::int64_t cutoff_ms);

  private:
    explicit ObjectStore(std::filesystem::path root) : root_(std::move(root)) {}
    std::filesystem::path objects_dir() const { return root_ / "objects"; }
    std::filesystem::path temp_dir() const { return root_ / "tmp"; }

    std::filesystem::path root_;
};

}  // namespace sluice::cache
