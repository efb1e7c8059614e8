// How a stage's `run:` lines become an argv: a single simple command is executed
// directly (no shell, as make does); anything with shell syntax, a shell builtin
// (`exit 1`, `cd sub`, `source env.sh`, ...), or several lines, runs in the stage's shell
// with errexit, stopping at the first failing line.
#pragma once

#include <string>
#include <vector>

namespace sluice::stages {

// True when line is plain words (no quoting, expansion, redirection or operators) and
// its first word is not a shell builtin.
bool is_simple_command(const std::string& line);

std::vector<std::string> command_argv(const std::vector<std::string>& lines,
                                      const std::string& shell);

}  // namespace sluice::stages
