#!/usr/bin/env bash
# The two set-up commands of the README:
#   ./dev.sh example   installs what is missing, builds sluice, runs examples/churn
#   ./dev.sh test      installs what is missing, builds with -Werror and runs every test,
#                      then again under AddressSanitizer + UndefinedBehaviorSanitizer
# Extra: ./dev.sh build (just build), ./dev.sh bench (benchmarks under bench/).
set -euo pipefail
cd "$(dirname "$0")"
jobs=$(nproc)

configure_and_build() {  # DIR [cmake args...]
  local dir=$1; shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
}

case "${1:-}" in
  example)
    scripts/install-deps.sh
    configure_and_build build -DSLUICE_TESTS=OFF
    cd examples/churn
    # The push stage's registry (docker-registry on 127.0.0.1:5000), for this run only.
    tools/registry.sh start
    trap 'tools/registry.sh stop' EXIT
    rc=0
    ../../build/sluice run || rc=$?
    echo "dev.sh: the deployed services keep running (sluice env list); sluice env stop --all stops them"
    if [ "$rc" -eq 3 ]; then
      # Production waits for a release manager: that is the pipeline working.
      echo "dev.sh: the run waits for an approval of deploy-production (see examples/churn/README.md)"
      exit 0
    fi
    exit "$rc"
    ;;
  build)
    scripts/install-deps.sh
    configure_and_build build
    ;;
  test)
    scripts/install-deps.sh
    configure_and_build build-ci -DSLUICE_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
    (cd build-ci && ctest --output-on-failure -j "$jobs" --timeout 300)
    if [ "${SLUICE_SKIP_SANITIZE:-0}" != 1 ]; then
      configure_and_build build-asan -DSLUICE_WERROR=ON -DSLUICE_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
      # Full stacks on malloc, so the suppressions (leaks inside Debian's libgit2)
      # match by function name, never a whole library.
      (cd build-asan && ASAN_OPTIONS=fast_unwind_on_malloc=0 \
         LSAN_OPTIONS="suppressions=$PWD/../tests/lsan.supp" \
         ctest --output-on-failure -j "$jobs" --timeout 600)
    fi
    ;;
  bench)
    configure_and_build build -DCMAKE_BUILD_TYPE=Release -DSLUICE_TESTS=OFF
    exec bench/run.sh "${@:2}"
    ;;
  *)
    echo "usage: ./dev.sh example|test|build|bench" >&2
    exit 2
    ;;
esac
