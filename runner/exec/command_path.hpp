// Finding a command in a PATH, as execvp would, once per command and PATH: a stage's shim
// then execs the absolute path instead of trying every PATH directory for every stage.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>

namespace sluice::exec {

// The first executable regular file named `name` in the directories of `path` (a
// colon-separated list; an empty entry is the current directory); nullopt when none.
std::optional<std::string> find_in_path(const std::string& name, const std::string& path);

// find_in_path with the hits remembered (misses are not: the command may appear later).
class CommandPathCache {
public:
    std::optional<std::string> find(const std::string& name, const std::string& path);

private:
    std::unordered_map<std::string, std::string> hits_;  // key: path + '\0' + name
};

}  // namespace sluice::exec
