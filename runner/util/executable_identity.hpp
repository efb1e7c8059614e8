// What identifies this sluice executable: what changes when it is rebuilt (device,
// inode, size and mtime of /proc/self/exe). Memos written by one build (remembered
// pipelines, remembered runs) are never read by another.
#pragma once

#include <string>

namespace sluice::util {

// "" when /proc/self/exe cannot be read (then nothing is remembered).
std::string executable_identity();

}  // namespace sluice::util
