// The protocol between the executor and the stage shim (sluice-shim): the shim's command line
// and the status file it leaves behind. Constants only, because the shim includes it too and
// stays libc-only; the executor's side (building the command line, reading the status back)
// is in runner/exec/shim_client.hpp.
//
//   sluice-shim --status FILE [--grace-ms N] [--parent-pid PID] [--cwd DIR] -- ARGV...
//
// The shim leads its own process group (off the runner's terminal), is a child subreaper, runs
// ARGV (execvp with the PATH of its own environment, which is the stage's), forwards
// SIGTERM/SIGINT/SIGHUP to the whole tree, kills leftovers when the command ends, reaps
// everything, and only then writes FILE (atomically: FILE.tmp, then rename) and exits.
//
// Fork server. Starting a program costs about a millisecond of CPU even when it does nothing
// (measured on a VM), so a stage that needs two (the shim, then the command) costs twice what
// it costs ninja. The executor therefore starts one shim per runner as a fork server:
//
//   sluice-shim --serve [--parent-pid PID]          stdin: a SOCK_SEQPACKET socket
//
// and sends it one datagram per request, fields separated by NUL bytes:
//
//   run ID GRACE_MS CWD ARGC ARG... ENVC NAME=VALUE...   + SCM_RIGHTS: stdout, stderr, status
//   term ID                                SIGTERM to the stage's shim (grace, then SIGKILL)
//   kill ID                                SIGKILL to the stage's shim and its process group
//
// For "run" the server forks (no exec) a stage shim that does what a shim started for one
// stage does, with the request's environment, and writes its status (the format below) to the
// status descriptor instead of a file; EOF on that descriptor means the stage is over. A stage
// the server could not fork gets a status with only spawn_errno. When the socket closes (the
// runner ended or died) or the server gets SIGTERM, it sends SIGTERM to every stage's shim,
// waits for them and exits; each stage's shim also has PR_SET_PDEATHSIG on the server.
//
// The status file is text, one "key value" per line, after a first line naming the format:
//
//   sluice-shim-status 1
//   exit 0              | signal 9          how the command ended (exactly one of the two)
//   exec_errno 2                            set when ARGV could not be executed (then exit 127/126)
//   chdir_errno 2                           set when --cwd could not be entered (nothing ran)
//   spawn_errno 11                          the fork server could not fork the stage's shim
//   terminated_by 15                        the signal that asked the shim to end the tree
//   leftovers 3                             processes still alive when the command ended
//   max_rss_kb 10240                        peak RSS of the largest process of the tree
//   user_us 1234                            CPU time of the whole tree, microseconds
//   system_us 567
//   end                                     written last: a file without it is incomplete
#pragma once

#include <cstddef>
#include <string_view>

namespace sluice::exec::shim {

inline constexpr std::string_view k_opt_status = "--status";
inline constexpr std::string_view k_opt_grace_ms = "--grace-ms";
inline constexpr std::string_view k_opt_parent_pid = "--parent-pid";
inline constexpr std::string_view k_opt_cwd = "--cwd";
inline constexpr std::string_view k_end_of_options = "--";
inline constexpr std::string_view k_opt_serve = "--serve";

inline constexpr std::string_view k_request_run = "run";
inline constexpr std::string_view k_request_term = "term";
inline constexpr std::string_view k_request_kill = "kill";
// The largest request the server takes; the executor runs a stage with a bigger command line
// or environment through a shim of its own instead.
inline constexpr std::size_t k_max_request = 1024 * 1024;

inline constexpr std::string_view k_status_magic = "sluice-shim-status 1";
inline constexpr std::string_view k_key_exit = "exit";
inline constexpr std::string_view k_key_signal = "signal";
inline constexpr std::string_view k_key_exec_errno = "exec_errno";
inline constexpr std::string_view k_key_chdir_errno = "chdir_errno";
inline constexpr std::string_view k_key_spawn_errno = "spawn_errno";
inline constexpr std::string_view k_key_terminated_by = "terminated_by";
inline constexpr std::string_view k_key_leftovers = "leftovers";
inline constexpr std::string_view k_key_max_rss_kb = "max_rss_kb";
inline constexpr std::string_view k_key_user_us = "user_us";
inline constexpr std::string_view k_key_system_us = "system_us";
inline constexpr std::string_view k_key_end = "end";

// Exit statuses of the shim itself, shell-like, for a human reading `ps` or a core dump; the
// executor reads the status file instead.
inline constexpr int k_exit_usage = 125;           // bad command line, or the runner was gone
inline constexpr int k_exit_cannot_execute = 126;  // found but not executable, or cwd missing
inline constexpr int k_exit_not_found = 127;       // no such command in PATH

// Between SIGTERM and SIGKILL for processes left behind by a command that ended normally: the
// stage is over, so the grace is capped to keep a stray daemon from delaying the pipeline.
inline constexpr long k_leftover_grace_cap_ms = 1000;

inline constexpr long k_default_grace_ms = 5000;

}  // namespace sluice::exec::shim
