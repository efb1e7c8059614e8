// The operating-system side of a supervised service: starting it in a session of its own
// (so it and its children form one process group the supervisor can signal), ending that
// group, picking a free loopback port, describing how a process ended. Linux only.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "runner/util/error.hpp"

namespace sluice::deploy {

struct ServiceLaunch {
    std::vector<std::string> argv;  // argv[0] is looked up in the PATH of env when it has no '/'
    std::vector<std::pair<std::string, std::string>> env;  // the complete environment
    std::filesystem::path cwd;
    std::filesystem::path log;  // stdout and stderr are appended here
};

// Forks and execs the service (stdin /dev/null, its own session and process group, no
// descriptor of the caller's but 0-2). An exec that fails is an error here (through a
// close-on-exec pipe), not a process that exits 127 later.
util::Result<pid_t> spawn_service(const ServiceLaunch& launch);

// Sends sig to the process group pgid (ESRCH ignored).
void signal_group(pid_t pgid, int sig);

// Whether any process of the group pgid still exists (zombies included).
bool group_exists(pid_t pgid);

// A TCP port on 127.0.0.1 that was free when asked (the kernel's pick).
util::Result<int> pick_free_port();

// "exited with status 1", "was killed by signal 9 (SIGKILL)", from a wait status.
std::string describe_wait_status(int status);

}  // namespace sluice::deploy
