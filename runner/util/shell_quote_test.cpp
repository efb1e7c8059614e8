// Quoting for sh: what sh reads back is the text, whatever it holds.
#include "runner/util/shell_quote.hpp"

#include <gtest/gtest.h>

#include <cstdio>

namespace sluice::util {
namespace {

std::string echoed_by_sh(const std::string& text) {
    std::string command = "printf '%s' " + shell_quote(text);
    FILE* p = ::popen(command.c_str(), "r");
    std::string out;
    char buf[256];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    ::pclose(p);
    return out;
}

TEST(ShellQuote, ShReadsBackExactlyTheText) {
    EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
    for (std::string text : {"plain", "it's", "$HOME `id` $(id) \"q\" \\ ;|&", "", "a\nb", "''"}) {
        EXPECT_EQ(echoed_by_sh(text), text) << text;
    }
}

}  // namespace
}  // namespace sluice::util
