#!/usr/bin/env bash
# cpu_per_request.sh: CPU time per request of the server and of the client,
# lsmd under loadgen next to Redis under redis-benchmark, with compare.sh's
# settings (50 connections, 300000 requests, 100-byte values, 100000 keys).
# Server CPU comes from /proc/<pid>/stat around each run, client CPU from
# /usr/bin/time. docs/BENCHMARKS.md uses it to explain the server ratios.
#
#   bench/cpu_per_request.sh [BUILD_DIR]     (default build/bench, Release)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-build/bench}
LSMD=$BUILD_DIR/server/lsmd
LOADGEN=$BUILD_DIR/bench/loadgen
[ -x "$LSMD" ] && [ -x "$LOADGEN" ] || { echo "build $LSMD and $LOADGEN first (bench/compare.sh does)" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
REQUESTS=300000
TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/lsmd-cpu-XXXXXX)
trap 'kill "${PIDS[@]}" 2>/dev/null || true; rm -rf "$WORK"' EXIT
PIDS=()

cpu_seconds() { awk -v t="$TICK" '{printf "%.3f", ($14 + $15) / t}' "/proc/$1/stat"; }
per_request() { echo "$1 $2" | awk -v n="$REQUESTS" '{printf "%.1f", ($2 - $1) * 1e6 / n}'; }
client_per_request() { awk -v n="$REQUESTS" '/^CLIENT/ {printf "%.1f", ($2 + $3) * 1e6 / n}' "$1"; }

"$LSMD" --listen 127.0.0.1:0 --port-file "$WORK/port" --data-dir "$WORK/data" --log-level warn \
  --sync none --memtable-bytes 4194304 >"$WORK/lsmd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
ARGS=(--port "$(cat "$WORK/port")" --connections 50 --requests "$REQUESTS" --keys 100000
  --value-bytes 100 --no-progress)
printf '%-28s %12s %14s %14s\n' run "requests/s" "server µs/req" "client µs/req"
for op in put get; do
  before=$(cpu_seconds "${PIDS[0]}")
  /usr/bin/time -f "CLIENT %U %S" -o "$WORK/time" "$LOADGEN" "${ARGS[@]}" --mix "$op:100" >"$WORK/out"
  after=$(cpu_seconds "${PIDS[0]}")
  rate=$(sed -n 's/^RESULT op=total .*ops_per_sec=\([0-9]*\).*/\1/p' "$WORK/out")
  printf '%-28s %12s %14s %14s\n' "lsmd $op (--sync none)" "$rate" "$(per_request "$before" "$after")" \
    "$(client_per_request "$WORK/time")"
done

if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
  port=$((20000 + RANDOM % 40000))
  redis-server --port "$port" --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  for op in set get; do
    before=$(cpu_seconds "${PIDS[1]}")
    /usr/bin/time -f "CLIENT %U %S" -o "$WORK/time" redis-benchmark -p "$port" -t "$op" -c 50 \
      -n "$REQUESTS" -d 100 -r 100000 --csv >"$WORK/out"
    after=$(cpu_seconds "${PIDS[1]}")
    rate=$(awk -F, 'NR == 2 {gsub(/"/, "", $2); printf "%.0f", $2}' "$WORK/out")
    printf '%-28s %12s %14s %14s\n' "redis ${op^^}" "$rate" "$(per_request "$before" "$after")" \
      "$(client_per_request "$WORK/time")"
  done
fi
