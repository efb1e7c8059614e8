#!/usr/bin/env bash
# bench/run.sh [N...] — per-task overhead of sluice, ninja and make on this machine.
#
# For each N (default 1000) and each shape (wide: N independent tasks; chain:
# each task needs the previous), gen_tasks.py writes the same N tasks running
# `true` for the three tools; the tools take turns, REPEAT rounds at -j JOBS.
# Printed: wall time (median of the repeats), per-task overhead (wall / N),
# peak RSS (max over the repeats) and wall time relative to ninja.
#
# Environment:
#   SLUICE   the sluice binary (default: build/sluice at the repository root)
#   JOBS     parallel jobs (default 2)
#   REPEAT   runs per tool and shape (default 5)
#   SHAPES   shapes to run (default "wide chain")
#   STRICT   1: exit 1 when sluice misses a target (default 0: only report)
#   PYTHON   interpreter for gen_tasks.py (default /usr/bin/python3)
#
# Targets (checked at N=1000 when sluice ran): wide, -j2: sluice's per-task
# overhead at most 1.5x ninja's; peak RSS under 30 MiB.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
SLUICE=${SLUICE:-$root/build/sluice}
JOBS=${JOBS:-2}
REPEAT=${REPEAT:-5}
SHAPES=${SHAPES:-wide chain}
STRICT=${STRICT:-0}
PYTHON=${PYTHON:-/usr/bin/python3}
TIME=/usr/bin/time

ns=("$@")
[ ${#ns[@]} -gt 0 ] || ns=(1000)
for n in "${ns[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: N must be a positive integer, got '$n'" >&2; exit 2; }
done
[[ $JOBS =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: JOBS must be a positive integer" >&2; exit 2; }
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: REPEAT must be a positive integer" >&2; exit 2; }
[ -x "$TIME" ] || { echo "run.sh: needs GNU time at $TIME (Debian package: time)" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# run_once LOG CMD... — runs CMD with output to LOG; prints "WALL_S RSS_KB".
run_once() {
  local log=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  local rc=0
  "$TIME" -f '%M' -o "$tmp/rss" "$@" >"$log" 2>&1 || rc=$?
  if [ $rc -ne 0 ]; then
    echo "run.sh: exit status $rc: $*" >&2
    tail -n 20 "$log" >&2
    return 1
  fi
  t1=$(date +%s%N)
  # GNU time writes "Command exited ..." lines first when the command fails; the
  # last line is the figure.
  echo "$(( (t1 - t0) / 1000 ))e-6 $(tail -n 1 "$tmp/rss")"
}

# run_tool TOOL DIR — one run of TOOL in DIR; prints "WALL_S RSS_KB".
run_tool() {
  local tool=$1 dir=$2
  case $tool in
    ninja)  rm -f "$dir/.ninja_log" "$dir/.ninja_deps"
            run_once "$tmp/log" ninja -C "$dir" -j "$JOBS" ;;
    make)   run_once "$tmp/log" make -C "$dir" -j "$JOBS" ;;
    sluice) rm -rf "$tmp/state"
            run_once "$tmp/log" "$SLUICE" run "$dir/sluice.yml" -j "$JOBS" --state "$tmp/state" ;;
  esac
}

# measure_all DIR TOOL... — runs the tools in turn, REPEAT rounds (so a change in the
# machine's load hits every tool alike); prints "TOOL MEDIAN_WALL_S MAX_RSS_KB" per tool,
# or "TOOL failed".
measure_all() {
  local dir=$1 i tool out r; shift
  declare -A walls=() rss=() failed=()
  for ((i = 0; i < REPEAT; i++)); do
    for tool in "$@"; do
      [ -n "${failed[$tool]:-}" ] && continue
      if ! out=$(run_tool "$tool" "$dir"); then failed[$tool]=1; continue; fi
      walls[$tool]+="$(awk -v w="${out% *}" 'BEGIN { printf "%.6f", w }') "
      r=${out#* }
      (( r > ${rss[$tool]:-0} )) && rss[$tool]=$r
    done
  done
  for tool in "$@"; do
    if [ -n "${failed[$tool]:-}" ]; then echo "$tool failed"; continue; fi
    printf '%s %s %s\n' "$tool" \
      "$(printf '%s\n' ${walls[$tool]} | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')" \
      "${rss[$tool]}"
  done
}

have() {
  case $1 in
    sluice) [ -x "$SLUICE" ] ;;
    *) command -v "$1" >/dev/null ;;
  esac
}

cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo "machine:  $(nproc) CPUs${cpu:+ ($cpu)}, Linux $(uname -r)"
ninja_version=$(ninja --version 2>/dev/null) && ninja_version="ninja $ninja_version" || ninja_version="ninja missing"
make_version=$(make --version 2>/dev/null | sed -n 1p) || true
echo "tools:    $ninja_version, ${make_version:-make missing}, sluice: $SLUICE"
echo "settings: -j $JOBS, $REPEAT runs per row (median wall time, max peak RSS); every task runs 'true'"
echo

row() { printf '%-7s %-6s %6s %9s %12s %13s %9s\n' "$@"; }
row tool shape N "wall s" "per-task ms" "peak RSS MiB" "vs ninja"
status=0
target_lines=()
for n in "${ns[@]}"; do
  for shape in $SHAPES; do
    dir=$tmp/$shape-$n
    "$PYTHON" "$here/gen_tasks.py" --n "$n" --shape "$shape" --out "$dir"
    ninja_wall=""
    present=()
    for tool in ninja make sluice; do have "$tool" && present+=("$tool"); done
    declare -A results=()
    while read -r tool res; do results[$tool]=$res; done < <(measure_all "$dir" "${present[@]}")
    for tool in ninja make sluice; do
      if ! have "$tool"; then
        row "$tool" "$shape" "$n" - - - "(not found)"
        continue
      fi
      res=${results[$tool]:-failed}
      if [ "$res" = failed ]; then
        row "$tool" "$shape" "$n" - - - "(failed)"
        status=1
        continue
      fi
      wall=${res% *}
      rss_kb=${res#* }
      ratio=-
      [ "$tool" = ninja ] && ninja_wall=$wall
      if [ -n "$ninja_wall" ]; then
        ratio=$(awk -v a="$wall" -v b="$ninja_wall" 'BEGIN { printf "%.2fx", (b > 0 ? a / b : 0) }')
      fi
      row "$tool" "$shape" "$n" \
        "$(awk -v w="$wall" 'BEGIN { printf "%.3f", w }')" \
        "$(awk -v w="$wall" -v n="$n" 'BEGIN { printf "%.3f", w * 1000 / n }')" \
        "$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')" \
        "$ratio"
      if [ "$tool" = sluice ] && [ "$n" = 1000 ]; then
        if [ "$shape" = wide ] && [ -n "$ninja_wall" ]; then
          verdict=$(awk -v a="$wall" -v b="$ninja_wall" 'BEGIN { print (a <= 1.5 * b ? "met" : "MISSED") }')
          target_lines+=("per-task overhead, N=1000 wide -j$JOBS: sluice/ninja = $ratio (target <= 1.50x): $verdict")
          [ "$verdict" = met ] || { [ "$STRICT" = 1 ] && status=1; }
        fi
        verdict=$(awk -v k="$rss_kb" 'BEGIN { print (k < 30 * 1024 ? "met" : "MISSED") }')
        target_lines+=("peak RSS, N=1000 $shape: $(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }') MiB (target < 30 MiB): $verdict")
        [ "$verdict" = met ] || { [ "$STRICT" = 1 ] && status=1; }
      fi
    done
  done
done

echo
if [ ${#target_lines[@]} -gt 0 ]; then
  printf 'target: %s\n' "${target_lines[@]}"
elif ! have sluice; then
  echo "targets not checked: no sluice executable at $SLUICE (build it, or set SLUICE=path)"
else
  echo "targets not checked: sluice did not run at N=1000 or did not succeed (see the errors on stderr)"
fi
echo "per-task ms = wall time / N. Peak RSS is the largest of the tool and the processes it waited for."
exit $status
