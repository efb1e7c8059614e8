// Reading a whole file into a string with one read, for sluice's own records (remembered
// runs and pipelines, read at every run).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace sluice::util {

// The file's bytes; nullopt when it cannot be opened or read whole.
std::optional<std::string> read_whole_file(const std::filesystem::path& path);

}  // namespace sluice::util
