// Sizes as people write them (`500M`, `10G`, `2KiB`) and as sluice prints them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runner/util/error.hpp"

namespace sluice::cache {

// A number of bytes: digits with an optional fraction (`1.5G`), then an optional unit,
// case-insensitive and optionally separated by spaces: B; K, M, G, T (powers of 1000,
// as ccache and Kubernetes read them; KB, MB, ... the same); Ki, Mi, Gi, Ti (powers of
// 1024; KiB, MiB, ... the same). ErrorCode::bad_input saying what is wrong otherwise,
// or when the result is not a whole number of bytes or does not fit 64 bits.
util::Result<std::uint64_t> parse_size(std::string_view text);

// A size for people: `0 B`, `512 B`, `1.5 KiB`, `12.3 MiB`, `4.0 GiB`.
std::string format_size(std::uint64_t bytes);

}  // namespace sluice::cache
