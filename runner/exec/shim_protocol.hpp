// The protocol between the executor and the stage shim (sluice-shim): the shim's command line,
// the datagrams of its fork server and lanes, and the status it reports. Constants only,
// because the shim includes it too and stays libc-only; the executor's side (building the
// command line, reading the status back) is in runner/exec/shim_client.hpp and executor.cpp.
//
//   sluice-shim --status FILE [--grace-ms N] [--parent-pid PID] [--cwd DIR] -- ARGV...
//
// The shim leads its own process group (off the runner's terminal), is a child subreaper, runs
// ARGV (execvp with the PATH of its own environment, which is the stage's) in DIR (chdir in
// the child), forwards SIGTERM/SIGINT/SIGHUP to the whole tree, kills leftovers when the
// command ends, reaps everything, and only then writes FILE (atomically: FILE.tmp, then
// rename) and exits.
//
// Fork server and lanes. Starting a program costs about a millisecond of CPU even when it does
// nothing (measured on a VM), so a stage that needs two (the shim, then the command) costs twice
// what it costs ninja; and every process hop on a stage's path is a wake-up, which is
// expensive in a VM. The executor therefore starts one shim per runner as a fork server, which
// forks (no exec) long-lived *lanes*; each lane runs one stage at a time, and the runner talks
// to it directly:
//
//   sluice-shim --serve [--parent-pid PID]          stdin: a SOCK_SEQPACKET socket
//
// Requests are datagrams, fields separated by NUL bytes. To the server:
//
//   lane ID                        + SCM_RIGHTS: the lane's socket    fork a lane on that socket
//   kill ID                        last resort: SIGKILL to everything below lane ID, then to it
//
// To a lane, on its socket:
//
//   run ID GRACE_MS DRAIN_MS CWD ARGC ARG... ENVC NAME=VALUE...
//   term ID                        end stage ID's tree as SIGTERM would (ignored for another ID)
//
// and from a lane, one datagram each, KIND NUL PAYLOAD:
//
//   out BYTES | err BYTES          the stage's output, at most k_output_chunk bytes at a time
//   status TEXT                    the status (below), after the last of the stage's output
//
// The runner sends "lane" and the lane's first "run" back to back (the run waits in the
// socket), so a new lane costs the runner no round trip. For each "run", a lane guarantees
// what a shim started for one stage does:
//  - the command gets exactly the request's environment (execvp looks ARGV up in its PATH; the
//    lane's environ is the request's list while the command starts, and empty otherwise), its
//    working directory (chdir in the child: a missing one is chdir_errno, nothing ran), stdin
//    from /dev/null, default signal handling, the lane's scheduling but the default slice;
//  - the command leads a process group of its own, with PR_SET_PDEATHSIG (SIGKILL) on the lane;
//  - the lane is the stage's subreaper and never has children between stages, so the orphans
//    it adopts (background jobs, setsid'd daemons) are that stage's; it forwards termination
//    ("term", or SIGTERM/SIGINT/SIGHUP to the lane) to the whole tree, SIGKILLs it after
//    GRACE_MS, and when the command ends it ends the leftovers (grace capped to
//    k_leftover_grace_cap_ms);
//  - resource use is the stage's own: wait4's rusage of every process the lane reaps during
//    the stage (the command, with what it reaped itself, and each adopted orphan), times
//    added up, max_rss_kb the largest; nothing is counted twice or carried over;
//  - the command's stdout and stderr are pipes of the lane's, fresh for each stage; the lane
//    relays them and sends the status once the tree is reaped and both pipes are at EOF. A
//    pipe still open DRAIN_MS after the tree is gone is held by a process that escaped (say it
//    was handed the descriptor): the lane stops reading it and says output_cut.
// A lane ends after the stage it runs (or at once when idle) on SIGTERM/SIGINT/SIGHUP
// (PR_SET_PDEATHSIG on the server, or the server closing) or when its socket closes; a status
// sent before that says "lane_ends". A stage the server could not fork a lane for gets a status
// with only spawn_errno. When its socket closes (the runner ended or died) or it gets SIGTERM,
// the server sends SIGTERM to every lane, waits for them and exits; a lane dies with the
// server (PR_SET_PDEATHSIG, SIGTERM), and with it its stage's tree.
//
// The status (a file, or a lane's datagram) is text, one "key value" per line, after a first
// line naming the format:
//
//   sluice-shim-status 1
//   exit 0              | signal 9          how the command ended (exactly one of the two)
//   exec_errno 2                            set when ARGV could not be executed (then exit 127/126)
//   chdir_errno 2                           set when DIR could not be entered (nothing ran)
//   spawn_errno 11                          the fork server could not fork the lane
//   terminated_by 15                        the signal that asked the shim to end the tree ("term"
//                                           counts as SIGTERM)
//   leftovers 3                             processes still alive when the command ended
//   max_rss_kb 10240                        peak RSS of the largest process of the tree
//   user_us 1234                            CPU time of the whole tree, microseconds
//   system_us 567
//   output_cut 1                            a lane stopped reading output an escaped process held
//   lane_ends 1                             the lane ends after this status: send it no more
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

inline constexpr std::string_view k_request_lane = "lane";
inline constexpr std::string_view k_request_run = "run";
inline constexpr std::string_view k_request_term = "term";
inline constexpr std::string_view k_request_kill = "kill";
// The largest "run" request a lane takes; the executor runs a stage with a bigger command line
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
inline constexpr std::string_view k_key_output_cut = "output_cut";
inline constexpr std::string_view k_key_lane_ends = "lane_ends";
inline constexpr std::string_view k_key_end = "end";

// What a lane sends the runner: KIND NUL PAYLOAD, one datagram each.
inline constexpr std::string_view k_datagram_out = "out";        // a chunk of stdout
inline constexpr std::string_view k_datagram_err = "err";        // a chunk of stderr
inline constexpr std::string_view k_datagram_status = "status";  // the status, last
// The largest output chunk a lane sends, and so (with its kind) the largest datagram the runner
// must take.
inline constexpr std::size_t k_output_chunk = 64 * 1024;
inline constexpr std::size_t k_max_output_datagram = k_output_chunk + 8;

// Exit statuses of the shim itself, shell-like, for a human reading `ps` or a core dump; the
// executor reads the status file instead.
inline constexpr int k_exit_usage = 125;           // bad command line, or the runner was gone
inline constexpr int k_exit_cannot_execute = 126;  // found but not executable, or cwd missing
inline constexpr int k_exit_not_found = 127;       // no such command in PATH

// Between SIGTERM and SIGKILL for processes left behind by a command that ended normally: the
// stage is over, so the grace is capped to keep a stray daemon from delaying the pipeline.
inline constexpr long k_leftover_grace_cap_ms = 1000;

inline constexpr long k_default_grace_ms = 5000;

// The scheduler slice a lane asks for (its commands get the default back): short, so that its
// brief wake-ups run at once instead of after a command's slice.
inline constexpr unsigned long long k_lane_slice_ns = 100'000;

}  // namespace sluice::exec::shim
