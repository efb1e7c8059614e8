// Opening the state directory and store for a subcommand.
#include "runner/cli/session.hpp"

#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <iostream>

namespace sluice::cli {

util::Result<engine::StateDir> open_state(const GlobalOptions& options,
                                          const std::filesystem::path& project_dir) {
    std::optional<std::filesystem::path> explicit_dir;
    if (!options.state.empty()) explicit_dir = options.state;
    std::optional<std::filesystem::path> env_dir;
    if (const char* home = std::getenv("SLUICE_HOME"); home != nullptr && *home != '\0') {
        env_dir = home;
    }
    return engine::open_state_dir(explicit_dir, env_dir, project_dir);
}

util::Result<Session> open_session(const GlobalOptions& options,
                                   const std::filesystem::path& project_dir, StoreUse use) {
    auto state = open_state(options, project_dir);
    if (!state) return std::unexpected(state.error());
    auto store = store::Store::open(state->database());
    if (!store && use == StoreUse::read) {
        // Opening writes (the WAL's index, a migration): on a full disk it fails, yet
        // what the store holds can still be read.
        auto read_only = store::Store::open_read_only(state->database());
        if (!read_only) return std::unexpected(store.error());  // the first says why
        std::cerr << "sluice: warning: the run store cannot be written ("
                  << store.error().message << "); showing what it holds\n";
        return Session{std::move(*state), std::move(*read_only)};
    }
    if (!store) return std::unexpected(store.error());
    auto marked = store->mark_interrupted();
    if (!marked) {
        if (use != StoreUse::read) return std::unexpected(marked.error());
        std::cerr << "sluice: warning: runs whose runner is gone could not be marked "
                     "interrupted ("
                  << marked.error().message << "); they show as running\n";
        marked.emplace();
    }
    for (auto id : *marked) {
        std::cerr << "sluice: run " << id
                  << " was interrupted (its runner is gone); `sluice resume " << id
                  << "` finishes it\n";
    }
    return Session{std::move(*state), std::move(*store)};
}

bool use_color(const GlobalOptions& options, int fd) {
    if (options.no_color) return false;
    const char* no_color = std::getenv("NO_COLOR");
    if (no_color != nullptr && *no_color != '\0') return false;
    return isatty(fd) != 0;
}

int report_error(const util::Error& error) {
    std::string text = error.to_string();
    if (!error.where.known()) text = "sluice: " + text;
    std::cerr << text << "\n";
    switch (error.code) {
        case util::ErrorCode::bad_input:
        case util::ErrorCode::not_found:
        case util::ErrorCode::conflict:
            return util::exit_status::k_bad_input;
        default:
            return util::exit_status::k_failed;
    }
}

std::string local_time(std::int64_t ms) {
    if (ms <= 0) return "-";
    std::time_t t = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    localtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

std::optional<store::RunId> parse_run_id(const std::string& text) {
    if (text.empty() || text.size() > 18) return std::nullopt;
    store::RunId id = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        id = id * 10 + (c - '0');
    }
    return id > 0 ? std::optional(id) : std::nullopt;
}

}  // namespace sluice::cli
