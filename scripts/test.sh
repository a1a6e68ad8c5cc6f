#!/usr/bin/env bash
# Builds lsmd and runs every test. This is the README's test command and
# exactly what CI (.ci/run) runs.
#
#   scripts/test.sh              every stage below, in order
#   scripts/test.sh unit asan    only the named stages
#
# Stages:
#   thread-safety  clang build of every target (bench aside) with the lock
#           annotations checked (LSMD_THREAD_SAFETY: -Wthread-safety as
#           errors); builds only, runs nothing (about 3 minutes)
#   unit    RelWithDebInfo build, every doctest suite through CTest (engine,
#           protocol, the server integration tests that start the real
#           binary on port 0, and the short crash-and-restart torture run)
#   asan    the whole suite again under AddressSanitizer + UBSan
#   resp    the Redis protocol suite (tests/resp: redis-cli, redis-benchmark,
#           redis-py against the real binary), run against the ASan+UBSan
#           build of lsmd so a memory error in the server fails it
#   cluster three lsmd nodes behind Debian's twemproxy (tests/cluster:
#           sharding, node failure, resharding), against the ASan+UBSan lsmd
#   tsan    the concurrent suites (engine threads, server integration) under
#           ThreadSanitizer
#   fuzz    each libFuzzer target over its committed corpus, reproducibly: a
#           fixed seed and a fixed number of inputs per target
#           (tests/fuzz/run.sh ci): its inputs come from the seed, not the clock
#   fuzz-long  (not in the default set) exploring: each target for
#           LSMD_FUZZ_LONG_SECONDS (default 300) with a random seed
#   docker  builds the image (Release, running the engine and protocol suites
#           inside) and runs docker/smoke-test.sh against containers, then
#           docker/cluster-smoke-test.sh (compose.cluster.yaml) on that image
#   bench   bench/compare.sh --smoke and bench/compaction_interference.sh
#           --smoke: every benchmark tool runs, tiny sizes
#
# The default set runs the whole suite once, under ASan+UBSan; `unit` runs it
# without sanitizers (a quicker build for day-to-day work).
#
# Any sanitizer report fails the run (halt_on_error); suppressions, if ever
# needed, live in tests/sanitizers/ with a comment naming the third-party
# frame and why.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-2}
ALL_STAGES=(thread-safety asan resp cluster tsan fuzz docker bench)
KNOWN_STAGES=(thread-safety unit asan resp cluster tsan fuzz fuzz-long docker bench)
STAGES=("$@")
[ ${#STAGES[@]} -eq 0 ] && STAGES=("${ALL_STAGES[@]}")

log() { printf '\n=== %s: %s\n' "$(date +%H:%M:%S)" "$*"; }

stage_unit() {
  log "unit: build (RelWithDebInfo) and run every test"
  cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build/test -j"$JOBS"
  ctest --test-dir build/test -j"$JOBS" --output-on-failure --timeout 600
}

# The annotations of core/thread_annotations.h checked by clang: a finding
# is a compile error. First in the default set, being the quickest to fail.
# Build only, -O0 without debug info: the analysis runs in the front end,
# so optimizing would only cost time.
stage_thread_safety() {
  log "thread-safety: clang build of every target with the lock annotations checked"
  scripts/install-deps.sh clang
  cmake -S . -B build/thread-safety -G Ninja -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0" \
    -DLSMD_THREAD_SAFETY=ON -DLSMD_BUILD_BENCH=OFF >/dev/null
  cmake --build build/thread-safety -j"$JOBS"
}

# Sanitizer builds: -O1 keeps them quick to build and still fast to run.
stage_asan() {
  log "asan: build with AddressSanitizer + UBSan and run every test"
  cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
    -DLSMD_SANITIZE=address -DLSMD_BUILD_BENCH=OFF >/dev/null
  cmake --build build/asan -j"$JOBS"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir build/asan -j"$JOBS" --output-on-failure --timeout 900
}

stage_resp() {
  log "resp: the Redis protocol suite against the ASan+UBSan lsmd"
  run_against_asan_lsmd tests/resp/run.sh
}

# Builds lsmd under ASan+UBSan (a no-op after the asan stage) and runs the
# given suite against it, so a memory error in the server fails the suite.
run_against_asan_lsmd() {
  cmake -S . -B build/asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
    -DLSMD_SANITIZE=address -DLSMD_BUILD_BENCH=OFF >/dev/null
  cmake --build build/asan -j"$JOBS" --target lsmd
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    LSMD_BINARY="$ROOT/build/asan/server/lsmd" "$@"
}

stage_cluster() {
  log "cluster: lsmd nodes behind nutcracker, against the ASan+UBSan lsmd"
  run_against_asan_lsmd tests/cluster/run.sh
}

# The suites with real concurrency. Tests that fork a child to SIGKILL it are
# left out (TSan does not support fork() from a threaded process), and so is
# the 100,000-connection churn: a resource test, run in the other stages,
# that TSan slows to minutes.
TSAN_TARGETS=(core_memtable_test core_db_test core_compaction_concurrency_test
              core_background_work_test core_commit_pipeline_test
              core_power_loss_env_test core_power_loss_test core_power_loss_cases_test
              core_engine_metrics_test
              server_server_test server_protocol_errors_test server_stdio_test
              server_hostile_clients_test lsmd)
TSAN_TESTS='^(core/(memtable_test|db_test|compaction_concurrency_test|background_work_test|commit_pipeline_test|power_loss_env_test|power_loss_test|power_loss_cases_test|engine_metrics_test)|server/(server_test|protocol_errors_test|stdio_test|hostile_clients_test))/'
TSAN_EXCLUDE='SIGKILL|connect-request-disconnect'
stage_tsan() {
  log "tsan: build the concurrent suites with ThreadSanitizer and run them"
  cmake -S . -B build/tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
    -DLSMD_SANITIZE=thread -DLSMD_BUILD_BENCH=OFF >/dev/null
  cmake --build build/tsan -j"$JOBS" --target "${TSAN_TARGETS[@]}"
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    ctest --test-dir build/tsan -j"$JOBS" --output-on-failure --timeout 900 \
      -R "$TSAN_TESTS" -E "$TSAN_EXCLUDE"
  # The RESP suite's concurrent parts against the TSan lsmd: both ports,
  # many clients, transactions and cursors shared across connections.
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
    LSMD_BINARY="$ROOT/build/tsan/server/lsmd" \
    tests/resp/run.sh -k "concurrency or cross_port or transaction or scan"
}

stage_fuzz() {
  log "fuzz: each libFuzzer target, fixed seed and input count (reproducible)"
  scripts/install-deps.sh clang libclang-rt-14-dev
  LSMD_FUZZ_BUILD_DIR="$ROOT/build/fuzz" tests/fuzz/run.sh ci
}

stage_fuzz_long() {
  log "fuzz-long: each libFuzzer target for ${LSMD_FUZZ_LONG_SECONDS:-300} s, random seed"
  scripts/install-deps.sh clang libclang-rt-14-dev
  LSMD_FUZZ_BUILD_DIR="$ROOT/build/fuzz" tests/fuzz/run.sh long "${LSMD_FUZZ_LONG_SECONDS:-300}"
}

stage_docker() {
  log "docker: image build (engine and protocol suites inside) and container smoke test"
  if ! docker info >/dev/null 2>&1 && [ -x ../shared/tools/container-env.sh ]; then
    eval "$(../shared/tools/container-env.sh)"
  fi
  docker/smoke-test.sh
  LSMD_IMAGE=lsmd:smoke LSMD_CLUSTER_SMOKE_SKIP_BUILD=1 docker/cluster-smoke-test.sh
}

stage_bench() {
  log "bench: every benchmark tool at tiny sizes (figures mean nothing here)"
  scripts/install-deps.sh libleveldb-dev librocksdb-dev redis-server redis-tools
  bench/compare.sh --smoke
  bench/compaction_interference.sh --smoke
}

scripts/install-deps.sh
for stage in "${STAGES[@]}"; do
  case "$stage" in
    thread-safety) stage_thread_safety ;;
    unit) stage_unit ;;
    asan) stage_asan ;;
    resp) stage_resp ;;
    cluster) stage_cluster ;;
    tsan) stage_tsan ;;
    fuzz) stage_fuzz ;;
    fuzz-long) stage_fuzz_long ;;
    docker) stage_docker ;;
    bench) stage_bench ;;
    *) echo "test.sh: unknown stage '$stage' (stages: ${KNOWN_STAGES[*]})" >&2; exit 2 ;;
  esac
done
log "all stages passed: ${STAGES[*]}"
