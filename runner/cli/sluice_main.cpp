// The sluice executable: everything lives in the libraries; this only hands over.
#include "runner/cli/app.hpp"

int main(int argc, char** argv) { return sluice::cli::run_cli(argc, argv); }
