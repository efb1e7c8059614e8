// Glob patterns for branch names and file paths, as in GitHub Actions' filter
// patterns: `*` stays inside one path segment, `**` crosses `/`, `?` is one
// character, `[abc]` / `[a-z]` / `[!abc]` a character class, `\` escapes, and a
// list of patterns may exclude with a leading `!` (the last pattern that matches
// decides).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::rules {

// One compiled pattern. Every string is a valid pattern: an unclosed `[` is a literal.
//
//   feature/*     feature/x, not feature/x/y
//   feature/**    feature/x and feature/x/y (not feature itself)
//   **/x.py       x.py, a/x.py, a/b/x.py
//   a/**/b        a/b, a/x/b, a/x/y/b
//   v[0-9].*      v1.2, not va.2
//   *.py?         a.pyc, not a.py (`?` is exactly one character, never `/`)
class Glob {
  public:
    explicit Glob(std::string_view pattern);

    bool matches(std::string_view text) const;
    const std::string& pattern() const { return pattern_; }

  private:
    enum class Op {
        literal,        // ch_
        one_char,       // `?`: any one character but `/`
        char_class,     // `[...]`: one character but `/`, in (or, negated, not in) ranges
        star,           // `*`: any run of characters without `/`
        globstar,       // `**`: any run of characters
        globstar_dirs,  // `**/` at a segment start: nothing, or any run ending in `/`
    };
    struct Token {
        Op op = Op::literal;
        char ch = 0;
        bool negated = false;
        std::vector<std::pair<char, char>> ranges;
    };

    static bool in_class(const Token& token, char c);

    std::string pattern_;
    std::vector<Token> tokens_;
};

// True when pattern matches text (compiles the pattern each time).
bool glob_match(std::string_view pattern, std::string_view text);

// The outcome of a list of patterns for one text.
struct ListMatch {
    bool matched = false;
    // The pattern that decided (as written, `!` included); empty when none matched
    // (a list of only exclusions matches what none of them excludes).
    std::string pattern;
};

// Patterns are tried in order; a match of `pattern` includes the text, a match of
// `!pattern` excludes it again, and the last pattern that matches wins. A list made
// only of exclusions starts from "included". An empty list matches nothing.
ListMatch match_list(std::span<const std::string> patterns, std::string_view text);

// "[main, develop]": a list as reasons show it.
std::string format_list(std::span<const std::string> items);

}  // namespace sluice::rules
