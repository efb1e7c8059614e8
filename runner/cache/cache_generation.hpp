// The cache index's generation: a token in STATE/cache/generation that changes after
// every change to what the index says of an existing key (an entry stored again,
// entries removed by `cache gc`). Whatever remembers the index's answers (the run
// memo, run_memo.hpp) keeps the token it read BEFORE asking, and trusts its answers
// only while the token is still the same. The token is changed after the change is
// committed, so a reader never pairs a new token with old answers.
#pragma once

#include <filesystem>
#include <string>

#include "runner/util/error.hpp"

namespace sluice::cache {

// The current token ("" when there is none yet: nothing was ever changed).
std::string read_generation(const std::filesystem::path& cache_root);

// Replaces the token by a new, unique one (atomically).
util::Status next_generation(const std::filesystem::path& cache_root);

}  // namespace sluice::cache
