// The executor's side of the shim protocol (runner/exec/shim_protocol.hpp): the command line
// that runs a stage under the shim, and reading its status file back. (find_shim() is declared
// in runner/exec/executor.hpp, beside the executor that needs it.)
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runner/exec/process.hpp"
#include "runner/util/error.hpp"

namespace sluice::exec {

// The shim's arguments (without argv[0]) for running spec's command in cwd (absolute; spec.cwd
// resolved by the executor).
std::vector<std::string> shim_arguments(const ProcessSpec& spec, const std::filesystem::path& cwd,
                                        const std::filesystem::path& status_file, int parent_pid);

// What the shim reported. exit_code and signal: at most one is set (neither when the command
// never ran: see exec_errno and chdir_errno).
struct ShimStatus {
    std::optional<int> exit_code;
    std::optional<int> signal;
    int exec_errno = 0;
    int chdir_errno = 0;
    int spawn_errno = 0;
    int terminated_by = 0;
    long leftovers = 0;
    long max_rss_kb = 0;
    std::int64_t user_us = 0;
    std::int64_t system_us = 0;
    bool output_cut = false;  // the lane stopped reading output a process that escaped held
    bool lane_ends = false;   // the lane that sent it takes no more stages
};

// nullopt when text is not a complete status (wrong format, or no final "end" line).
std::optional<ShimStatus> parse_shim_status(std::string_view text);

}  // namespace sluice::exec
