// The access file's text: JSON with a format version, read strictly (a file this
// sluice does not fully understand is an error, never silently rewritten) and
// written with a stable field order so diffs of it stay readable.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "runner/access/access_model.hpp"
#include "runner/util/error.hpp"

namespace sluice::access {

// The snapshot in `text`. Errors are ErrorCode::io and name `path` (with line and
// column for a JSON syntax error): a corrupted file, a version newer than
// k_access_file_version, a field of the wrong type, a bad name, a duplicate user or
// token id, an unknown key derivation.
util::Result<AccessSnapshot> parse_access_file(std::string_view text,
                                               const std::filesystem::path& path);

// The file's text for `snapshot` (always written as k_access_file_version).
std::string format_access_file(const AccessSnapshot& snapshot);

}  // namespace sluice::access
