// The Linux-specific pieces the executor needs, kept apart from the portable code.
#pragma once

#include <filesystem>

#include "runner/util/error.hpp"

namespace sluice::exec::platform {

// Marks every descriptor >= first close-on-exec, so a child inherits only what was placed
// below first (stdin, stdout, stderr). Async-signal-safe and allocation-free: it runs in the
// child between fork and exec. close_range(2) when the kernel has it, else /proc/self/fd read
// with getdents64. Marking instead of closing keeps Boost.Process's exec-error pipe working.
bool mark_cloexec_from(int first) noexcept;

// The running executable (/proc/self/exe).
util::Result<std::filesystem::path> current_executable();

}  // namespace sluice::exec::platform
