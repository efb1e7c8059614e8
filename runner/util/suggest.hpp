// "Did you mean ...?": finds the known word a mistyped one was probably meant to be, so
// error messages about unknown keys, stages and names can suggest the fix.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::util {

// Optimal string alignment distance: insertions, deletions, substitutions and swaps of
// two adjacent characters each cost 1 (a swap is the commonest typo: `trian`).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a likely typo (case is
// ignored); nullopt when nothing is close. Ties go to the earlier candidate.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string_view> candidates);
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string> candidates);

// "; did you mean `x`?" for the closest candidate, or "" when nothing is close.
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);
std::string did_you_mean(std::string_view word, std::span<const std::string> candidates);

}  // namespace sluice::util
