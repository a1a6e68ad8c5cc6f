#!/usr/bin/env bash
# Builds lsmd and runs every test. This is the README's test command and
# exactly what CI (.ci/run) runs.
#
#   scripts/test.sh            every stage below, in order
#   scripts/test.sh unit       only the named stages (any of: unit)
#
# Stages:
#   unit    RelWithDebInfo build, every doctest suite through CTest
#           (engine, protocol, and the server integration tests that start
#           the real binary on port 0)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
JOBS=${JOBS:-2}
ALL_STAGES=(unit)
STAGES=("$@")
[ ${#STAGES[@]} -eq 0 ] && STAGES=("${ALL_STAGES[@]}")

log() { printf '\n=== %s: %s\n' "$(date +%H:%M:%S)" "$*"; }

stage_unit() {
  log "unit: build (RelWithDebInfo) and run every test"
  cmake -S . -B build/test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build/test -j"$JOBS"
  ctest --test-dir build/test -j"$JOBS" --output-on-failure --timeout 600
}

scripts/install-deps.sh
for stage in "${STAGES[@]}"; do
  case "$stage" in
    unit) stage_unit ;;
    *) echo "test.sh: unknown stage '$stage' (stages: ${ALL_STAGES[*]})" >&2; exit 2 ;;
  esac
done
log "all stages passed: ${STAGES[*]}"
