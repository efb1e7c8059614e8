// Who owns a run, in a form that survives pid reuse and reboots: the pid, the
// process's start time (field 22 of /proc/PID/stat, clock ticks since boot) and the
// boot id. A pid alone would make a new, unrelated process look like a live runner.
// Linux-specific (/proc), so it lives in its own file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sluice::store {

struct ProcessIdentity {
    int pid = 0;
    std::int64_t start_ticks = 0;  // 0 when /proc could not tell
    std::string boot_id;           // empty when unknown
};

// What /proc/PID/stat says about a process.
struct ProcessStat {
    char state = '?';  // R, S, D, Z (zombie), X (dead), ...
    std::int64_t start_ticks = 0;
};

// Reads /proc/PID/stat; empty when there is no such process (or it cannot be read).
std::optional<ProcessStat> read_process_stat(int pid);

// /proc/sys/kernel/random/boot_id, empty when unreadable.
std::string read_boot_id();

// This process, now (the pid changes across fork, so this is not cached here).
ProcessIdentity current_process(const std::string& boot_id);

// Whether `owner` still runs: same boot, pid present, same start time, not a zombie.
// Unknown parts are not held against it (no /proc: falls back to kill(pid, 0)), since
// calling a live runner dead would let a second runner take over its run.
bool process_alive(const ProcessIdentity& owner, const std::string& current_boot_id);

}  // namespace sluice::store
