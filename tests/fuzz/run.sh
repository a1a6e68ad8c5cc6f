#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz: clang, ASan+UBSan) and runs each
# one, in one of two modes:
#
#   tests/fuzz/run.sh [ci]             the CI stage: reproducible. Each target
#                                      runs a fixed number of inputs with a
#                                      fixed -seed over the committed corpus,
#                                      so its inputs come from the seed, not the clock, and
#                                      a finding never depends on chance.
#   tests/fuzz/run.sh long [SECONDS]   exploring: each target for SECONDS
#                                      (default 300) with a random seed
#                                      (printed), growing a corpus kept in
#                                      build-fuzz/long-corpus/<name> across
#                                      runs. Not in CI's default set.
#
# Exits non-zero if any target crashes, leaks, times out or runs out of
# memory, and prints where the reproducer was saved
# (build-fuzz/fuzz-artifacts/<name>/) and how to replay it. To keep a finding
# once it is fixed, copy its (minimized) input into tests/fuzz/corpus/<name>/
# under a name saying what it caught: the ci mode then replays it forever.
# Environment: LSMD_FUZZ_BUILD_DIR (default <repo>/build-fuzz), LSMD_FUZZ_JOBS
# (ninja -j, default 2), LSMD_FUZZ_TARGETS (default "request sstable wal
# manifest resp_codec resp_session"), LSMD_FUZZ_RUNS (ci mode: inputs per target, instead of each
# target's own count).
set -euo pipefail

mode="${1:-ci}"
case "$mode" in
  ci)
    [[ $# -le 1 ]] || { echo "usage: $0 [ci] | long [SECONDS]" >&2; exit 2; }
    ;;
  long)
    seconds="${2:-300}"
    if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
      echo "usage: $0 long [SECONDS]   (a positive integer, got '$seconds')" >&2
      exit 2
    fi
    ;;
  *) echo "usage: $0 [ci] | long [SECONDS]" >&2; exit 2 ;;
esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${LSMD_FUZZ_BUILD_DIR:-$root/build-fuzz}"
read -r -a targets <<<"${LSMD_FUZZ_TARGETS:-request sstable wal manifest resp_codec resp_session}"

# ci mode: each target's fixed seed, and how many inputs it runs (about 30-60 s
# each on the 2-core CI machine, build not counted).
ci_seed_for() {
  case "$1" in
    request) echo 1101 ;;
    sstable) echo 1102 ;;
    wal) echo 1103 ;;
    manifest) echo 1104 ;;
    resp_codec) echo 1105 ;;
    resp_session) echo 1106 ;;
    *) echo "unknown fuzz target '$1'" >&2; exit 2 ;;
  esac
}
ci_runs_for() {
  if [[ -n "${LSMD_FUZZ_RUNS:-}" ]]; then echo "$LSMD_FUZZ_RUNS"; return; fi
  case "$1" in
    request) echo 60000 ;;
    sstable) echo 1000000 ;;
    wal) echo 400000 ;;
    manifest) echo 1500000 ;;
    resp_codec) echo 100000 ;;
    resp_session) echo 40000 ;;
    *) echo "unknown fuzz target '$1'" >&2; exit 2 ;;
  esac
}

# The largest input each target is given: a few request lines; a table,
# log or manifest of a few KB (the seeds are smaller).
max_len_for() {
  case "$1" in
    request) echo 4096 ;;
    sstable) echo 8192 ;;
    wal) echo 4096 ;;
    manifest) echo 2048 ;;
    resp_codec) echo 4096 ;;
    resp_session) echo 4096 ;;
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
    request | resp_session) echo -detect_leaks=0 ;;
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
  mkdir -p "$work/tmp_$name" "$artifacts"
  read -r -a extra_flags <<<"$(extra_flags_for "$name")"
  if [[ "$mode" == ci ]]; then
    # A fresh scratch corpus each run: only the committed seeds feed it.
    corpus="$work/corpus_$name"
    seed="$(ci_seed_for "$name")"
    runs="$(ci_runs_for "$name")"
    # -max_total_time only guards a much slower machine; it ends a run early,
    # never fails one.
    budget=(-seed="$seed" -runs="$runs" -max_total_time=600)
    echo "== fuzz_$name: $runs inputs, -seed=$seed"
  else
    corpus="$build/long-corpus/$name"
    seed=$(( $(od -An -N4 -tu4 /dev/urandom | tr -d ' ') % 2147483646 + 1 ))  # 0 is libFuzzer's "pick one"
    budget=(-seed="$seed" -max_total_time="$seconds")
    echo "== fuzz_$name for ${seconds} s, -seed=$seed (corpus $corpus)"
  fi
  mkdir -p "$corpus"
  rc=0
  start=$SECONDS
  TMPDIR="$work/tmp_$name" "$binary" "${budget[@]}" -rss_limit_mb=2048 -timeout=10 \
    -max_len="$(max_len_for "$name")" -print_final_stats=1 -artifact_prefix="$artifacts/" \
    "${extra_flags[@]}" "$corpus" "$seeds" >"$log" 2>&1 || rc=$?
  took=$((SECONDS - start))

  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  features="$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  units="$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)"
  rss="$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)"
  if [[ $rc -eq 0 ]]; then
    printf 'fuzz_%-9s OK    %s execs in %s s, %s exec/s, cov %s, ft %s, corpus %s, peak rss %s MB\n' \
      "$name" "${execs:-?}" "$took" "${rate:-?}" "${cov:-?}" "${features:-?}" "${units:-?}" "${rss:-?}"
  else
    failed+=("$name")
    printf 'fuzz_%-9s FAIL  exit %s after %s execs (-seed=%s)\n' "$name" "$rc" "${execs:-?}" "$seed"
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
    if [[ -n "$reproducer" ]]; then
      echo "replay:     $binary $reproducer"
      echo "minimize:   $binary -minimize_crash=1 -runs=10000 $reproducer"
      echo "once fixed: cp <minimized input> tests/fuzz/corpus/$name/<what-it-caught>"
    fi
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
if [[ "$mode" == ci ]]; then
  echo "all fuzz targets ran their fixed inputs without findings"
else
  echo "all fuzz targets ran ${seconds} s without findings"
fi
