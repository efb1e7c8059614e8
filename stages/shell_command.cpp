// Building the argv of a script stage.
#include "stages/shell_command.hpp"

#include <algorithm>
#include <sstream>
#include <string_view>

namespace sluice::stages {

namespace {

// Commands only a shell can carry out (they act on the shell itself, or no program of
// that name exists): `exit 1` run directly would be "command not found: exit".
constexpr std::string_view k_shell_builtins[] = {
    ".",        ":",       "alias",    "bg",      "break",     "builtin",  "cd",     "command",
    "continue", "declare", "dirs",     "disown",  "eval",      "exec",     "exit",   "export",
    "fc",       "fg",      "getopts",  "hash",    "history",   "jobs",     "let",    "local",
    "logout",   "mapfile", "popd",     "pushd",   "read",      "readarray", "readonly", "return",
    "set",      "shift",   "shopt",    "source",  "suspend",   "times",    "trap",   "type",
    "typeset",  "ulimit",  "umask",    "unalias", "unset",     "wait",
};

}  // namespace

bool is_simple_command(const std::string& line) {
    bool any = false;
    for (char c : line) {
        bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.' || c == '/' || c == ':' || c == ',' ||
                    c == '+' || c == '@' || c == '%' || c == '=';
        if (!word && c != ' ') return false;
        any = any || word;
    }
    if (!any) return false;
    // `NAME=value cmd` assigns a variable: a shell's job.
    std::string first = line.substr(line.find_first_not_of(' '));
    first = first.substr(0, first.find(' '));
    if (std::find(std::begin(k_shell_builtins), std::end(k_shell_builtins), first) !=
        std::end(k_shell_builtins)) {
        return false;  // a builtin: the shell's job
    }
    return first.find('=') == std::string::npos;
}

std::vector<std::string> command_argv(const std::vector<std::string>& lines,
                                      const std::string& shell) {
    if (lines.size() == 1 && is_simple_command(lines[0])) {
        std::vector<std::string> argv;
        std::istringstream words(lines[0]);
        for (std::string w; words >> w;) argv.push_back(w);
        return argv;
    }
    std::string script;
    for (const auto& line : lines) script += line + "\n";
    if (shell == "bash") return {"bash", "-e", "-o", "pipefail", "-c", script};
    if (shell == "sh" || shell == "dash" || shell == "zsh" || shell == "ksh") {
        return {shell, "-e", "-c", script};
    }
    return {shell, "-c", script};
}

}  // namespace sluice::stages
