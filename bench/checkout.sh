#!/usr/bin/env bash
# bench/checkout.sh — sluice's workspace checkout against `git worktree add`.
#
# Builds a repository of FILES files (default 10,000: 100 directories of 100 files of a
# few KB of text) with two adjacent commits (the second changes CHANGED files, default
# 10), in one pack as a clone has it, then times, REPEAT times each, in turns:
#   (a) git worktree add --detach DIR SHA1                  a full checkout by git
#   (b) sluice: SHA1 into a new, empty workspace            a full checkout by sluice
#   (c) sluice: an existing workspace moved SHA1 -> SHA2 and back (incremental)
# and prints the medians side by side with the targets:
#   full checkout no slower than `git worktree add`; an incremental move under a fifth
#   of sluice's full checkout.
#
# Environment:
#   SLUICE         the sluice binary (default: build/sluice at the repository root); the
#                  bench runs `$SLUICE workspace checkout --repo R --rev REV --into DIR`
#   CHECKOUT_CMD   instead of `$SLUICE workspace checkout`: any command taking the same
#                  --repo/--rev/--into arguments
#   REPEAT         runs per row (default 7)
#   FILES          files in the repository (default 10000; a multiple of 100)
#   CHANGED        files the second commit changes (default 10)
#   STRICT         1: exit 1 when a target is missed (default 0: only report)
#   TMPDIR         where the repository and checkouts go (default /tmp)
#
# Nothing is deleted between timed runs: on some file systems (ext4 with `discard` in a
# VM, notably) deleting 10,000 files slows the next creations for a while, which would
# measure the previous run's cleanup. Every checkout goes into a new directory and all
# are removed at the end; each timed run starts after `sync`.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
SLUICE=${SLUICE:-$root/build/sluice}
REPEAT=${REPEAT:-7}
FILES=${FILES:-10000}
CHANGED=${CHANGED:-10}
STRICT=${STRICT:-0}

