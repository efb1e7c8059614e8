// exec::Executor, the real ProcessRunner: runs each stage command under the stage shim
// (sluice-shim, see runner/exec/shim_protocol.hpp) and drives output, exits, timeouts and
// cancellation on one single-threaded boost::asio::io_context.
//
// Two ways to start a stage, same behaviour:
//  - lanes (default): one `sluice-shim --serve`, started with Boost.Process on the first
//    start(), forks long-lived lanes (as many as stages ever ran at once); a stage goes to an
//    idle lane as one datagram on that lane's socket, and its output and then its status come
//    back on the same socket. No process is started per stage but the command itself, and the
//    runner handles one descriptor per lane instead of pipes per stage, which is what keeps a
//    no-op stage near ninja's cost.
//  - shim per stage (fallback, or fork_server = false): Boost.Process starts sluice-shim for
//    the stage; its end is found with SIGCHLD + waitpid(pid, WNOHANG), its status in a file,
//    its output read from pipes.
//
// Threading: every member function, constructor and destructor included, must be called from
// one thread, the one that drives the loop through wait_until()/poll(). That thread must stay
// alive while stages run: the shim's PR_SET_PDEATHSIG fires when the *thread* that forked it
// ends, not only the process. By default the executor asks the scheduler for short slices for
// that thread while it exists (ExecutorOptions::short_slices).
// The executor reaps only its own children (waitpid on their pids); nothing else in the runner
// may call waitpid(-1) or set SIGCHLD to SIG_IGN, or it would steal the shims' exit statuses.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

#include "runner/exec/command_path.hpp"
#include "runner/exec/process.hpp"
#include "runner/util/error.hpp"

namespace boost::asio {
class io_context;
}

namespace sluice::exec {

inline constexpr std::string_view k_shim_name = "sluice-shim";
inline constexpr std::string_view k_shim_env = "SLUICE_SHIM";

// The stage shim: $SLUICE_SHIM when set, else sluice-shim next to the running executable
// (/proc/self/exe's directory). An error when it is missing or not executable.
util::Result<std::filesystem::path> find_shim();

struct ExecutorOptions {
    // Where shims started for one stage leave their status files; empty: a private directory
    // under $TMPDIR, made when first needed and removed by the destructor.
    std::filesystem::path status_dir;
    // Turn SIGINT, SIGTERM and SIGHUP into stop_requested(). Off when the program handles those
    // signals itself (only one party can).
    bool handle_stop_signals = true;
    // After a shim was told to end its tree (timeout, cancel), how long past the stage's grace
    // to wait before SIGKILLing the shim's process group as a last resort.
    Millis kill_margin{2000};
    // Run stages in the lanes of one long-lived fork server instead of starting the shim
    // program for each stage. A stage falls back to its own shim when the server is
    // unavailable or its request too large. See shim_protocol.hpp.
    bool fork_server = true;
    // Ask the scheduler for short slices for the thread that drives the loop (EEVDF, Linux
    // 6.12+; given back by the destructor; threads and processes it creates get the default
    // slice): its wake-ups for a stage's end then run at once instead of queueing behind a
    // command that just started. Its CPU share is unchanged. See docs/benchmarks.md.
    bool short_slices = true;
    // After a stage's tree is gone, how long to wait for EOF on its output (in the runner for a
    // shim of its own, in the lane otherwise). Only matters when a process escaped the tree
    // (its shim was SIGKILLed, or it was handed the descriptors) and still holds them open.
    Millis drain_timeout{2000};
};

class Executor final : public ProcessRunner {
public:
    // Owns its io_context.
    explicit Executor(std::filesystem::path shim, ExecutorOptions options = {});
    // Runs on the caller's io_context, which must outlive the executor.
    Executor(std::filesystem::path shim, boost::asio::io_context& io, ExecutorOptions options = {});
    // Ends whatever still runs (SIGTERM to each tree, SIGKILL after its grace) and blocks until
    // the shims are gone. on_output/on_exit are not called any more from here on.
    ~Executor() override;

    Executor(const Executor&) = delete;
    Executor& operator=(const Executor&) = delete;

    ProcessId start(const ProcessSpec& spec, OutputHandler on_output, ExitHandler on_exit) override;
    void cancel(ProcessId id) override;
    // Returns when an on_exit was delivered during this call, the deadline passed, or a stop
    // signal arrived during this call (a stop requested earlier does not make it return at once,
    // so the engine can wait for cancelled stages without spinning).
    void wait_until(std::optional<std::chrono::steady_clock::time_point> deadline) override;
    bool stop_requested() const override;
    // Processes started whose on_exit has not been delivered yet (a start failure counts until
    // its on_exit was delivered, so a loop on running() never misses it).
    std::size_t running() const override;

    // cancel() for every running process.
    void cancel_all();
    // Runs the handlers that are ready, without blocking; returns how many ran. For tests and
    // for programs that drive the io_context themselves.
    std::size_t poll();
    boost::asio::io_context& io_context();

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
    CommandPathCache command_paths_;
};

}  // namespace sluice::exec
