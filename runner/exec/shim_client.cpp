// The executor's side of the shim protocol: locating the shim, its command line, its status.
#include "runner/exec/shim_client.hpp"

#include <unistd.h>

#include <charconv>
#include <cstdlib>

#include "runner/exec/executor.hpp"
#include "runner/exec/platform_linux.hpp"
#include "runner/exec/shim_protocol.hpp"

namespace sluice::exec {

namespace {

util::Result<std::filesystem::path> executable_file(std::filesystem::path path,
                                                    std::string_view origin) {
    if (::access(path.c_str(), X_OK) != 0) {
        return util::fail(util::ErrorCode::not_found, "the stage shim " + path.string() + " (" +
                                                          std::string(origin) +
                                                          ") is missing or not executable");
    }
    return path;
}

template <class T>
bool parse_number(std::string_view text, T& out) {
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
    return error == std::errc{} && end == text.data() + text.size();
}

}  // namespace

util::Result<std::filesystem::path> find_shim() {
    const char* override_path = std::getenv(std::string(k_shim_env).c_str());
    if (override_path != nullptr && *override_path != '\0') {
        return executable_file(std::filesystem::absolute(override_path), "from $SLUICE_SHIM");
    }
    auto self = platform::current_executable();
    if (!self) return std::unexpected(self.error());
    return executable_file(self->parent_path() / k_shim_name, "next to " + self->string());
}

std::vector<std::string> shim_arguments(const ProcessSpec& spec, const std::filesystem::path& cwd,
                                        const std::filesystem::path& status_file, int parent_pid) {
    std::vector<std::string> args;
    args.reserve(spec.argv.size() + 9);
    args.emplace_back(shim::k_opt_status);
    args.push_back(status_file.string());
    args.emplace_back(shim::k_opt_grace_ms);
    args.push_back(std::to_string(spec.grace.count() < 0 ? 0 : spec.grace.count()));
    args.emplace_back(shim::k_opt_parent_pid);
    args.push_back(std::to_string(parent_pid));
    if (!cwd.empty()) {
        args.emplace_back(shim::k_opt_cwd);
        args.push_back(cwd.string());
    }
    args.emplace_back(shim::k_end_of_options);
    args.insert(args.end(), spec.argv.begin(), spec.argv.end());
    return args;
}

std::optional<ShimStatus> parse_shim_status(std::string_view text) {
    ShimStatus status;
    bool first = true;
    bool complete = false;
    while (!text.empty()) {
        auto newline = text.find('\n');
        if (newline == std::string_view::npos) return std::nullopt;  // cut short
        std::string_view line = text.substr(0, newline);
        text.remove_prefix(newline + 1);
        if (first) {
            if (line != shim::k_status_magic) return std::nullopt;
            first = false;
            continue;
        }
        if (line == shim::k_key_end) {
            complete = true;
            break;
        }
        auto space = line.find(' ');
        if (space == std::string_view::npos) continue;  // unknown line from a newer shim
        std::string_view key = line.substr(0, space);
        std::string_view value = line.substr(space + 1);
        std::int64_t number = 0;
        if (!parse_number(value, number)) continue;
        if (key == shim::k_key_exit) {
            status.exit_code = static_cast<int>(number);
        } else if (key == shim::k_key_signal) {
            status.signal = static_cast<int>(number);
        } else if (key == shim::k_key_exec_errno) {
            status.exec_errno = static_cast<int>(number);
        } else if (key == shim::k_key_chdir_errno) {
            status.chdir_errno = static_cast<int>(number);
        } else if (key == shim::k_key_spawn_errno) {
            status.spawn_errno = static_cast<int>(number);
        } else if (key == shim::k_key_terminated_by) {
            status.terminated_by = static_cast<int>(number);
        } else if (key == shim::k_key_leftovers) {
            status.leftovers = static_cast<long>(number);
        } else if (key == shim::k_key_max_rss_kb) {
            status.max_rss_kb = static_cast<long>(number);
        } else if (key == shim::k_key_user_us) {
            status.user_us = number;
        } else if (key == shim::k_key_system_us) {
            status.system_us = number;
        } else if (key == shim::k_key_output_cut) {
            status.output_cut = number != 0;
        } else if (key == shim::k_key_lane_ends) {
            status.lane_ends = number != 0;
        }
    }
    if (!complete) return std::nullopt;
    return status;
}

}  // namespace sluice::exec
