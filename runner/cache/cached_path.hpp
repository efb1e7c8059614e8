// One path a cached stage produced, as the cache index keeps it: a file (by content
// digest), a symbolic link (by its target) or an empty directory.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runner/util/error.hpp"

namespace sluice::cache {

struct CachedPath {
    enum class Type { file, symlink, dir };

    std::string path;  // relative to the workspace, '/'-separated
    Type type = Type::file;
    std::string digest;       // file: SHA-256 of the content, 64 lowercase hex digits
    std::uint64_t size = 0;   // file
    bool executable = false;  // file
    std::string target;       // symlink: the link's target, exactly as it was written

    bool operator==(const CachedPath&) const = default;
};

std::string_view type_name(CachedPath::Type type);  // "file", "symlink", "dir"
util::Result<CachedPath::Type> parse_type(std::string_view name);

// True for 64 lowercase hex digits: a content digest or a stage key.
bool is_digest(std::string_view text);

// A path that stays inside the workspace: relative, '/'-separated, no empty, `.` or
// `..` components. ErrorCode::bad_input otherwise, naming the path.
util::Status check_relative_path(std::string_view path);

// Checks one CachedPath as a whole (its path, and a digest for a file, a target for a
// symlink), ErrorCode::bad_input naming what is wrong.
util::Status check_cached_path(const CachedPath& path);

}  // namespace sluice::cache