[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || { echo "checkout.sh: REPEAT must be a positive integer" >&2; exit 2; }
[[ $FILES =~ ^[1-9][0-9]*00$ ]] || { echo "checkout.sh: FILES must be a multiple of 100" >&2; exit 2; }
[[ $CHANGED =~ ^[1-9][0-9]*$ ]] && (( CHANGED <= FILES )) ||
  { echo "checkout.sh: CHANGED must be between 1 and FILES" >&2; exit 2; }
if [ -n "${CHECKOUT_CMD:-}" ]; then
  read -r -a checkout_cmd <<<"$CHECKOUT_CMD"
else
  [ -x "$SLUICE" ] || { echo "checkout.sh: no sluice binary at $SLUICE (set SLUICE or CHECKOUT_CMD)" >&2; exit 2; }
  checkout_cmd=("$SLUICE" workspace checkout)
fi
command -v git >/dev/null || { echo "checkout.sh: needs git" >&2; exit 2; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sluice-checkout-bench.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT

export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
export GIT_AUTHOR_DATE=2024-01-01T00:00:00Z GIT_COMMITTER_DATE=2024-01-01T00:00:00Z
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1

# --- the repository ---------------------------------------------------------------------
# Written with git fast-import straight into a pack, as a clone would have it. (Writing
# loose objects and packing them deletes 10,000 files just before the timing starts.)
repo=$tmp/repo
git init -q -b main "$repo"
git -C "$repo" config gc.auto 0  # no background gc during the runs
dirs=$((FILES / 100))
echo "generating $FILES files in $dirs directories ..." >&2
# Pseudo-random words (reproducible: srand(1)), 1-6 KB per file, so that compression is
# that of ordinary source text rather than of one repeated line. The second commit gives
# CHANGED files, spread over the directories, new contents.
LC_ALL=C awk -v dirs="$dirs" -v changed="$CHANGED" '
function text(  size, out, line, k, i) {
  size = 1000 + int(rand() * 5000)
  out = ""
  while (length(out) < size) {
    line = ""
    k = 3 + int(rand() * 9)
    for (i = 0; i < k; i++) line = line words[1 + int(rand() * n)] " "
    out = out line int(rand() * 100000) "\n"
  }
  return out
}
function file(path, body) {
  printf "M 100644 inline %s\ndata %d\n%s\n", path, length(body), body
}
BEGIN {
  srand(1)
  n = split("model train data loss epoch batch layer weight score metric feature split " \
            "pipeline stage run commit deploy gate approve registry value return import " \
            "def class self if else for while in not and or None True False", words, " ")
  printf "commit refs/heads/main\ncommitter bench <bench@example.com> 1704067200 +0000\n"
  printf "data 5\nfirst\n"
  for (d = 0; d < dirs; d++)
    for (f = 0; f < 100; f++) file(sprintf("d%03d/f%03d.py", d, f), text())
  printf "\ncommit refs/heads/main\ncommitter bench <bench@example.com> 1704067260 +0000\n"
  printf "data 6\nsecond\n"  # continues the branch: no "from" needed
  for (i = 0; i < changed; i++)
    file(sprintf("d%03d/f%03d.py", (i * 97) % dirs, (i * 31) % 100), text())
  printf "\n"
}' | git -C "$repo" fast-import --quiet
git -C "$repo" repack -adq  # one pack with deltas, as after a clone
sha2=$(git -C "$repo" rev-parse main)
sha1=$(git -C "$repo" rev-parse main~1)
changed_files=$(git -C "$repo" diff --name-only "$sha1" "$sha2" | wc -l)
size=$(du -sk "$repo/.git" | cut -f1)
echo "repository: $FILES files, .git ${size} KiB (packed); commits ${sha1:0:8} -> ${sha2:0:8} ($changed_files files changed)" >&2

# --- timing -------------------------------------------------------------------------------
# timed OUTFILE CMD... — runs CMD after a sync; prints the wall time in ms.
timed() {
  local log=$1; shift
  sync
  local t0 t1 rc=0
  t0=$(date +%s%N)
  "$@" >"$log" 2>&1 || rc=$?
  t1=$(date +%s%N)
  if [ $rc -ne 0 ]; then
    echo "checkout.sh: failed ($rc): $*" >&2
    tail -n 5 "$log" >&2
    exit 1
  fi
  echo $(( (t1 - t0) / 1000000 ))
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
minimum() { sort -n | head -n 1; }

git_ms=() full_ms=() move_ms=()
moved_files=""
# A warm-up of each, untimed: the first run reads the pack from disk.
git -C "$repo" worktree add -q --detach "$tmp/warm-git" "$sha1"
"${checkout_cmd[@]}" --repo "$repo" --rev "$sha1" --into "$tmp/warm-sluice" >/dev/null
"${checkout_cmd[@]}" --repo "$repo" --rev "$sha1" --into "$tmp/ws" >/dev/null
for ((i = 1; i <= REPEAT; i++)); do
  # git first in odd rounds, sluice first in even ones: neither always follows the other.
  if ((i % 2)); then
    git_ms+=("$(timed "$tmp/log" git -C "$repo" worktree add -q --detach "$tmp/git-$i" "$sha1")")
    full_ms+=("$(timed "$tmp/log" "${checkout_cmd[@]}" --repo "$repo" --rev "$sha1" --into "$tmp/full-$i")")
  else
    full_ms+=("$(timed "$tmp/log" "${checkout_cmd[@]}" --repo "$repo" --rev "$sha1" --into "$tmp/full-$i")")
    git_ms+=("$(timed "$tmp/log" git -C "$repo" worktree add -q --detach "$tmp/git-$i" "$sha1")")
  fi
  move_ms+=("$(timed "$tmp/log" "${checkout_cmd[@]}" --repo "$repo" --rev "$sha2" --into "$tmp/ws")")
  moved_files=$(grep -oE '[0-9]+ written' "$tmp/log" || true)  # "SHORT: N written, M removed"
  move_ms+=("$(timed "$tmp/log" "${checkout_cmd[@]}" --repo "$repo" --rev "$sha1" --into "$tmp/ws")")
done

# The checkouts are right: same files as git's.
if ! diff -rq --exclude=.git "$tmp/git-1" "$tmp/full-1" >/dev/null; then
  echo "checkout.sh: sluice's checkout differs from git's" >&2; exit 1
fi

git_med=$(printf '%s\n' "${git_ms[@]}" | median)
full_med=$(printf '%s\n' "${full_ms[@]}" | median)
move_med=$(printf '%s\n' "${move_ms[@]}" | median)
git_min=$(printf '%s\n' "${git_ms[@]}" | minimum)
full_min=$(printf '%s\n' "${full_ms[@]}" | minimum)
move_min=$(printf '%s\n' "${move_ms[@]}" | minimum)

# Ratios of runs made one right after the other (git then sluice full; sluice full then
# the two moves), then their median: steadier than a ratio of medians when the machine's
# speed drifts during the benchmark.
paired_ratio() {  # paired_ratio "A..." "B..." STEP — median of A[i*STEP+k] / B[i]
  local -a a=($1) b=($2); local step=$3 i k
  for ((i = 0; i < ${#b[@]}; i++)); do
    for ((k = 0; k < step; k++)); do
      awk -v x="${a[i * step + k]}" -v y="${b[i]}" 'BEGIN { printf "%.4f\n", (y > 0 ? x / y : 0) }'
    done
  done | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
full_vs_git=$(paired_ratio "${full_ms[*]}" "${git_ms[*]}" 1)
move_vs_full=$(paired_ratio "${move_ms[*]}" "${full_ms[*]}" 2)
move_vs_git=$(paired_ratio "${move_ms[*]}" "${git_ms[*]}" 2)
ok_full=$(awk -v r="$full_vs_git" 'BEGIN { print (r <= 1.0) ? "ok" : "MISSED" }')
ok_move=$(awk -v r="$move_vs_full" 'BEGIN { print (r < 0.2) ? "ok" : "MISSED" }')

row() { printf '%-36s %9s %7s %8s %12s  %s\n' "$@"; }
echo
row "checkout of $FILES files" "median ms" "min ms" "vs git" "vs sluice full" "target"
row "git worktree add --detach" "$git_med" "$git_min" "1.00" "" ""
row "sluice, full (new workspace)" "$full_med" "$full_min" "$full_vs_git" "1.00" \
  "<= 1.00 x git: $ok_full"
row "sluice, move ($changed_files files changed)" "$move_med" "$move_min" "$move_vs_git" \
  "$move_vs_full" "< 0.20 x sluice full: $ok_move"
echo "(runs per row: $REPEAT, the move row $((2 * REPEAT)): both directions; ratios: medians of"
echo " the ratios of adjacent runs; the last move: ${moved_files:-?} files)"

# Removing the worktrees git registered (the directories go with $tmp).
git -C "$repo" worktree prune 2>/dev/null || true

if [ "$STRICT" = 1 ] && { [ "$ok_full" != ok ] || [ "$ok_move" != ok ]; }; then exit 1; fi
exit 0
