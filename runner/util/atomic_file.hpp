// Writing a file so that readers see the old file or the whole new one, never half:
// a temporary file beside it, then rename(2) over it.
#pragma once

#include <filesystem>
#include <string_view>

#include "runner/util/error.hpp"

namespace sluice::util {

// Writes text to path atomically (creating parent directories), the new file created
// with `mode` (before the umask). On failure nothing is left behind and the old file,
// if any, is untouched.
Status write_file_atomically(const std::filesystem::path& path, std::string_view text,
                             unsigned mode = 0644);

}  // namespace sluice::util
