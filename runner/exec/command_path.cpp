// PATH lookups for stage commands.
#include "runner/exec/command_path.hpp"

#include <sys/stat.h>
#include <unistd.h>

namespace sluice::exec {

std::optional<std::string> find_in_path(const std::string& name, const std::string& path) {
    if (name.empty() || name.find('/') != std::string::npos) return std::nullopt;
    std::size_t start = 0;
    while (start <= path.size()) {
        std::size_t end = path.find(':', start);
        if (end == std::string::npos) end = path.size();
        std::string dir = path.substr(start, end - start);
        // A relative PATH entry depends on the stage's directory: leave those to execvp.
        if (!dir.empty() && dir.front() == '/') {
            std::string candidate = dir + "/" + name;
            struct stat st {};
            if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
                ::access(candidate.c_str(), X_OK) == 0) {
                return candidate;
            }
        } else {
            return std::nullopt;
        }
        start = end + 1;
    }
    return std::nullopt;
}

std::optional<std::string> CommandPathCache::find(const std::string& name, const std::string& path) {
    std::string key = path;
    key.push_back('\0');
    key += name;
    if (auto it = hits_.find(key); it != hits_.end()) return it->second;
    auto found = find_in_path(name, path);
    if (found) hits_.emplace(std::move(key), *found);
    return found;
}

}  // namespace sluice::exec
