// A stage's outputs to and from the cache: storing the files, symbolic links and
// empty directories below a workspace as CachedPaths (file contents go to the object
// store), and making a workspace hold them again.
#pragma once

#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "runner/cache/cached_path.hpp"
#include "runner/cache/file_digests.hpp"
#include "runner/cache/object_store.hpp"
#include "runner/util/error.hpp"

namespace sluice::cache {

// Stores each output (a path relative to `workspace` as the pipeline names it, e.g.
// `build/`, `./model.bin`) and describes what is there: regular files by digest, size
// and executable bit; symbolic links by their target (never followed); directories
// walked recursively, recorded themselves only when empty (the others are implied by
// what they hold). Sorted by path, each path once. A missing output is
// ErrorCode::not_found; an output outside the workspace (also through a link in its
// parent directories that leads out, util::check_beneath) or of another kind (a FIFO,
// a socket) is ErrorCode::bad_input.
util::Result<std::vector<CachedPath>> store_outputs(ObjectStore& objects,
                                                    const std::filesystem::path& workspace,
                                                    std::span<const std::string> outputs);

struct RestoreCounts {
    std::size_t restored = 0;
    std::size_t unchanged = 0;
};

// Makes `workspace` (absolute; created when missing) hold `paths` again, replacing
// whatever is in the way, and leaving paths that already hold the right thing alone
// (files through `memo`, which may be null). Files not in `paths` are not removed. A
// missing or corrupted object is ErrorCode::not_found (see ObjectStore::restore): a
// cache miss. Nothing is written through a link that leads out of `workspace`: when a
// path's parent directories do (a committed `out -> /srv`), it is ErrorCode::bad_input,
// "out/f.txt resolves outside ROOT_NAME (through out -> /srv)", before anything is
// written; missing directories are created one at a time beneath it. A link or file
// where a path goes is replaced, never followed.
util::Result<RestoreCounts> restore_outputs(ObjectStore& objects,
                                            const std::filesystem::path& workspace,
                                            std::span<const CachedPath> paths, FileDigests* memo,
                                            std::string_view root_name = "the workspace");

}  // namespace sluice::cache
