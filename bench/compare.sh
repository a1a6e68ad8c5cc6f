#!/usr/bin/env bash
# compare.sh: lsmd next to LevelDB, RocksDB, Redis and dd, in one go, on this
# machine, and the verdict on each target of docs/BENCHMARKS.md.
#
#   bench/compare.sh            full run (~15-30 min on 2 cores); rewrites the
#                               results sections of docs/BENCHMARKS.md
#   bench/compare.sh --smoke    tiny sizes, seconds: checks that every tool
#                               works (CI); writes no doc unless BENCH_DOC is set
#   bench/compare.sh --only resp
#                               only the named sections (comma-separated, e.g.
#                               --only engine,sstable; with --smoke as well).
#                               A results section of the doc is rewritten only
#                               when all of it ran: the main one needs engine,
#                               sstable and server; the RESP one needs resp
#
# Sections, in the order they run:
#   engine   engine_bench: lsmd, LevelDB, RocksDB in interleaved rounds
#   sstable  the SSTable build next to dd
#   server   the JSON port: Redis under redis-benchmark, lsmd under loadgen,
#            put latency during flushes, peak RSS
#   resp     the Redis-protocol port: redis-benchmark -t set,get against Redis
#            (persistence off; appendonly + appendfsync always) and lsmd
#            --resp-listen (--sync none; --sync always), one server at a time,
#            -P 1 and -P BENCH_PIPELINE; any error exit, error or warning
#            from redis-benchmark, or a server that dies, fails the run
#
# CPU placement: no taskset anywhere; every server and its client share all
# the machine's cores, for lsmd and for Redis alike.
#
# Environment (defaults: full / smoke):
#   BENCH_NUM          engine_bench --num                   1000000 / 20000
#   BENCH_REPEAT       engine_bench rounds (engines interleaved; the
#                      median is reported)                          3 / 1
#   BENCH_REQUESTS     requests per server run (-n / --requests) 300000 / 5000
#   BENCH_KEYS         server key space (-r / --keys)        100000 / 1000
#   BENCH_CONNECTIONS  server connections (-c)                  50 / 50
#   BENCH_PIPELINE     the pipelined runs' depth (-P)           16 / 16
#   BENCH_VALUE_BYTES  value size everywhere                   100 / 100
#   BENCH_SSTABLE_MIB  MemTable size for the SSTable build      64 / 4
#   BENCH_DD_MIB       dd's count (1 MiB blocks)              1024 / 16
#   BENCH_FLUSH_MIB    loadgen --flush-every-mib in the flush run 4 / 0.1
#   BENCH_BUILD_DIR    build directory (configured Release if new)   build/bench
#   BENCH_WORK_DIR     scratch directory (data dirs, dd file)  mktemp -d
#   BENCH_DOC          file whose results sections are rewritten
#                      (full: docs/BENCHMARKS.md; smoke: none)
#   BENCH_STEP_TIMEOUT seconds one step may take          1800 / 300
#   BENCH_SMOKE=1      same as --smoke;  BENCH_ONLY=LIST  same as --only LIST
#
# Exit status: non-zero when a tool fails (an engine error, a loadgen error
# reply or wrong value, a redis-benchmark error, a server that does not start
# or dies). Targets missed are reported, not failures.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SECTIONS="engine sstable server resp"
SMOKE=0
ONLY=${BENCH_ONLY:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --only) [ $# -ge 2 ] || { echo "compare.sh: --only needs a list ($SECTIONS)" >&2; exit 2; }
      ONLY=$2; shift ;;
    --only=*) ONLY=${1#--only=} ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown argument '$1' (use --smoke, --only LIST)" >&2; exit 2 ;;
  esac
  shift
done
[ "${BENCH_SMOKE:-0}" = 1 ] && SMOKE=1
if [ -n "$ONLY" ]; then
  for s in ${ONLY//,/ }; do
    case " $SECTIONS " in *" $s "*) ;; *) echo "compare.sh: unknown section '$s' (sections: $SECTIONS)" >&2; exit 2 ;; esac
  done
  SELECTED=" ${ONLY//,/ } "
else
  SELECTED=" $SECTIONS "
