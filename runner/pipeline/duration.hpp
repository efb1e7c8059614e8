// Durations as users write them in sluice.yml (`500ms`, `45s`, `10m`, `1h30m`, `2d`, or a
// bare number of seconds), and back to that form for messages and `sluice show`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "runner/pipeline/model.hpp"

namespace sluice::pipeline {

// Parts run from the largest unit to the smallest, each unit at most once (`1h30m`, not
// `30m1h`). nullopt for anything else, including negative, fractional and empty values
// and values longer than 365 days.
std::optional<Millis> parse_duration(std::string_view text);

// A form parse_duration reads back exactly: 0s, 500ms, 45s, 1h30m, 2d3h, 1s500ms.
std::string format_duration(Millis duration);

}  // namespace sluice::pipeline
