#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz: clang, ASan+UBSan) and runs each
# for N seconds against its seed corpus in tests/fuzz/corpus/<name>.
#
#   tests/fuzz/run.sh [SECONDS]     SECONDS: the argument, else
#                                   $LSMD_FUZZ_SECONDS, else 60
#
# Runs work on a scratch corpus, so the committed seeds never grow. Exits
# non-zero if any target crashes, leaks, times out or runs out of memory, and
# prints where the reproducer was saved (build-fuzz/fuzz-artifacts/<name>/);
# replay one with  build-fuzz/tests/fuzz/fuzz_<name> <file>.
# Environment: LSMD_FUZZ_BUILD_DIR (default <repo>/build-fuzz), LSMD_FUZZ_JOBS
# (ninja -j, default 2), LSMD_FUZZ_TARGETS (default "request sstable wal
# manifest").
set -euo pipefail

seconds="${1:-${LSMD_FUZZ_SECONDS:-60}}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [seconds]   (a positive integer, got '$seconds')" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${LSMD_FUZZ_BUILD_DIR:-$root/build-fuzz}"
read -r -a targets <<<"${LSMD_FUZZ_TARGETS:-request sstable wal manifest}"

# The largest input each target is given: a few request lines; a table,
# log or manifest of a few KB (the seeds are smaller).
max_len_for() {
  case "$1" in
    request) echo 4096 ;;
    sstable) echo 8192 ;;
    wal) echo 4096 ;;
    manifest) echo 2048 ;;
    *) echo "unknown fuzz target '$1'" >&2; exit 2 ;;
  esac
}

# Flags of one target beyond the common ones. fuzz_request keeps one engine
# for the whole run, so nearly every input ends with more heap than it began
# with and libFuzzer's per-input leak check would rescan the heap after each:
# leaks there are caught by LeakSanitizer's check at exit instead (after the
# engine is closed), which fails the run the same way.
extra_flags_for() {
  case "$1" in
    request) echo -detect_leaks=0 ;;
  esac
}

if [[ ! -f "$build/build.ninja" ]]; then
  echo "== configuring $build"
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLSMD_BUILD_FUZZERS=ON -DLSMD_SANITIZE=address -DLSMD_BUILD_BENCH=OFF >/dev/null
fi
echo "== building fuzz targets"
build_start=$SECONDS
ninja -C "$build" -j "${LSMD_FUZZ_JOBS:-2}" "${targets[@]/#/fuzz_}"
echo "== built in $((SECONDS - build_start)) s"

# Scratch space: working corpora, logs, and the engine directory of
# fuzz_request ($TMPDIR), on tmpfs when there is one.
scratch_base="${TMPDIR:-/tmp}"
if [[ -z "${TMPDIR:-}" && -w /dev/shm ]]; then scratch_base=/dev/shm; fi
work="$(mktemp -d "$scratch_base/lsmd-fuzz-XXXXXX")"
trap 'rm -rf "$work"' EXIT

export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=()
for name in "${targets[@]}"; do
  binary="$build/tests/fuzz/fuzz_$name"
  seeds="$root/tests/fuzz/corpus/$name"
  artifacts="$build/fuzz-artifacts/$name"
  log="$work/$name.log"
  mkdir -p "$work/corpus_$name" "$work/tmp_$name" "$artifacts"
  echo "== fuzz_$name for ${seconds} s"
  read -r -a extra_flags <<<"$(extra_flags_for "$name")"
  rc=0
  TMPDIR="$work/tmp_$name" "$binary" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -max_len="$(max_len_for "$name")" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "${extra_flags[@]}" "$work/corpus_$name" "$seeds" >"$log" 2>&1 || rc=$?

  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  features="$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  units="$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)"
  if [[ $rc -eq 0 ]]; then
    printf 'fuzz_%-9s OK    %s execs, %s exec/s, cov %s, ft %s, corpus %s, peak rss %s MB\n' \
      "$name" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${features:-?}" "${units:-?}" "${rss:-?}"
  else
    failed+=("$name")
    printf 'fuzz_%-9s FAIL  exit %s after %s execs\n' "$name" "$rc" "${execs:-?}"
    # From the first report line (a sanitizer, libFuzzer or a violated
    # property) on; else the end of the log.
    first="$(grep -n -m 1 -E 'ERROR|property violated|runtime error' "$log" | cut -d: -f1 || true)"
    echo "---- fuzz_$name log ----"
    if [[ -n "$first" ]]; then
      tail -n "+$((first > 5 ? first - 5 : 1))" "$log" | head -n 120
    else
      tail -n 60 "$log"
    fi
    echo "----"
    reproducer="$(grep -o "Test unit written to [^ ]*" "$log" | tail -n 1 | cut -d' ' -f5)"
    echo "reproducer: ${reproducer:-none written (see the log above)}"
    if [[ -n "$reproducer" ]]; then echo "replay:     $binary $reproducer"; fi
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all fuzz targets ran ${seconds} s without findings"
