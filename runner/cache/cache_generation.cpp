// The cache index's generation token (see cache_generation.hpp).
#include "runner/cache/cache_generation.hpp"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>

#include "runner/util/atomic_file.hpp"

namespace sluice::cache {
namespace {
std::filesystem::path token_file(const std::filesystem::path& cache_root) {
    return cache_root / "generation";
}
}  // namespace

std::string read_generation(const std::filesystem::path& cache_root) {
    std::ifstream in(token_file(cache_root));
    std::string token;
    if (in) std::getline(in, token);
    return token;
}

util::Status next_generation(const std::filesystem::path& cache_root) {
    std::random_device random;
    std::ostringstream token;
    token << ::getpid() << '-'
          << std::chrono::system_clock::now().time_since_epoch().count() << '-' << std::hex
          << random() << random();
    return util::write_file_atomically(token_file(cache_root), token.str() + "\n");
}

}  // namespace sluice::cache