fi
# want SECTION: true when SECTION runs.
want() { case "$SELECTED" in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if [ "$SMOKE" = 1 ]; then
  NUM=${BENCH_NUM:-20000}; REPEAT=${BENCH_REPEAT:-1}; REQUESTS=${BENCH_REQUESTS:-5000}; KEYS=${BENCH_KEYS:-1000}
  SSTABLE_MIB=${BENCH_SSTABLE_MIB:-4}; DD_MIB=${BENCH_DD_MIB:-16}; FLUSH_MIB=${BENCH_FLUSH_MIB:-0.1}
  STEP_TIMEOUT=${BENCH_STEP_TIMEOUT:-300}; DOC=${BENCH_DOC:-}
else
  NUM=${BENCH_NUM:-1000000}; REPEAT=${BENCH_REPEAT:-3}; REQUESTS=${BENCH_REQUESTS:-300000}; KEYS=${BENCH_KEYS:-100000}
  SSTABLE_MIB=${BENCH_SSTABLE_MIB:-64}; DD_MIB=${BENCH_DD_MIB:-1024}; FLUSH_MIB=${BENCH_FLUSH_MIB:-4}
  STEP_TIMEOUT=${BENCH_STEP_TIMEOUT:-1800}; DOC=${BENCH_DOC:-docs/BENCHMARKS.md}
fi
CONNECTIONS=${BENCH_CONNECTIONS:-50}
PIPELINE=${BENCH_PIPELINE:-16}
VALUE_BYTES=${BENCH_VALUE_BYTES:-100}
BUILD_DIR=${BENCH_BUILD_DIR:-build/bench}
WORKLOADS=fillseq,fillrandom,overwrite,readrandom,readmissing,readseq,scan100
# The server's MemTable budget for the RSS target; frozen MemTables allowed
# come from the engine's default (core/options.h).
MEMTABLE_BYTES=4194304
MAX_FROZEN=$(sed -n 's/.*int max_frozen_memtables = \([0-9]*\);.*/\1/p' core/options.h)

log() { printf '\n=== %s: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { echo "compare.sh: $*" >&2; exit 1; }

# ---- build --------------------------------------------------------------
log "build (Release) in $BUILD_DIR"
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLSMD_BUILD_TESTS=OFF >/dev/null
fi
TARGETS=()
{ want engine || want sstable; } && TARGETS+=(engine_bench)
want server && TARGETS+=(loadgen)
{ want server || want resp; } && TARGETS+=(lsmd)
cmake --build "$BUILD_DIR" -j2 --target "${TARGETS[@]}" >/dev/null
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt")
ENGINE_BENCH=$ROOT/$BUILD_DIR/bench/engine_bench
LOADGEN=$ROOT/$BUILD_DIR/bench/loadgen
LSMD=$ROOT/$BUILD_DIR/server/lsmd
ENGINES=""
{ want engine || want sstable; } &&
  ENGINES=$("$ENGINE_BENCH" --help | sed -n 's/.*store to drive: \([a-z,]*\).*/\1/p' | tr ',' ' ')

WORK=${BENCH_WORK_DIR:-$(mktemp -d /tmp/lsmd-compare-XXXXXX)}
mkdir -p "$WORK"
OUT=$WORK/out
mkdir -p "$OUT"
LSMD_PID=""
REDIS_PID=""
# Every server this script starts is one of these two; on any way out
# (a failed step, die, Ctrl-C, SIGTERM) the one running is stopped.
# The script's exit status stays the one it was leaving with.
# (set +e: a server that already died makes wait fail, and that must not
# cut the cleanup short.)
cleanup() {
  local rc=$?
  set +e
  if [ -n "$LSMD_PID" ]; then kill "$LSMD_PID" 2>/dev/null; wait "$LSMD_PID" 2>/dev/null; fi
  if [ -n "$REDIS_PID" ]; then kill "$REDIS_PID" 2>/dev/null; wait "$REDIS_PID" 2>/dev/null; fi
  [ -z "${BENCH_WORK_DIR:-}" ] && rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

COMMANDS=()
# run NAME CMD...: runs a step with a time limit, its output to $OUT/NAME.txt,
# and records the command for the report.
run() {
  local name=$1
  shift
  COMMANDS+=("$*")
  if ! timeout "$STEP_TIMEOUT" "$@" >"$OUT/$name.txt" 2>"$OUT/$name.err"; then
    cat "$OUT/$name.txt" "$OUT/$name.err" >&2
    die "step '$name' failed: $*"
  fi
  grep -v '^RESULT' "$OUT/$name.txt" >&2 || true
}

LOAD_BEFORE=$(uptime | sed 's/.*load average: //')

# ---- engine_bench ---------------------------------------------------------
# Rounds interleave the engines, so a change in the machine's load during the
# run falls on all of them; each figure is the median of the rounds.
if want engine; then
  for round in $(seq "$REPEAT"); do
    for engine in $ENGINES; do
      log "engine_bench --engine=$engine --num=$NUM (round $round of $REPEAT)"
      run "engine_${engine}_$round" "$ENGINE_BENCH" --engine="$engine" --num="$NUM" \
        --value-bytes="$VALUE_BYTES" --benchmarks="$WORKLOADS" --db="$WORK/engine"
      rm -rf "$WORK/engine"
    done
  done
fi

# ---- SSTable build vs dd ------------------------------------------------
if want sstable; then
  log "SSTable build of a ${SSTABLE_MIB} MiB MemTable, then dd of ${DD_MIB} MiB, in $WORK"
  run sstable_build "$ENGINE_BENCH" --benchmarks=sstable_build --sstable-mib="$SSTABLE_MIB" \
    --value-bytes="$VALUE_BYTES" --db="$WORK/sstable"
  COMMANDS+=("dd if=/dev/zero of=$WORK/dd.tmp bs=1M count=$DD_MIB conv=fdatasync")
  dd if=/dev/zero of="$WORK/dd.tmp" bs=1M count="$DD_MIB" conv=fdatasync 2>"$OUT/dd.txt"
  rm -f "$WORK/dd.tmp"
  cat "$OUT/dd.txt" >&2
fi

# ---- servers: helpers -------------------------------------------------------
free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 40000))
    (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# start_redis NAME ARGS...: redis-server on a free loopback port (REDIS_PORT),
# its --dir a fresh $WORK/redis-NAME, with ARGS; records the command.
start_redis() {
  local name=$1 dir=$WORK/redis-$1 attempt args
  shift
  args=$(printf '%q ' "$@" | sed 's/ $//')
  rm -rf "$dir"
  mkdir -p "$dir"
  # A free port can be taken between the check and the bind: try a few, and
  # make sure the server that answers is ours.
  for attempt in 1 2 3; do
    REDIS_PORT=$(free_port)
    log "redis-server on port $REDIS_PORT ($name): $args"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$dir" "$@" \
      >"$OUT/redis-$name.log" 2>&1 &
    REDIS_PID=$!
    for _ in $(seq 100); do
      redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
      kill -0 "$REDIS_PID" 2>/dev/null || break
      sleep 0.1
    done
    [ "$(redis-cli -p "$REDIS_PORT" info server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p')" = "$REDIS_PID" ] &&
      break
    cat "$OUT/redis-$name.log" >&2
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=""
    [ "$attempt" = 3 ] && die "redis-server did not start"
  done
  COMMANDS+=("redis-server --port PORT --bind 127.0.0.1 --dir DIR $args")
}
stop_redis() {
  kill -TERM "$REDIS_PID"
  wait "$REDIS_PID" 2>/dev/null || true
  REDIS_PID=""
}

# start_lsmd [--resp] NAME ARGS...: a fresh server on a free port (LSMD_PORT)
# with its own data dir; with --resp also a RESP port (LSMD_RESP_PORT).
start_lsmd() {
  local resp=() shown=""
  if [ "$1" = --resp ]; then
    shift
    resp=(--resp-listen 127.0.0.1:0 --resp-port-file "$WORK/lsmd-$1/resp-port")
    shown=" --resp-listen 127.0.0.1:0 --resp-port-file RESPPORTFILE"
  fi
  local dir=$WORK/lsmd-$1
  LSMD_DIR=$dir
  shift
  rm -rf "$dir"
  mkdir -p "$dir"
  COMMANDS+=("lsmd --listen 127.0.0.1:0 --port-file PORTFILE$shown --data-dir DATADIR --log-level warn $*")
  "$LSMD" --listen 127.0.0.1:0 --port-file "$dir/port" "${resp[@]}" --data-dir "$dir/data" \
    --log-level warn "$@" >"$dir/log" 2>&1 &
  LSMD_PID=$!
  for _ in $(seq 100); do
    [ -s "$dir/port" ] && break
    kill -0 "$LSMD_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -s "$dir/port" ] || { cat "$dir/log" >&2; die "lsmd did not start"; }
  LSMD_PORT=$(cat "$dir/port")
  LSMD_RESP_PORT=""
  if [ ${#resp[@]} -gt 0 ]; then
    [ -s "$dir/resp-port" ] || { cat "$dir/log" >&2; die "lsmd wrote no RESP port file"; }
    LSMD_RESP_PORT=$(cat "$dir/resp-port")
  fi
}
# stop_lsmd: SIGTERM, then its exit status in LSMD_EXIT (0 after a clean
# shutdown).
stop_lsmd() {
  kill -TERM "$LSMD_PID" 2>/dev/null || true
  LSMD_EXIT=0
  wait "$LSMD_PID" 2>/dev/null || LSMD_EXIT=$?
  LSMD_PID=""
}
# alive PID: the process runs (not gone, not a zombie).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" != Z ]
}
vm_hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$LSMD_PID/status"; }

# ---- server: Redis ----------------------------------------------------------
HAVE_REDIS=0
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
  HAVE_REDIS=1
fi
REDIS_ARGS=(-t set,get -c "$CONNECTIONS" -n "$REQUESTS" -d "$VALUE_BYTES" -r "$KEYS")
if want server; then
  if [ "$HAVE_REDIS" = 1 ]; then
    start_redis json --save "" --appendonly no
    run redis_p1 redis-benchmark -p "$REDIS_PORT" "${REDIS_ARGS[@]}" --csv
    run redis_pipe redis-benchmark -p "$REDIS_PORT" "${REDIS_ARGS[@]}" -P "$PIPELINE" --csv
    stop_redis
  else
    log "redis-server or redis-benchmark missing: Redis figures skipped (apt-get install redis-server redis-tools)"
  fi
fi

# ---- server: lsmd under loadgen -----------------------------------------------
LOADGEN_ARGS=(--connections "$CONNECTIONS" --requests "$REQUESTS" --keys "$KEYS"
  --value-bytes "$VALUE_BYTES" --no-progress)

if want server; then
  log "lsmd --sync none under loadgen"
  start_lsmd none --sync none --memtable-bytes "$MEMTABLE_BYTES"
  run lsmd_none_put "$LOADGEN" --port "$LSMD_PORT" "${LOADGEN_ARGS[@]}" --mix put:100
  PEAK_RSS_PUT_KIB=$(vm_hwm_kib)
  run lsmd_none_get "$LOADGEN" --port "$LSMD_PORT" "${LOADGEN_ARGS[@]}" --mix get:100
  run lsmd_none_put_pipe "$LOADGEN" --port "$LSMD_PORT" "${LOADGEN_ARGS[@]}" --mix put:100 \
    --pipeline "$PIPELINE"
  run lsmd_none_get_pipe "$LOADGEN" --port "$LSMD_PORT" "${LOADGEN_ARGS[@]}" --mix get:100 \
    --pipeline "$PIPELINE"
  PEAK_RSS_ALL_KIB=$(vm_hwm_kib)
  stop_lsmd

  log "lsmd --sync always under loadgen"
  start_lsmd always --sync always --memtable-bytes "$MEMTABLE_BYTES"
  run lsmd_always_put "$LOADGEN" --port "$LSMD_PORT" "${LOADGEN_ARGS[@]}" --mix put:100
  run lsmd_always_put_pipe "$LOADGEN" --port "$LSMD_PORT" "${LOADGEN_ARGS[@]}" --mix put:100 \
    --pipeline "$PIPELINE"
  stop_lsmd

  # Flushes only when loadgen asks (the threshold is out of reach), so each
  # flush's window is known exactly; stats polling sees them too.
  log "lsmd --sync none, put latency during flushes"
  start_lsmd flush --sync none --memtable-bytes 1073741824
  run lsmd_flush "$LOADGEN" --port "$LSMD_PORT" "${LOADGEN_ARGS[@]}" --mix put:100 \
    --flush-every-mib "$FLUSH_MIB" --stats-poll-ms 5
  stop_lsmd
fi

LOAD_AFTER=$(uptime | sed 's/.*load average: //')

# ---- resp: lsmd's RESP port and Redis under the same redis-benchmark ------------
# Four servers, one at a time, each paired with its peer right after it so
# that a change in the machine's load falls on both of a pair: Redis without
# persistence, lsmd --sync none; Redis with appendfsync always, lsmd --sync
# always. Each gets a fresh data dir and the very same two redis-benchmark
# commands (-P 1, then -P PIPELINE; the second runs on the keys the first
# wrote). No taskset, as in the server section: servers and redis-benchmark
# share every core. lsmd runs with the JSON section's MemTable size and its
# default --threads (the machine's cores); Redis with its defaults
# (io-threads 1). The durable Redis also gets --save "" so that no RDB
# snapshot forks during a run: its durability is the AOF alone.
# resp_bench RUN PORT PID [ARGS...]: redis-benchmark's SET and GET against
# PORT, output in $OUT/RUN.txt. Fails, saying which, on: a server (PID) that
# died during the run (with its exit status or signal), an error exit
# (redis-benchmark 7 exits on the first error reply or a dropped connection),
# any error or warning in its output, or a SET or GET line missing or at 0
# requests/s.
resp_bench() {
  local name=$1 port=$2 pid=$3 t rps ok=1 status=0
  shift 3
  local cmd=(redis-benchmark -p "$port" "${REDIS_ARGS[@]}" "$@" --csv)
  COMMANDS+=("${cmd[*]}")
  timeout "$STEP_TIMEOUT" "${cmd[@]}" >"$OUT/$name.txt" 2>"$OUT/$name.err" || ok=0
  cat "$OUT/$name.txt" >&2
  [ "$ok" = 1 ] || cat "$OUT/$name.err" >&2
  if ! alive "$pid"; then
    wait "$pid" 2>/dev/null || status=$?
    if [ "$pid" = "$LSMD_PID" ]; then
      LSMD_PID=""
      echo "lsmd's log ($LSMD_DIR/log):" >&2
      cat "$LSMD_DIR/log" >&2
    fi
    [ "$pid" = "$REDIS_PID" ] && REDIS_PID=""
    die "step '$name': the server (pid $pid) died during the run: exit status $status$([ "$status" -gt 128 ] && echo " (signal $((status - 128)))"); command: ${cmd[*]}"
  fi
  [ "$ok" = 1 ] || die "step '$name' failed (redis-benchmark exit status not 0, or the step timed out): ${cmd[*]}"
  if grep -iE 'error|warn|could not|refused|reset|closed' "$OUT/$name.txt" "$OUT/$name.err" >&2; then
    die "step '$name': redis-benchmark reported the lines above"
  fi
  for t in SET GET; do
    rps=$(redis_field "$name" "$t" 2)
    awk -v r="$rps" 'BEGIN { exit !(r + 0 > 0) }' ||
      die "step '$name': no $t result from redis-benchmark"
  done
}
# redis_field RUN TEST COLUMN: column 2 = rps, 5 = p50 ms, 7 = p99 ms.
redis_field() {
  [ -f "$OUT/$1.txt" ] || { echo ""; return; }
  awk -F'","' -v t="\"$2" -v c="$3" '$1 == t { gsub(/"/, "", $c); print $c }' "$OUT/$1.txt"
}
# resp_stop_lsmd RUN: stops lsmd; fails unless it shut down cleanly (exit 0).
# Its log (--log-level warn) is expected empty: anything in it (a write
# stall, say) is shown and quoted in the report (the first 20 lines of each).
RESP_SERVER_LOGS=""
resp_stop_lsmd() {
  local dir=$WORK/lsmd-resp-$1
  stop_lsmd
  if [ -s "$dir/log" ]; then
    log "lsmd log of the $1 RESP runs is not empty:"
    cat "$dir/log" >&2
    RESP_SERVER_LOGS="$RESP_SERVER_LOGS $1"
    { echo "lsmd --sync $1:"; head -20 "$dir/log"; } >>"$OUT/resp-server-logs.txt"
  fi
  [ "$LSMD_EXIT" = 0 ] || die "lsmd --sync $1 (RESP) exited with status $LSMD_EXIT on SIGTERM"
}

HAVE_RESP=0
if want resp; then
  if [ "$HAVE_REDIS" = 1 ]; then
    HAVE_RESP=1
    RESP_COMMANDS_FROM=${#COMMANDS[@]}
    RESP_LOAD_BEFORE=$(uptime | sed 's/.*load average: //')
    RESP_START=$(date +%s)

    start_redis none --save "" --appendonly no
    resp_bench redis_none_p1 "$REDIS_PORT" "$REDIS_PID"
    resp_bench redis_none_pipe "$REDIS_PORT" "$REDIS_PID" -P "$PIPELINE"
    stop_redis

    log "lsmd --sync none, RESP port, under redis-benchmark"
    start_lsmd --resp resp-none --sync none --memtable-bytes "$MEMTABLE_BYTES"
    resp_bench lsmd_none_p1 "$LSMD_RESP_PORT" "$LSMD_PID"
    resp_bench lsmd_none_pipe "$LSMD_RESP_PORT" "$LSMD_PID" -P "$PIPELINE"
    resp_stop_lsmd none

    start_redis always --save "" --appendonly yes --appendfsync always
    resp_bench redis_always_p1 "$REDIS_PORT" "$REDIS_PID"
    resp_bench redis_always_pipe "$REDIS_PORT" "$REDIS_PID" -P "$PIPELINE"
    stop_redis

    log "lsmd --sync always, RESP port, under redis-benchmark"
    start_lsmd --resp resp-always --sync always --memtable-bytes "$MEMTABLE_BYTES"
    resp_bench lsmd_always_p1 "$LSMD_RESP_PORT" "$LSMD_PID"
    resp_bench lsmd_always_pipe "$LSMD_RESP_PORT" "$LSMD_PID" -P "$PIPELINE"
    resp_stop_lsmd always

    RESP_SECONDS=$(( $(date +%s) - RESP_START ))
    RESP_LOAD_AFTER=$(uptime | sed 's/.*load average: //')
  else
    log "redis-server or redis-benchmark missing: the RESP section is skipped (apt-get install redis-server redis-tools)"
  fi
fi

# ---- figures --------------------------------------------------------------
# engine_ops ENGINE WORKLOAD: the median ops/sec over the rounds, from the
# db_bench-style lines; empty when the engine did not run.
engine_ops() {
  local files=("$OUT"/engine_"$1"_*.txt)
  [ -f "${files[0]}" ] || { echo ""; return; }
  awk -v w="$2" '$1 == w { for (i = 1; i <= NF; i++) if ($i == "ops/sec;") print $(i - 1) }' \
    "${files[@]}" | sort -n | awk '{ v[NR] = $1 } END {
      if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2];
      else printf "%.0f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# engine_spread ENGINE WORKLOAD: "min-max" over the rounds.
engine_spread() {
  local files=("$OUT"/engine_"$1"_*.txt)
  [ -f "${files[0]}" ] || { echo ""; return; }
  awk -v w="$2" '$1 == w { for (i = 1; i <= NF; i++) if ($i == "ops/sec;") print $(i - 1) }' \
    "${files[@]}" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) print lo "-" hi }'
}
# loadgen_field RUN OP FIELD: a field of loadgen's RESULT line.
loadgen_field() {
  awk -v op="$2" -v f="$3" '$1 == "RESULT" && $2 == "op=" op {
    for (i = 3; i <= NF; i++) { split($i, kv, "="); if (kv[1] == f) print kv[2] } }' \
    "$OUT/$1.txt"
}
# ratio A B: A/B to two decimals, empty when either is missing.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print ""; else printf "%.2f", a / b }'; }
# verdict RATIO MIN: "met" when RATIO >= MIN.
verdict() {
  awk -v r="$1" -v m="$2" 'BEGIN { if (r == "") print "not measured"; else if (r + 0 >= m + 0) print "met"; else print "**not met**" }'
}
# verdict_max VALUE MAX: "met" when VALUE <= MAX.
verdict_max() {
  awk -v v="$1" -v m="$2" 'BEGIN { if (v == "" || m == "") print "not measured"; else if (v + 0 <= m + 0) print "met"; else print "**not met**" }'
}
or_na() { [ -n "$1" ] && echo "$1" || echo "n/a"; }

# print_commands FROM TO: the recorded commands FROM..TO-1, ports and scratch
# paths replaced by names, build paths shortened.
print_commands() {
  local i c
  echo '```'
  for ((i = $1; i < $2; i++)); do
    c=${COMMANDS[$i]}
    echo "${c//$ROOT\//}" | sed -e "s#$WORK#\$WORK#g" -e 's/--port [0-9][0-9]*/--port PORT/; s/-p [0-9][0-9]* /-p PORT /'
  done
  echo '```'
}
MACHINE="Machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, kernel $(uname -r); scratch dir on $(df -P "$WORK" | awk 'NR == 2 {print $1}')."
REDIS_VERSION=$( [ "$HAVE_REDIS" = 1 ] && redis-server --version | awk '{print $3}' || echo 'not installed')
MADE_BY=bench/compare.sh
[ "$SMOKE" = 1 ] && MADE_BY="$MADE_BY --smoke"
[ -n "$ONLY" ] && MADE_BY="$MADE_BY --only $ONLY"
RESP_COMMANDS_FROM=${RESP_COMMANDS_FROM:-${#COMMANDS[@]}}

RESULTS=$OUT/results.md
MAIN_RAN=0
{ want engine || want sstable || want server; } && MAIN_RAN=1
MAIN_COMPLETE=0
{ want engine && want sstable && want server; } && MAIN_COMPLETE=1
[ "$MAIN_RAN" = 1 ] && {
  echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'); $( [ "$SMOKE" = 1 ] && echo 'SMOKE run (tiny sizes: the figures mean nothing)' || echo 'full run')."
  echo "$MACHINE"
  echo "Load average (1, 5, 15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER."
  echo "Build: $BUILD_TYPE ($BUILD_DIR). Engines in engine_bench: $ENGINES. Redis: $REDIS_VERSION."
  echo
  if want engine; then
    echo "### Engine (engine_bench, --num $NUM, ${VALUE_BYTES}-byte values, ops/sec, median of $REPEAT interleaved rounds)"
    echo
    echo "| workload | lsmd | LevelDB | RocksDB | lsmd/LevelDB | lsmd/RocksDB | target | verdict |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |"
    for w in fillrandom readrandom readmissing scan100 fillseq overwrite readseq; do
      l=$(engine_ops lsmd "$w"); lv=$(engine_ops leveldb "$w"); r=$(engine_ops rocksdb "$w")
      rl=$(ratio "$l" "$lv"); rr=$(ratio "$l" "$r")
      case "$w" in
        fillrandom | readrandom | readmissing | scan100)
          target="≥ 1.0× each"
          vl=$(verdict "$rl" 1.0); vr=$(verdict "$rr" 1.0)
          if [ "$vl" = met ] && [ "$vr" = met ]; then v=met
          elif [ "$vl" = "not measured" ] || [ "$vr" = "not measured" ]; then v="LevelDB: $vl; RocksDB: $vr"
          else v="**not met**"; fi ;;
        *) target="(info)"; v="" ;;
      esac
      echo "| $w | $(or_na "$l") | $(or_na "$lv") | $(or_na "$r") | $(or_na "$rl") | $(or_na "$rr") | $target | $v |"
    done
    echo
    if [ "$REPEAT" -gt 1 ]; then
      echo "Spread over the rounds (min-max ops/sec):"
      echo
      echo "| workload | lsmd | LevelDB | RocksDB |"
      echo "| --- | --- | --- | --- |"
      for w in fillrandom readrandom readmissing scan100 fillseq overwrite readseq; do
        echo "| $w | $(or_na "$(engine_spread lsmd "$w")") | $(or_na "$(engine_spread leveldb "$w")") | $(or_na "$(engine_spread rocksdb "$w")") |"
      done
      echo
    fi
  fi
  if want sstable; then
    echo "### Flush path"
    echo
    SST_MBS=$(sed -n 's/^sstable_build: \([0-9.]*\) MB\/s.*/\1/p' "$OUT/sstable_build.txt")
    DD_MBS=$(awk '/copied/ { for (i = 1; i <= NF; i++) if ($i == "copied,") { b = $1; s = $(i + 1) } }
      END { if (s > 0) printf "%.1f", b / 1048576 / s }' "$OUT/dd.txt")
    SST_RATIO=$(ratio "$SST_MBS" "$DD_MBS")
    echo "| figure | lsmd | dd | lsmd/dd | target | verdict |"
    echo "| --- | ---: | ---: | ---: | --- | --- |"
    echo "| SSTable build of a ${SSTABLE_MIB} MiB MemTable vs dd ${DD_MIB} MiB conv=fdatasync (MiB/s) | $(or_na "$SST_MBS") | $(or_na "$DD_MBS") | $(or_na "$SST_RATIO") | ≥ 0.5 | $(verdict "$SST_RATIO" 0.5) |"
    echo
    echo "\`$(cat "$OUT/sstable_build.txt" | grep '^sstable_build')\`"
    echo
  fi
  if want server; then
    echo "### Server ($CONNECTIONS connections, $REQUESTS requests, ${VALUE_BYTES}-byte values, $KEYS keys; requests/s)"
    echo
    echo "| run | lsmd | Redis | lsmd/Redis | target | verdict | lsmd p50 / p99 ms | Redis p50 / p99 ms |"
    echo "| --- | ---: | ---: | ---: | --- | --- | --- | --- |"
    server_row() {  # label lsmd_run op redis_run redis_test min_ratio
      local l r q v lat rlat
      l=$(loadgen_field "$2" "$3" ops_per_sec)
      r=$(redis_field "$4" "$5" 2)
      q=$(ratio "$l" "$r")
      if [ -n "$6" ]; then v=$(verdict "$q" "$6"); t="≥ $6×"; else v=""; t="(info)"; fi
      lat="$(awk -v a="$(loadgen_field "$2" "$3" p50_us)" -v b="$(loadgen_field "$2" "$3" p99_us)" 'BEGIN { printf "%.2f / %.2f", a / 1000, b / 1000 }')"
      rlat="$(redis_field "$4" "$5" 5) / $(redis_field "$4" "$5" 7)"
      [ "$rlat" = " / " ] && rlat="n/a"
      echo "| $1 | $(or_na "$l") | $(or_na "$r") | $(or_na "$q") | $t | $v | $lat | $rlat |"
    }
    server_row "get, no pipelining (vs GET)" lsmd_none_get get redis_p1 GET 1.0
    server_row "put --sync none, no pipelining (vs SET)" lsmd_none_put put redis_p1 SET 1.0
    server_row "put --sync always, no pipelining (vs SET)" lsmd_always_put put redis_p1 SET 0.5
    server_row "get, pipeline $PIPELINE (vs GET -P $PIPELINE)" lsmd_none_get_pipe get redis_pipe GET 0.5
    server_row "put --sync none, pipeline $PIPELINE (vs SET -P $PIPELINE)" lsmd_none_put_pipe put redis_pipe SET ""
    server_row "put --sync always, pipeline $PIPELINE (vs SET -P $PIPELINE)" lsmd_always_put_pipe put redis_pipe SET ""
    echo
    echo "### Put latency during flushes (lsmd --sync none, flush every $FLUSH_MIB MiB of puts)"
    echo
    P99_FLUSH=$(loadgen_field lsmd_flush put_during_flush p99_us)
    P99_CALM=$(loadgen_field lsmd_flush put_no_flush p99_us)
    FLUSH_RATIO=""
    [ "$(loadgen_field lsmd_flush put_during_flush ops)" != 0 ] && FLUSH_RATIO=$(ratio "$P99_FLUSH" "$P99_CALM")
    echo "| puts answered | count | p50 µs | p99 µs | p99.9 µs | max µs |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: |"
    for op in put_during_flush put_no_flush; do
      echo "| $( [ $op = put_during_flush ] && echo 'while a flush ran' || echo 'while none ran') | $(loadgen_field lsmd_flush $op ops) | $(loadgen_field lsmd_flush $op p50_us) | $(loadgen_field lsmd_flush $op p99_us) | $(loadgen_field lsmd_flush $op p999_us) | $(loadgen_field lsmd_flush $op max_us) |"
    done
    echo
    echo "p99 during / p99 otherwise: $(or_na "$FLUSH_RATIO") (target ≤ 2.0): $(verdict_max "$FLUSH_RATIO" 2.0)."
    echo "\`$(grep '^flushes' "$OUT/lsmd_flush.txt")\`"
    echo
    echo "### Memory"
    echo
    BUDGET_KIB=$(( MEMTABLE_BYTES / 1024 * (1 + MAX_FROZEN) + 64 * 1024 ))
    echo "Peak RSS (VmHWM) of lsmd --sync none after its put run: $((PEAK_RSS_PUT_KIB / 1024)) MiB ($PEAK_RSS_PUT_KIB KiB); budget $((MEMTABLE_BYTES / 1048576)) MiB × (1 + $MAX_FROZEN frozen) + 64 MiB = $((BUDGET_KIB / 1024)) MiB: $(verdict_max "$PEAK_RSS_PUT_KIB" "$BUDGET_KIB"). After all four runs on that server: $((PEAK_RSS_ALL_KIB / 1024)) MiB."
    echo
  fi
  echo "### Commands"
  echo
  echo "Made by \`$MADE_BY\` with BENCH_NUM=$NUM BENCH_REPEAT=$REPEAT BENCH_REQUESTS=$REQUESTS BENCH_KEYS=$KEYS BENCH_CONNECTIONS=$CONNECTIONS BENCH_PIPELINE=$PIPELINE BENCH_VALUE_BYTES=$VALUE_BYTES BENCH_SSTABLE_MIB=$SSTABLE_MIB BENCH_DD_MIB=$DD_MIB BENCH_FLUSH_MIB=$FLUSH_MIB; each step, in order (build paths shortened):"
  echo
  print_commands 0 "$RESP_COMMANDS_FROM"
} >"$RESULTS"

RESP_RESULTS=$OUT/resp-results.md
want resp && {
  echo "Run: $(date -u '+%Y-%m-%d %H:%M UTC'); $( [ "$SMOKE" = 1 ] && echo 'SMOKE run (tiny sizes: the figures mean nothing)' || echo 'full run')$( [ "$HAVE_RESP" = 1 ] && echo "; this section took $RESP_SECONDS s")."
  echo "$MACHINE"
  if [ "$HAVE_RESP" = 1 ]; then
    echo "Load average (1, 5, 15 min) before this section: $RESP_LOAD_BEFORE; after: $RESP_LOAD_AFTER."
    echo "Build: $BUILD_TYPE ($BUILD_DIR). Redis: $REDIS_VERSION; redis-benchmark $(redis-benchmark --version | awk '{print $2}')."
    echo "CPU placement: no taskset, as in the JSON-port comparison: each server and redis-benchmark share all $(nproc) cores. lsmd runs its default I/O threads (one per core), Redis its default single thread."
    echo
    echo "### Redis protocol ($CONNECTIONS connections, $REQUESTS requests, ${VALUE_BYTES}-byte values, $KEYS keys; requests/s, the same redis-benchmark for both)"
    echo
    echo "| run | lsmd | Redis | lsmd/Redis | lsmd p50 / p99 ms | Redis p50 / p99 ms |"
    echo "| --- | ---: | ---: | ---: | --- | --- |"
    resp_row() {  # label lsmd_run redis_run test
      local l r
      l=$(redis_field "$2" "$4" 2)
      r=$(redis_field "$3" "$4" 2)
      echo "| $1 | $(or_na "$l") | $(or_na "$r") | $(or_na "$(ratio "$l" "$r")") | $(redis_field "$2" "$4" 5) / $(redis_field "$2" "$4" 7) | $(redis_field "$3" "$4" 5) / $(redis_field "$3" "$4" 7) |"
    }
    resp_row "GET, no pipelining: lsmd --sync none vs Redis no persistence" lsmd_none_p1 redis_none_p1 GET
    resp_row "SET, no pipelining: lsmd --sync none vs Redis no persistence" lsmd_none_p1 redis_none_p1 SET
    resp_row "GET, -P $PIPELINE: lsmd --sync none vs Redis no persistence" lsmd_none_pipe redis_none_pipe GET
    resp_row "SET, -P $PIPELINE: lsmd --sync none vs Redis no persistence" lsmd_none_pipe redis_none_pipe SET
    resp_row "SET, no pipelining: lsmd --sync always vs Redis appendfsync always" lsmd_always_p1 redis_always_p1 SET
    resp_row "SET, -P $PIPELINE: lsmd --sync always vs Redis appendfsync always" lsmd_always_pipe redis_always_pipe SET
    echo
    echo "Every redis-benchmark run exited 0 with a SET and a GET line and no error or warning, and each server was still up after it; lsmd shut down cleanly each time and $( [ -n "$RESP_SERVER_LOGS" ] && echo "logged, at --log-level warn:" || echo "logged nothing at --log-level warn.")"
    if [ -n "$RESP_SERVER_LOGS" ]; then
      echo
      echo '```'
      cat "$OUT/resp-server-logs.txt"
      echo '```'
    fi
    echo
    echo "### Commands"
    echo
    echo "Made by \`$MADE_BY\` with BENCH_REQUESTS=$REQUESTS BENCH_KEYS=$KEYS BENCH_CONNECTIONS=$CONNECTIONS BENCH_PIPELINE=$PIPELINE BENCH_VALUE_BYTES=$VALUE_BYTES; each step, in order:"
    echo
    print_commands "$RESP_COMMANDS_FROM" "${#COMMANDS[@]}"
  else
    echo
    echo "Not measured: redis-server or redis-benchmark is not installed."
  fi
} >"$RESP_RESULTS"

# write_block DOC NAME FILE [HEADING]: FILE replaces what is between the NAME
# markers of DOC (added at the end, under HEADING, when missing).
write_block() {
  local doc=$1 begin="<!-- compare.sh $2 begin -->" end="<!-- compare.sh $2 end -->"
  [ -f "$doc" ] || printf '# Benchmarks\n' >"$doc"
  if ! grep -qF "$begin" "$doc"; then
    [ -n "${4:-}" ] && printf '\n%s\n' "$4" >>"$doc"
    printf '\n%s\n%s\n' "$begin" "$end" >>"$doc"
  fi
  awk -v begin="$begin" -v end="$end" -v results="$3" '
    $0 == begin { print; while ((getline line < results) > 0) print line; skip = 1; next }
    $0 == end { skip = 0 }
    !skip { print }' "$doc" >"$doc.tmp"
  mv "$doc.tmp" "$doc"
  log "$2 written into $doc"
}

if [ "$MAIN_RAN" = 1 ]; then
  log "results"
  cat "$RESULTS"
fi
if want resp; then
  log "results: Redis protocol"
  cat "$RESP_RESULTS"
fi

if [ -n "$DOC" ]; then
  if [ "$MAIN_COMPLETE" = 1 ]; then
    write_block "$DOC" results "$RESULTS"
  elif [ "$MAIN_RAN" = 1 ]; then
    log "not all of engine, sstable, server ran: the results section of $DOC is left as it is"
  fi
  want resp && write_block "$DOC" "resp results" "$RESP_RESULTS" \
    "## Redis protocol: lsmd against Redis with redis-benchmark"
fi
exit 0
