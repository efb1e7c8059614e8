// Failures as values: the Error every fallible sluice function returns through
// std::expected, with a code, a message and (for user input) where it happened.
#pragma once

#include <expected>
#include <string>
#include <vector>

namespace sluice::util {

enum class ErrorCode {
    bad_input,    // the user's YAML, CLI arguments, a webhook body: exit status 2
    not_found,    // a run, stage or file that does not exist
    io,           // the file system or a pipe failed
    process,      // a child process could not be started or waited for
    store,        // the run store (SQLite) failed
    conflict,     // a state that forbids the operation (e.g. a run already finished)
    unavailable,  // a service (registry, server) is down, too slow, or answers garbage
    internal,     // a bug
};

// A position in a user's file; line and column are 1-based, 0 means unknown.
struct Location {
    std::string file;
    int line = 0;
    int column = 0;

    bool known() const { return line > 0; }
    std::string to_string() const;  // "FILE:LINE:COL" (or less when unknown)
};

struct Error {
    ErrorCode code = ErrorCode::internal;
    std::string message;
    Location where;

    // "FILE:LINE:COL: message" when the location is known, else the message.
    std::string to_string() const;
};

template <class T>
using Result = std::expected<T, Error>;

// An error with no value: Result<void> reads awkwardly at call sites, Status does not.
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message, Location where = {}) {
    return std::unexpected(Error{code, std::move(message), std::move(where)});
}

// Several user errors found at once (the loader reports all of a file's mistakes).
using Errors = std::vector<Error>;

// Exit statuses of the sluice command, shared by every subcommand.
namespace exit_status {
inline constexpr int k_ok = 0;
inline constexpr int k_failed = 1;
inline constexpr int k_bad_input = 2;
inline constexpr int k_waiting = 3;
inline constexpr int k_cancelled = 130;
}  // namespace exit_status

}  // namespace sluice::util
