// Bounding a directory of memo files: keeps the most recently written ones.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string_view>

namespace sluice::util {

// Removes all but the `count` most recently written files of `dir` whose names end
// with `extension` (".cbor"). Best effort: what cannot be listed or removed stays.
void keep_newest(const std::filesystem::path& dir, std::string_view extension, std::size_t count);

}  // namespace sluice::util
