// Running stage processes: what to run (ProcessSpec), how it ended (ProcessOutcome), and
// the ProcessRunner seam the engine drives. The real runner is exec::Executor.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runner/util/error.hpp"

namespace sluice::exec {

using Millis = std::chrono::milliseconds;
using Environment = std::vector<std::pair<std::string, std::string>>;

struct ProcessSpec {
    // argv[0] is looked up in the PATH of `env` when it has no '/'.
    std::vector<std::string> argv;
    // The complete environment of the child: nothing is inherited from the runner.
    Environment env;
    std::filesystem::path cwd;
    Millis timeout{0};        // 0: none
    Millis grace{5000};       // between SIGTERM and SIGKILL on timeout or cancel
};

enum class Stream { out, err };

struct ProcessOutcome {
    int exit_code = -1;       // valid when signal == 0
    int signal = 0;           // the signal that ended the command, 0 if it exited
    bool timed_out = false;
    bool cancelled = false;
    bool start_failed = false;  // e.g. command not found; message says why
    std::string message;      // human-readable reason when not ok()
    Millis duration{0};
    long max_rss_kb = 0;      // peak resident memory of the command's tree
    double user_seconds = 0;
    double system_seconds = 0;

    bool ok() const {
        return !start_failed && !timed_out && !cancelled && signal == 0 && exit_code == 0;
    }
};

using ProcessId = std::uint64_t;
using OutputHandler = std::function<void(Stream, std::string_view)>;
using ExitHandler = std::function<void(ProcessId, const ProcessOutcome&)>;

class ProcessRunner {
public:
    virtual ~ProcessRunner() = default;

    // Starts spec; output arrives through on_output, the end through on_exit (each
    // exactly once, from inside wait_until). A failure to start is also reported
    // through on_exit (start_failed), so callers have one path.
    virtual ProcessId start(const ProcessSpec& spec, OutputHandler on_output,
                            ExitHandler on_exit) = 0;

    // SIGTERM to the process's whole tree, SIGKILL after the grace period.
    virtual void cancel(ProcessId id) = 0;

    // Dispatches output and exits until at least one process ended, the deadline
    // passed, or the runner was asked to stop (SIGINT, SIGTERM, SIGHUP). Returns at once
    // when nothing is running and no deadline is given.
    virtual void wait_until(std::optional<std::chrono::steady_clock::time_point> deadline) = 0;

    // True once SIGINT, SIGTERM or SIGHUP reached the runner (Ctrl-C on `sluice run`).
    virtual bool stop_requested() const = 0;

    virtual std::size_t running() const = 0;
};

}  // namespace sluice::exec
