// Where sluice has seen each blob: for every registry, the repositories a blob was pushed
// to or pulled from (`<state>/oci/blob-locations.json`). A push to another repository of
// the same registry mounts the blob from one of them instead of uploading it again.
// A stale entry costs one refused mount and an upload, never a wrong image.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "runner/oci/digest.hpp"
#include "runner/util/error.hpp"

namespace sluice::oci {

// The repositories of `registry` where the blob is known (none when the file is missing
// or unreadable: it is only a hint).
std::vector<std::string> known_locations(const std::filesystem::path& file,
                                         const std::string& registry, const Digest& digest);

// Adds repository to the locations of these blobs (under a lock, written atomically).
util::Status record_locations(const std::filesystem::path& file, const std::string& registry,
                              const std::string& repository, const std::vector<Digest>& digests);

}  // namespace sluice::oci
