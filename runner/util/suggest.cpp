// Edit distance and closest-match suggestions for error messages.
#include "runner/util/suggest.hpp"

#include <algorithm>
#include <cctype>

namespace sluice::util {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
    // Three rolling rows are enough: a swap looks two rows back.
    const std::size_t n = b.size();
    std::vector<std::size_t> two_back(n + 1), prev(n + 1), cur(n + 1);
    for (std::size_t j = 0; j <= n; ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= n; ++j) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                cur[j] = std::min(cur[j], two_back[j - 2] + 1);
            }
        }
        std::swap(two_back, prev);
        std::swap(prev, cur);
    }
    return prev[n];
}

std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates) {
    // A third of the word may be wrong, at least one character: `rn` -> `run` is a typo,
    // `abc` -> `env` is not.
    const std::size_t limit = std::max<std::size_t>(1, word.size() / 3);
    const std::string needle = lower(word);
    std::optional<std::string> best;
    std::size_t best_distance = limit + 1;
    for (std::string_view candidate : candidates) {
        if (candidate == word) continue;  // an exact match is not a suggestion
        std::size_t d = edit_distance(needle, lower(candidate));
        if (d < best_distance) {
            best_distance = d;
            best = std::string(candidate);
        }
    }
    return best;
}

std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string> candidates) {
    std::vector<std::string_view> views(candidates.begin(), candidates.end());
    return closest_match(word, views);
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
    auto best = closest_match(word, candidates);
    return best ? "; did you mean `" + *best + "`?" : std::string();
}

std::string did_you_mean(std::string_view word, std::span<const std::string> candidates) {
    std::vector<std::string_view> views(candidates.begin(), candidates.end());
    return did_you_mean(word, views);
}

}  // namespace sluice::util
