// Copying a file's bytes between descriptors the cheapest way the file system offers:
// a reflink (shared extents, ioctl FICLONE) on btrfs/XFS, else an in-kernel copy
// (copy_file_range), else read/write. Linux-specific code lives here only.
#pragma once

#include <filesystem>

#include "runner/util/error.hpp"

namespace sluice::cache {

enum class CopyMethod { reflink, kernel_copy, read_write };

// Makes `to` (an empty file, e.g. a fresh temporary file) a reflink of `from`. False
// when the file systems cannot share extents (ext4, tmpfs, across devices, ...).
bool try_reflink(int from_fd, int to_fd);

// Copies all of `from` (from offset 0) into the empty file `to`. The paths are for
// messages only.
util::Result<CopyMethod> copy_file_contents(int from_fd, int to_fd,
                                            const std::filesystem::path& from,
                                            const std::filesystem::path& to);

}  // namespace sluice::cache
