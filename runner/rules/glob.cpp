// Glob compilation and matching. Matching is a dynamic programme over (pattern token,
// text position), so `**/**/*` style patterns cannot blow up exponentially.
#include "runner/rules/glob.hpp"

#include <algorithm>

namespace sluice::rules {

Glob::Glob(std::string_view pattern) : pattern_(pattern) {
    const std::size_t n = pattern.size();
    std::size_t i = 0;
    while (i < n) {
        const char c = pattern[i];
        Token token;
        if (c == '*') {
            if (i + 1 < n && pattern[i + 1] == '*') {
                const bool at_segment_start = i == 0 || pattern[i - 1] == '/';
                const bool slash_follows = i + 2 < n && pattern[i + 2] == '/';
                if (at_segment_start && slash_follows) {
                    token.op = Op::globstar_dirs;
                    i += 3;
                } else {
                    token.op = Op::globstar;
                    i += 2;
                }
            } else {
                token.op = Op::star;
                i += 1;
            }
        } else if (c == '?') {
            token.op = Op::one_char;
            i += 1;
        } else if (c == '\\' && i + 1 < n) {
            token.ch = pattern[i + 1];
            i += 2;
        } else if (c == '[') {
            // `[` ... `]`, where a `]` right after `[` (or `[!`) is a member.
            std::size_t j = i + 1;
            if (j < n && (pattern[j] == '!' || pattern[j] == '^')) {
                token.negated = true;
                ++j;
            }
            const std::size_t first = j;
            while (j < n && (pattern[j] != ']' || j == first)) {
                char lo = pattern[j];
                char hi = lo;
                if (j + 2 < n && pattern[j + 1] == '-' && pattern[j + 2] != ']') {
                    hi = pattern[j + 2];
                    j += 2;
                }
                token.ranges.emplace_back(std::min(lo, hi), std::max(lo, hi));
                ++j;
            }
            if (j < n) {
                token.op = Op::char_class;
                i = j + 1;
            } else {  // no closing `]`: a plain `[`
                token = Token{};
                token.ch = '[';
                i += 1;
            }
        } else {
            token.ch = c;
            i += 1;
        }
        // `***` and `** **` collapse: consecutive globstars mean the same as one.
        if (token.op == Op::globstar && !tokens_.empty() && tokens_.back().op == Op::globstar) {
            continue;
        }
        tokens_.push_back(std::move(token));
    }
}

bool Glob::in_class(const Token& token, char c) {
    bool found = std::ranges::any_of(token.ranges,
                                     [c](const auto& r) { return r.first <= c && c <= r.second; });
    return found != token.negated;
}

bool Glob::matches(std::string_view text) const {
    const std::size_t n = text.size();
    // reach[j]: the tokens so far can match text[0, j).
    std::vector<char> reach(n + 1, 0);
    reach[0] = 1;
    for (const Token& token : tokens_) {
        std::vector<char> next(n + 1, 0);
        bool any = false;
        for (std::size_t j = 0; j <= n; ++j) {
            if (reach[j] == 0) continue;
            switch (token.op) {
                case Op::literal:
                    if (j < n && text[j] == token.ch) next[j + 1] = 1;
                    break;
                case Op::one_char:
                    if (j < n && text[j] != '/') next[j + 1] = 1;
                    break;
                case Op::char_class:
                    if (j < n && text[j] != '/' && in_class(token, text[j])) next[j + 1] = 1;
                    break;
                case Op::star:
                    next[j] = 1;
                    for (std::size_t k = j; k < n && text[k] != '/'; ++k) next[k + 1] = 1;
                    break;
                case Op::globstar:
                    // Everything from the first reachable position on: later ones add nothing.
                    std::fill(next.begin() + static_cast<std::ptrdiff_t>(j), next.end(), 1);
                    j = n;
                    break;
                case Op::globstar_dirs:
                    next[j] = 1;
                    for (std::size_t k = j; k < n; ++k) {
                        if (text[k] == '/') next[k + 1] = 1;
                    }
                    break;
            }
        }
        for (char r : next) any = any || r != 0;
        if (!any) return false;
        reach = std::move(next);
    }
    return reach[n] != 0;
}

bool glob_match(std::string_view pattern, std::string_view text) {
    return Glob(pattern).matches(text);
}

ListMatch match_list(std::span<const std::string> patterns, std::string_view text) {
    ListMatch result;
    if (patterns.empty()) return result;
    result.matched = std::ranges::all_of(
        patterns, [](const std::string& p) { return !p.empty() && p.front() == '!'; });
    for (const std::string& p : patterns) {
        const bool exclude = !p.empty() && p.front() == '!';
        std::string_view body = exclude ? std::string_view(p).substr(1) : std::string_view(p);
        if (Glob(body).matches(text)) {
            result.matched = !exclude;
            result.pattern = p;
        }
    }
    return result;
}

std::string format_list(std::span<const std::string> items) {
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i > 0) out += ", ";
        out += items[i];
    }
    return out + "]";
}

}  // namespace sluice::rules
