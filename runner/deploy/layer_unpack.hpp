// Unpacking image layers (tar, optionally gzip/zstd-compressed) into a directory with
// libarchive, bottom layer first, as a container runtime would build a root file system:
// - whiteouts: `.wh.NAME` removes NAME from the layers below, `.wh..wh..opq` empties its
//   directory of what the layers below put there; neither marker is written;
// - no entry may leave the root: absolute names and `..` are refused, and nothing is
//   written through a symlink (ARCHIVE_EXTRACT_SECURE_SYMLINKS);
// - owners are not restored (the files belong to whoever runs sluice), modes and times are;
//   device nodes and FIFOs are skipped (an unprivileged user cannot make them).
#pragma once

#include <filesystem>

#include "runner/deploy/oci_image.hpp"
#include "runner/util/error.hpp"

namespace sluice::deploy {

// Unpacks one layer file into root (which must exist).
util::Status unpack_layer(const std::filesystem::path& layer, const std::filesystem::path& root);

// Unpacks every layer of image into root (created), bottom first.
util::Status unpack_image(const OciImage& image, const std::filesystem::path& root);

}  // namespace sluice::deploy
