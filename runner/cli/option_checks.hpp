// CLI11 validators for sluice's integer options, with messages a person can act on
// (CLI::PositiveNumber says "not in range 0 to 1.79769e+308" and takes `1.5`). Each
// checks the text as typed, before CLI11 converts it.
#pragma once

#include <CLI/CLI.hpp>

namespace sluice::cli {

// 1, 2, 3, ... (up to INT_MAX): "must be a positive integer, got `0`".
const CLI::Validator& positive_integer();
// 0, 1, 2, ... (up to INT_MAX): "must be a whole number (0 or more), got `-1`".
const CLI::Validator& whole_number();

}  // namespace sluice::cli
