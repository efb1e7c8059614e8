// exec::Executor, the real ProcessRunner: runs each stage command under the stage shim
// (sluice-shim, see runner/exec/shim_protocol.hpp) and drives output, exits, timeouts and
// cancellation on one single-threaded boost::asio::io_context.
//
// Two ways to start a stage, same behaviour:
//  - fork server (default): one `sluice-shim --serve`, started with Boost.Process on the first
//    start(), forks a shim per stage without exec; the stage's end is EOF on a status pipe.
//    Half the process starts per stage, which is what keeps a no-op stage near ninja's cost.
//  - shim per stage (fallback, or fork_server = false): Boost.Process starts sluice-shim for
//    the stage; its end is found with SIGCHLD + waitpid(pid, WNOHANG), its status in a file.
//
// Threading: every member function must be called from one thread, the one that drives the
// loop through wait_until()/poll(). That thread must stay alive while stages run: the shim's
// PR_SET_PDEATHSIG fires when the *thread* that forked it ends, not only the process.
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
    // Run stages through one long-lived shim that forks a shim per stage (no exec), instead
    // of starting the shim program for each stage: half the process starts per stage. A stage
    // falls back to its own shim when the server is unavailable. See shim_protocol.hpp.
    bool fork_server = true;
    // After a shim exited, how long to wait for EOF on the output pipes. Only matters when a
    // process escaped the shim (it was SIGKILLed) and still holds them open.
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
