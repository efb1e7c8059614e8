// Durations as people read them: "1.2s", "3m04s", "1h02m".
#pragma once

#include <cstdint>
#include <string>

namespace sluice::util {

std::string format_duration(std::int64_t ms);

}  // namespace sluice::util
