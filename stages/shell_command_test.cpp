// Which `run:` lines are executed directly and which go to the shell: plain words run
// without one, unless the first word is a shell builtin (exit, cd, export, ...), which
// only a shell can carry out.
#include "stages/shell_command.hpp"

#include <gtest/gtest.h>

namespace sluice::stages {
namespace {

using Argv = std::vector<std::string>;

TEST(ShellCommand, PlainWordsRunWithoutAShell) {
    EXPECT_TRUE(is_simple_command("python3 train.py --out model.pkl"));
    EXPECT_EQ(command_argv({"python3 train.py --out model.pkl"}, "bash"),
              (Argv{"python3", "train.py", "--out", "model.pkl"}));
    // A word that merely contains a builtin's name is a program.
    EXPECT_TRUE(is_simple_command("./exit"));
    EXPECT_TRUE(is_simple_command("exit-code-checker 1"));
}

TEST(ShellCommand, ShellBuiltinsGoToTheShell) {
    for (const char* line : {"exit 1", "exit", "cd sub", "source env.sh", ". ./env.sh",
                             "export A", "set -x", "unset A", "alias ll", "eval true",
                             "exec python3 x.py", "ulimit -n 1024", "umask 022", "trap - EXIT",
                             "wait", "read x", "shift", "return 0", ":", "  exit 2",
                             "readonly A", "local a", "declare -x A", "break", "continue",
                             "times", "hash", "command -v python3", "type python3",
                             "builtin cd", "shopt -s globstar", "pushd sub", "popd",
                             "getopts ab x", "jobs", "let a", "typeset A"}) {
        EXPECT_FALSE(is_simple_command(line)) << line;
        EXPECT_EQ(command_argv({line}, "bash"),
                  (Argv{"bash", "-e", "-o", "pipefail", "-c", std::string(line) + "\n"}))
            << line;
    }
    EXPECT_EQ(command_argv({"exit 1"}, "sh"), (Argv{"sh", "-e", "-c", "exit 1\n"}));
}

}  // namespace
}  // namespace sluice::stages
