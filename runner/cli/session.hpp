// What every subcommand starts from: the state directory and the run store, opened
// with runs of dead runners already marked `interrupted`.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

#include "runner/engine/state_dir.hpp"
#include "runner/store/store.hpp"

namespace sluice::cli {

struct GlobalOptions {
    std::string state;       // --state DIR (empty: SLUICE_HOME, then the default)
    bool no_color = false;   // --no-color (NO_COLOR is honoured too)
};

struct Session {
    engine::StateDir state;
    store::Store store;
};

// The state directory (--state, SLUICE_HOME, or the project's .sluice/), created when
// missing, without opening the run store.
util::Result<engine::StateDir> open_state(const GlobalOptions& options,
                                          const std::filesystem::path& project_dir);

// What a command does with the run store.
enum class StoreUse {
    write,  // it records something: the store must open for writing
    read,   // it only reads (runs, show, logs): a store that cannot be written (a full
            // disk) is opened read-only instead, with a warning
};

// The state directory and its run store; marks runs whose runner died as interrupted
// (for StoreUse::read, a failure to mark them is a warning: they show as running).
util::Result<Session> open_session(const GlobalOptions& options,
                                   const std::filesystem::path& project_dir,
                                   StoreUse use = StoreUse::write);

// Whether to colour output written to fd.
bool use_color(const GlobalOptions& options, int fd);

// Prints an error as `sluice: message` (or `FILE:LINE:COL: message`) to stderr and
// returns the exit status its code maps to.
int report_error(const util::Error& error);

// A Unix time in milliseconds as local "YYYY-MM-DD HH:MM:SS" ("-" for 0).
std::string local_time(std::int64_t ms);

// Parses a run id argument ("12"); nullopt when it is not one.
std::optional<store::RunId> parse_run_id(const std::string& text);

}  // namespace sluice::cli
