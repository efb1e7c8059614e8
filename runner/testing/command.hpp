// Running the real sluice binary (or any command) from a test, as a user would.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sluice::testing {

struct CommandResult {
    int exit_code = -1;      // -1 when killed by a signal
    int signal = 0;
    std::string out;
    std::string err;
};

struct CommandOptions {
    std::filesystem::path cwd;                    // default: the current directory
    std::map<std::string, std::string> env;       // added to (or replacing) the test's env
};

// Runs argv to completion; stdout and stderr are captured whole.
CommandResult run_command(const std::vector<std::string>& argv, const CommandOptions& options = {});

// A started command the test controls (e.g. to SIGKILL it mid-run).
class Background {
public:
    Background(const std::vector<std::string>& argv, const CommandOptions& options = {});
    ~Background();
    Background(const Background&) = delete;
    Background& operator=(const Background&) = delete;
    int pid() const { return pid_; }
    // Waits for the end; returns the result with output captured so far.
    CommandResult wait();

private:
    int pid_ = -1;
    std::filesystem::path out_;
    std::filesystem::path err_;
    bool waited_ = false;
};

// A started command whose stdout is a pipe the test reads line by line as it comes, as
// `sluice run | tee log` or `| head -3` would (stderr goes to a file).
class PipedCommand {
public:
    PipedCommand(const std::vector<std::string>& argv, const CommandOptions& options = {});
    ~PipedCommand();
    PipedCommand(const PipedCommand&) = delete;
    PipedCommand& operator=(const PipedCommand&) = delete;
    int pid() const { return pid_; }
    // The next whole line (without its newline), as soon as the command wrote it; nullopt
    // at the end of its output or when nothing came within `timeout`.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::seconds(30));
    // Closes the reading end: the command's next write to stdout fails (EPIPE/SIGPIPE).
    void close_output();
    // Waits for the end; out is what was not read yet (the rest of the pipe, when open).
    CommandResult wait();

private:
    int pid_ = -1;
    int out_fd_ = -1;
    std::string buffer_;
    std::filesystem::path err_;
    bool waited_ = false;
};

// The path of the built sluice binary.
std::string sluice_binary();

}  // namespace sluice::testing
