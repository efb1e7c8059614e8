// The sluice command line (placeholder while the spine is assembled).
#include "runner/cli/app.hpp"

namespace sluice::cli {

int run_cli(int, char**) { return 2; }

}  // namespace sluice::cli
