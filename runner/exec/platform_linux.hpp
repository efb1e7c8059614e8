// The Linux-specific pieces the executor needs, kept apart from the portable code.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>

#include "runner/util/error.hpp"

namespace sluice::exec::platform {

// Marks every descriptor >= first close-on-exec, so a child inherits only what was placed
// below first (stdin, stdout, stderr). Async-signal-safe and allocation-free: it runs in the
// child between fork and exec. close_range(2) when the kernel has it, else /proc/self/fd read
// with getdents64. Marking instead of closing keeps Boost.Process's exec-error pipe working.
bool mark_cloexec_from(int first) noexcept;

// The running executable (/proc/self/exe).
util::Result<std::filesystem::path> current_executable();

// A thread's scheduling attributes (the kernel's struct sched_attr, which glibc 2.36 does not
// declare), to give back later.
struct Scheduling {
    std::uint32_t size = 0;
    std::uint32_t policy = 0;
    std::uint64_t flags = 0;
    std::int32_t nice = 0;
    std::uint32_t priority = 0;
    std::uint64_t runtime = 0;  // SCHED_OTHER/BATCH: the EEVDF slice (Linux 6.12+); 0: default
    std::uint64_t deadline = 0;
    std::uint64_t period = 0;
    std::uint32_t util_min = 0;
    std::uint32_t util_max = 0;
};

// Asks the scheduler to give the calling thread short slices (SCHED_OTHER and SCHED_BATCH with
// a nice of 0 or more only; policy and nice are kept): EEVDF (Linux 6.12+) then lets it preempt
// a running task as soon as it wakes up, instead of queueing it behind that task's slice.
// SCHED_RESET_ON_FORK gives the threads and processes it creates the default slice. Returns
// what to give back with restore_scheduling(), or nullopt when nothing was changed. Older
// kernels accept the call and ignore the slice.
std::optional<Scheduling> ask_for_short_slices(std::chrono::nanoseconds slice) noexcept;

// Sets the calling thread's scheduling attributes.
void restore_scheduling(const Scheduling& scheduling) noexcept;

}  // namespace sluice::exec::platform
