#!/usr/bin/env bash
# Container smoke test: builds the image and checks, against real containers,
# what a user of the image relies on:
#   1. the image: non-root user, exec-form entrypoint, /data volume, ports 7070
#      and 6379, a HEALTHCHECK that runs lsmd itself, size <= 150 MB;
#   2. a container with a fresh named volume serves TCP on the published port,
#      takes LSMD_* settings from its environment, runs lsmd as PID 1 and
#      non-root, answers puts, gets and sstable_flush; its Redis protocol port
#      (6379) answers redis-cli PING, SET and GET, and a value written there
#      (a binary one too) reads back on the JSON port, and the other way round;
#   3. `docker stop` (SIGTERM) ends it with exit code 0 within the grace period;
#   4. a new container on the same volume reads every key back (the one
#      written over RESP too) and its healthcheck reports healthy;
#   5. SIGKILL in the middle of writes: a new container on the volume still has
#      every write that was acknowledged;
#   6. the image refuses to start with neither a password nor
#      LSMD_PROTECTED_MODE=no, saying so in one line; and with a password,
#      clients that have not logged in get NOAUTH / error 1001, never data.
# Every container but those of step 6 gets its password as a Docker secret
# would: a read-only file mounted at /run/secrets/lsmd_password, named by
# LSMD_PASSWORD_FILE.
#
# Usage: docker/smoke-test.sh
# Needs redis-cli on the host (Debian's redis-tools; installed with
# scripts/install-deps.sh when missing).
# Environment:
#   DOCKER=podman          container CLI to use (default: docker, else podman)
#   LSMD_IMAGE=lsmd:smoke  tag to build and test
#   LSMD_SMOKE_SKIP_BUILD=1  test an already built LSMD_IMAGE
# On a machine without a Docker daemon, ../shared/tools/container-env.sh (next
# to the repository) is used to set up podman behind a Docker-API socket.
# Only commands both docker and podman accept are used. Containers and volumes
# this script creates are removed on exit, failure included; the image is kept
# so the layer cache makes the next run fast.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGE=${LSMD_IMAGE:-lsmd:smoke}
DOCKER=${DOCKER:-}  # chosen by choose_engine
RUN_ID=lsmd-smoke-$$
PORT=""        # host ports of the current container: JSON lines,
RESP_PORT=""   # and the Redis protocol
VOLUME=$RUN_ID-data
GRACE_SECONDS=30
MAX_IMAGE_BYTES=$((150 * 1000 * 1000))
KEY_COUNT=300
STARTED_AT=$SECONDS

CONTAINERS=()   # every container created, removed by cleanup
CONN=""         # fd of the open client connection, if any
WORK_DIR=$(mktemp -d)
PASSWORD=smoke-pw-$RUN_ID-$RANDOM
PASSWORD_FILE=$WORK_DIR/lsmd_password

log() { printf '[smoke %3ds] %s\n' "$((SECONDS - STARTED_AT))" "$*"; }
pass() { printf '[smoke %3ds]   ok: %s\n' "$((SECONDS - STARTED_AT))" "$*"; }
fail() {
  printf '[smoke %3ds] FAIL: %s\n' "$((SECONDS - STARTED_AT))" "$*" >&2
  exit 1
}

cleanup() {
  local status=$?
  set +e
  [ -n "$CONN" ] && exec {CONN}>&-
  # Leave no writer behind: it only talks to a container about to be removed.
  jobs -p | xargs -r kill 2>/dev/null
  if [ "$status" -ne 0 ]; then
    for c in "${CONTAINERS[@]}"; do
      echo "--- last log lines of $c:" >&2
      "$DOCKER" logs --tail 30 "$c" >&2 2>&1
    done
  fi
  if [ -n "$DOCKER" ]; then
    for c in "${CONTAINERS[@]}"; do "$DOCKER" rm -f "$c" >/dev/null 2>&1; done
    "$DOCKER" volume rm -f "$VOLUME" >/dev/null 2>&1
  fi
  rm -rf "$WORK_DIR"
  if [ "$status" -eq 0 ]; then
    log "PASSED in $((SECONDS - STARTED_AT)) s"
  else
    log "FAILED (exit $status) after $((SECONDS - STARTED_AT)) s; containers and volume removed"
  fi
}

###########################################################################
# Container engine.

choose_engine() {
  if [ -z "$DOCKER" ]; then
    if command -v docker >/dev/null; then
      DOCKER=docker
    elif command -v podman >/dev/null; then
      DOCKER=podman
    else
      DOCKER=docker  # container-env.sh may install podman and the socket
    fi
  fi
  if ! "$DOCKER" info >/dev/null 2>&1; then
    local env_script=$ROOT/../shared/tools/container-env.sh
    [ -x "$env_script" ] || fail "'$DOCKER info' fails and there is no $env_script"
    log "'$DOCKER info' fails: setting up podman with $env_script"
    eval "$("$env_script")"
    if ! command -v "$DOCKER" >/dev/null; then DOCKER=podman; fi
    "$DOCKER" info >/dev/null 2>&1 || fail "'$DOCKER info' still fails after $env_script"
  fi
  # Podman answers the Docker API too; its engine name shows in `version`.
  # (Captured first: `| grep -q` could end the pipe early, and pipefail would
  # then see docker's SIGPIPE as a failure.)
  local version
  version=$("$DOCKER" version 2>/dev/null || true)
  if [[ ${version,,} == *podman* ]]; then ENGINE=podman; else ENGINE=docker; fi
  log "using '$DOCKER' (engine: $ENGINE)"
}

inspect() { "$DOCKER" inspect --format "$2" "$1"; }

###########################################################################
# Talking to lsmd over TCP with bash's /dev/tcp: nothing beyond bash needed.

# connect PORT: opens the connection and logs in.
connect() {
  local port=$1
  exec {CONN}<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to 127.0.0.1:$port"
  request "{\"type\":\"auth\",\"msg_id\":0,\"password\":\"$PASSWORD\"}"
  [[ $REPLY_LINE == '{"type": "auth_ok", "in_reply_to": 0, '* ]] ||
    fail "auth: expected auth_ok, got: $REPLY_LINE"
}

disconnect() {
  exec {CONN}>&-
  CONN=""
}

# request LINE: sends one request line, sets REPLY_LINE to the reply line.
request() {
  printf '%s\n' "$1" 1>&"$CONN" || fail "sending '$1' failed"
  IFS= read -r -t 10 REPLY_LINE <&"$CONN" || fail "no reply within 10 s to '$1'"
}

# put_key MSG_ID KEY VALUE: fails unless the reply is put_ok for MSG_ID.
put_key() {
  request "{\"type\":\"put\",\"msg_id\":$1,\"key\":\"$2\",\"value\":\"$3\"}"
  [[ $REPLY_LINE == "{\"type\": \"put_ok\", \"in_reply_to\": $1, "* ]] ||
    fail "put $2: expected put_ok, got: $REPLY_LINE"
}

# expect_value MSG_ID KEY VALUE: fails unless get KEY finds exactly VALUE.
expect_value() {
  request "{\"type\":\"get\",\"msg_id\":$1,\"key\":\"$2\"}"
  [[ $REPLY_LINE == "{\"type\": \"get_ok\", \"in_reply_to\": $1, "*", \"found\": true, \"value\": \"$3\"}" ]] ||
    fail "get $2: expected value '$3', got: $REPLY_LINE"
}

# smoke_key_value N: sets KEY and VALUE of the Nth smoke key (printf -v: no
# subshell per key, which matters on a loaded machine).
smoke_key_value() {
  printf -v KEY 'smoke:%04d' "$1"
  printf -v VALUE 'v%04d-%s' "$1" "$RUN_ID"
}

# redis ARGS...: redis-cli against the container's published RESP port. Its
# output is raw (not a terminal): a reply's text, one line per element.
redis() {
  timeout 10 redis-cli -h 127.0.0.1 -p "$RESP_PORT" -a "$PASSWORD" --no-auth-warning "$@"
}

ensure_redis_cli() {
  if ! command -v redis-cli >/dev/null; then
    log "no redis-cli on this machine: installing redis-tools"
    "$ROOT/scripts/install-deps.sh" redis-tools >&2 || fail "could not install redis-tools"
  fi
  command -v redis-cli >/dev/null || fail "redis-cli not found (apt-get install redis-tools)"
}

###########################################################################
# Containers.

# start_container NAME [docker run options...]: runs the image on the volume
# with both ports published on loopback ports the engine picks; sets PORT
# (JSON lines, 7070 inside) and RESP_PORT (Redis protocol, 6379 inside).
start_container() {
  local name=$1
  shift
  CONTAINERS+=("$name")
  # stderr is kept for a failure only: podman without systemd logs an error
  # about healthcheck timers on every run and stop, which is expected.
  "$DOCKER" run -d --name "$name" -v "$VOLUME:/data" -p 127.0.0.1::7070 -p 127.0.0.1::6379 \
    -v "$PASSWORD_FILE:/run/secrets/lsmd_password:ro" \
    -e LSMD_PASSWORD_FILE=/run/secrets/lsmd_password \
    --stop-timeout "$GRACE_SECONDS" "$@" "$IMAGE" >/dev/null 2>"$WORK_DIR/run.err" || {
    cat "$WORK_DIR/run.err" >&2
    fail "docker run $name failed"
  }
  PORT=$("$DOCKER" port "$name" 7070/tcp | sed -n '1s/.*://p')
  [[ $PORT =~ ^[0-9]+$ ]] || fail "no published port for $name: '$PORT'"
  RESP_PORT=$("$DOCKER" port "$name" 6379/tcp | sed -n '1s/.*://p')
  [[ $RESP_PORT =~ ^[0-9]+$ ]] || fail "no published RESP port for $name: '$RESP_PORT'"
  wait_serving "$name"
  log "$name serves on 127.0.0.1:$PORT (host) -> 7070 (container), RESP 127.0.0.1:$RESP_PORT -> 6379"
}

# wait_serving NAME: until `lsmd --check` in the container and a stats request
# from the host both succeed (30 s at most).
wait_serving() {
  local name=$1 deadline=$((SECONDS + 30))
  until "$DOCKER" exec "$name" lsmd --check 127.0.0.1:7070 >/dev/null 2>&1; do
    [ "$(inspect "$name" '{{.State.Running}}')" = true ] || fail "$name exited while starting"
    [ "$SECONDS" -lt "$deadline" ] || fail "$name not serving after 30 s"
    sleep 0.5
  done
  until (exec 3<>"/dev/tcp/127.0.0.1/$PORT" &&
    printf '{"type":"auth","password":"%s"}\n{"type":"stats"}\n' "$PASSWORD" >&3 &&
    IFS= read -r -t 5 line <&3 && [[ $line == '{"type": "auth_ok"'* ]] &&
    IFS= read -r -t 5 line <&3 && [[ $line == '{"type": "stats_ok"'* ]]) 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$name not reachable on host port $PORT after 30 s"
    sleep 0.5
  done
  until [ "$(redis PING 2>/dev/null)" = PONG ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$name: no PONG on host RESP port $RESP_PORT after 30 s"
    sleep 0.5
  done
}

# stop_cleanly NAME: docker stop (SIGTERM), then exit code 0 within the grace.
stop_cleanly() {
  local name=$1 began=$SECONDS
  "$DOCKER" stop -t "$GRACE_SECONDS" "$name" >/dev/null 2>"$WORK_DIR/stop.err" || {
    cat "$WORK_DIR/stop.err" >&2
    fail "docker stop $name failed"
  }
  local took=$((SECONDS - began)) code
  code=$(inspect "$name" '{{.State.ExitCode}}')
  [ "$code" = 0 ] || fail "$name exited with code $code after SIGTERM (137 means it was killed)"
  [ "$took" -lt "$GRACE_SECONDS" ] || fail "$name took ${took}s to stop (grace ${GRACE_SECONDS}s)"
  pass "docker stop $name: exit code 0 after ${took}s (grace ${GRACE_SECONDS}s)"
}

# check_healthy NAME: the healthcheck command passes and the engine's health
# status says healthy.
check_healthy() {
  local name=$1 status
  "$DOCKER" exec "$name" lsmd --check 127.0.0.1:7070 ||
    fail "lsmd --check 127.0.0.1:7070 failed inside $name"
  pass "the healthcheck command (lsmd --check 127.0.0.1:7070) exits 0 inside $name"
  if [ "$ENGINE" = podman ]; then
    # Podman schedules healthchecks with systemd timers; without systemd (as in
    # CI containers) nothing runs them, so run the image's HEALTHCHECK once.
    command -v podman >/dev/null || {
      log "podman engine but no podman CLI: health status not checked"
      return
    }
    podman healthcheck run "$name" >/dev/null || fail "podman healthcheck run $name failed"
  fi
  local deadline=$((SECONDS + 45))
  while status=$(inspect "$name" '{{.State.Health.Status}}') && [ "$status" != healthy ]; do
    [ "$status" != unhealthy ] || fail "$name health status is unhealthy"
    [ "$SECONDS" -lt "$deadline" ] || fail "$name health status still '$status' after 45 s"
    sleep 1
  done
  pass "$name health status: healthy ($ENGINE runs the image's HEALTHCHECK)"
}

###########################################################################
# The checks.

check_image() {
  local size user entrypoint healthcheck ports volumes env
  size=$("$DOCKER" image inspect --format '{{.Size}}' "$IMAGE")
  [ "$size" -le "$MAX_IMAGE_BYTES" ] || fail "image is $size bytes, over $MAX_IMAGE_BYTES"
  pass "image size $((size / 1000000)) MB ($size bytes) <= 150 MB"
  user=$("$DOCKER" image inspect --format '{{.Config.User}}' "$IMAGE")
  [[ -n $user && $user != 0 && $user != 0:* && $user != root && $user != root:* ]] ||
    fail "image user is '$user', not a non-root user"
  pass "image runs as user $user"
  entrypoint=$("$DOCKER" image inspect --format '{{json .Config.Entrypoint}}' "$IMAGE")
  [ "$entrypoint" = '["lsmd"]' ] || fail "entrypoint is $entrypoint, not the exec form [\"lsmd\"]"
  pass "exec-form entrypoint $entrypoint"
  healthcheck=$("$DOCKER" image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")
  if [[ $healthcheck == null && $ENGINE == podman ]] && command -v podman >/dev/null; then
    # Podman 4.3's Docker-API image inspect leaves the healthcheck out.
    healthcheck=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")
  fi
  [[ $healthcheck == *'"lsmd","--check","127.0.0.1:7070"'* ]] ||
    fail "image healthcheck is $healthcheck, not lsmd --check 127.0.0.1:7070"
  pass "healthcheck $healthcheck"
  ports=$("$DOCKER" image inspect --format '{{json .Config.ExposedPorts}}' "$IMAGE")
  volumes=$("$DOCKER" image inspect --format '{{json .Config.Volumes}}' "$IMAGE")
  env=$("$DOCKER" image inspect --format '{{json .Config.Env}}' "$IMAGE")
  [[ $ports == *'"7070/tcp"'* ]] || fail "port 7070 not exposed: $ports"
  [[ $ports == *'"6379/tcp"'* ]] || fail "port 6379 (RESP) not exposed: $ports"
  [[ $volumes == *'"/data"'* ]] || fail "/data is not a volume: $volumes"
  [[ $env == *'"LSMD_RESP_LISTEN=0.0.0.0:6379"'* ]] || fail "LSMD_RESP_LISTEN=0.0.0.0:6379 not set: $env"
  pass "exposes $ports, volume $volumes, LSMD_RESP_LISTEN=0.0.0.0:6379"
}

check_process() {
  local name=$1 comm uid
  comm=$("$DOCKER" exec "$name" cat /proc/1/comm)
  [ "$comm" = lsmd ] || fail "PID 1 in $name is '$comm', not lsmd"
  uid=$("$DOCKER" exec "$name" cat /proc/1/status | awk '/^Uid:/ {print $2}')
  [ "$uid" != 0 ] || fail "lsmd runs as root in $name"
  pass "lsmd is PID 1 in $name, uid $uid"
}

write_keys() {
  local i
  connect "$PORT"
  for ((i = 1; i <= KEY_COUNT; i++)); do
    smoke_key_value "$i"
    put_key "$i" "$KEY" "$VALUE"
  done
  pass "$KEY_COUNT puts acknowledged (put_ok)"
  smoke_key_value 1
  expect_value 100000 "$KEY" "$VALUE"
  pass "get smoke:0001 before the flush: $REPLY_LINE"
  request '{"type":"sstable_flush","msg_id":100001}'
  [[ $REPLY_LINE == '{"type": "sstable_flush_ok", "in_reply_to": 100001, '* ]] ||
    fail "expected sstable_flush_ok, got: $REPLY_LINE"
  pass "sstable_flush: $REPLY_LINE"
  # Written after the flush: these live only in the WAL and MemTable until
  # the clean shutdown.
  smoke_key_value 0
  put_key 100002 smoke:after-flush "$VALUE"
  disconnect
}

read_keys_back() {
  local i
  connect "$PORT"
  for ((i = 1; i <= KEY_COUNT; i++)); do
    smoke_key_value "$i"
    expect_value "$i" "$KEY" "$VALUE"
  done
  smoke_key_value 0
  expect_value 100000 smoke:after-flush "$VALUE"
  request '{"type":"get","msg_id":100001,"key":"smoke:never-written"}'
  [[ $REPLY_LINE == *'"found": false}' ]] || fail "a key never written was found: $REPLY_LINE"
  disconnect
  pass "all $((KEY_COUNT + 1)) keys read back with their values; an unwritten key is not found"
  local reply
  reply=$(redis GET resp:smoke) || fail "redis-cli GET resp:smoke failed"
  [ "$reply" = "r-$RUN_ID" ] || fail "redis-cli GET resp:smoke after restart: got '$reply'"
  pass "the key written over RESP reads back over RESP after the restart"
}

# check_resp: redis-cli PING, SET and GET on the RESP port; a value written
# there reads back on the JSON port (a non-UTF-8 one as base64), and a key
# written on the JSON port reads back over RESP. Run after write_keys.
check_resp() {
  local reply
  reply=$(redis PING) || fail "redis-cli PING failed"
  [ "$reply" = PONG ] || fail "redis-cli PING: expected PONG, got '$reply'"
  reply=$(redis SET resp:smoke "r-$RUN_ID") || fail "redis-cli SET failed"
  [ "$reply" = OK ] || fail "redis-cli SET resp:smoke: expected OK, got '$reply'"
  reply=$(redis GET resp:smoke) || fail "redis-cli GET failed"
  [ "$reply" = "r-$RUN_ID" ] || fail "redis-cli GET resp:smoke: expected 'r-$RUN_ID', got '$reply'"
  pass "redis-cli on 127.0.0.1:$RESP_PORT: PING -> PONG, SET -> OK, GET -> r-$RUN_ID"
  # -x: the last argument is stdin, so the value can hold any bytes.
  reply=$(printf '\377\000' | redis -x SET resp:binary) || fail "redis-cli -x SET failed"
  [ "$reply" = OK ] || fail "redis-cli -x SET resp:binary: expected OK, got '$reply'"
  connect "$PORT"
  expect_value 200001 resp:smoke "r-$RUN_ID"
  request '{"type":"get","msg_id":200002,"key":"resp:binary"}'
  [[ $REPLY_LINE == *'"found": true, "value": {"base64": "/wA="}}' ]] ||
    fail "get resp:binary on the JSON port: expected base64 /wA=, got: $REPLY_LINE"
  disconnect
  pass "values written over RESP read back on the JSON port (0xff 0x00 as {\"base64\": \"/wA=\"})"
  smoke_key_value 1
  reply=$(redis GET "$KEY") || fail "redis-cli GET $KEY failed"
  [ "$reply" = "$VALUE" ] || fail "redis-cli GET $KEY (written as JSON): expected '$VALUE', got '$reply'"
  pass "a key put on the JSON port reads back over RESP"
}

# crash_writer PORT ACKED_FILE: puts crash:N until the connection dies,
# appending N to ACKED_FILE after each put_ok (so the file lists only writes
# the server acknowledged).
crash_writer() {
  local port=$1 acked=$2 fd i=0 reply
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || return 0
  printf '{"type":"auth","password":"%s"}\n' "$PASSWORD" 1>&"$fd" 2>/dev/null || return 0
  IFS= read -r -t 10 reply <&"$fd" 2>/dev/null || return 0
  [[ $reply == '{"type": "auth_ok"'* ]] || return 0
  while :; do
    i=$((i + 1))
    printf '{"type":"put","msg_id":%d,"key":"crash:%06d","value":"c%d-%s"}\n' \
      "$i" "$i" "$i" "$RUN_ID" 1>&"$fd" 2>/dev/null || break
    IFS= read -r -t 10 reply <&"$fd" 2>/dev/null || break
    [[ $reply == "{\"type\": \"put_ok\", \"in_reply_to\": $i, "* ]] || break
    echo "$i" >>"$acked"
  done
}

kill_during_writes() {
  local name=$1 acked=$WORK_DIR/acked writer deadline count
  : >"$acked"
  crash_writer "$PORT" "$acked" &
  writer=$!
  deadline=$((SECONDS + 30))
  # Kill once a good number of writes is acknowledged, while more are in flight.
  until [ "$(wc -l <"$acked")" -ge 200 ]; do
    kill -0 "$writer" 2>/dev/null || fail "the writer stopped before the kill"
    [ "$SECONDS" -lt "$deadline" ] || fail "fewer than 200 writes acknowledged in 30 s"
    sleep 0.1
  done
  "$DOCKER" kill -s KILL "$name" >/dev/null
  local code
  code=$("$DOCKER" wait "$name")
  [ "$code" = 137 ] || fail "$name exit code $code after SIGKILL, expected 137"
  wait "$writer" || true
  count=$(wc -l <"$acked")
  pass "SIGKILL'ed $name (exit code 137) during writes; $count writes were acknowledged"
  ACKED_FILE=$acked
}

check_acknowledged_survive() {
  local i key count=0
  connect "$PORT"
  while read -r i; do
    printf -v key 'crash:%06d' "$i"
    expect_value "$i" "$key" "c$i-$RUN_ID"
    count=$((count + 1))
  done <"$ACKED_FILE"
  disconnect
  [ "$count" -gt 0 ] || fail "no acknowledged writes to check"
  pass "all $count acknowledged writes survived the SIGKILL"
}

# check_refuses_open_start: no password and no LSMD_PROTECTED_MODE=no: the
# container exits 2 at once with one line saying what to set.
check_refuses_open_start() {
  local name=$RUN_ID-open code logs lines
  CONTAINERS+=("$name")
  "$DOCKER" run -d --name "$name" "$IMAGE" >/dev/null 2>"$WORK_DIR/run.err" || {
    cat "$WORK_DIR/run.err" >&2
    fail "docker run $name failed"
  }
  code=$("$DOCKER" wait "$name")
  [ "$code" = 2 ] || fail "$name (no password) exit code $code, expected 2"
  logs=$("$DOCKER" logs "$name" 2>&1)
  lines=$(printf '%s\n' "$logs" | grep -c . || true)
  [ "$lines" = 1 ] || fail "$name: expected one line of output, got: $logs"
  [[ $logs == *LSMD_PASSWORD_FILE* && $logs == *LSMD_PROTECTED_MODE=no* ]] ||
    fail "$name: the line does not say what to set: $logs"
  pass "without a password the image refuses to start (exit 2): ${logs##*error\] }"
}

# check_login_required NAME: a client that has not logged in is refused on
# both ports.
check_login_required() {
  local reply line
  reply=$(timeout 10 redis-cli -h 127.0.0.1 -p "$RESP_PORT" GET smoke:0001) ||
    fail "redis-cli GET without a password failed to run"
  [[ $reply == NOAUTH* ]] || fail "GET without logging in: expected NOAUTH, got '$reply'"
  line=$( (exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf '{"type":"get","key":"smoke:0001"}\n' >&3 &&
    IFS= read -r -t 5 line <&3 && printf '%s' "$line") 2>/dev/null) || true
  [[ $line == *'"code": 1001'* && $line != *'"value"'* ]] ||
    fail "JSON get without logging in: expected error 1001, got '$line'"
  pass "without logging in: RESP NOAUTH, JSON error 1001, no data on either port"
}

main() {
  trap cleanup EXIT
  # Interrupted is failed: without these the EXIT trap would see status 0.
  trap 'exit 130' INT
  trap 'exit 143' TERM
  choose_engine
  ensure_redis_cli

  if [ "${LSMD_SMOKE_SKIP_BUILD:-0}" = 1 ]; then
    log "1. testing the existing image $IMAGE (LSMD_SMOKE_SKIP_BUILD=1)"
  else
    log "1. building $IMAGE from $ROOT (build stage runs the unit tests)"
    local began=$SECONDS
    "$DOCKER" build --force-rm -t "$IMAGE" "$ROOT" >"$WORK_DIR/build.log" 2>&1 || {
      tail -n 60 "$WORK_DIR/build.log" >&2
      fail "docker build failed (last 60 lines above)"
    }
    pass "image built in $((SECONDS - began)) s"
  fi
  check_image

  printf '%s\n' "$PASSWORD" >"$PASSWORD_FILE"
  chmod 0644 "$PASSWORD_FILE"  # read by the container's non-root user
  "$DOCKER" volume create "$VOLUME" >/dev/null
  log "2. first container on the fresh volume $VOLUME, settings from LSMD_* variables"
  # A small MemTable so writes also flush in the background.
  start_container "$RUN_ID-a" -e LSMD_MEMTABLE_BYTES=8192 -e LSMD_LOG_LEVEL=info
  check_process "$RUN_ID-a"
  local logs
  logs=$("$DOCKER" logs "$RUN_ID-a" 2>&1)
  [[ $logs == *0.0.0.0:7070* ]] || fail "start line does not show 0.0.0.0:7070: $logs"
  [[ $logs == *"RESP 0.0.0.0:6379"* ]] || fail "start line does not show RESP 0.0.0.0:6379: $logs"
  [[ $logs == *memtable_bytes=8192* ]] || fail "LSMD_MEMTABLE_BYTES=8192 not applied: $logs"
  pass "listening on 0.0.0.0:7070 and RESP 0.0.0.0:6379 in the container; LSMD_MEMTABLE_BYTES applied"
  write_keys
  check_resp

  log "3. docker stop (SIGTERM) the first container"
  stop_cleanly "$RUN_ID-a"

  log "4. second container on the same volume: read everything back (RESP too), health"
  start_container "$RUN_ID-b"
  read_keys_back
  check_healthy "$RUN_ID-b"

  log "5. SIGKILL the second container in the middle of writes"
  kill_during_writes "$RUN_ID-b"
  start_container "$RUN_ID-c"
  check_acknowledged_survive
  read_keys_back

  log "6. passwords: no start without one, no data without logging in"
  check_login_required
  stop_cleanly "$RUN_ID-c"
  check_refuses_open_start
}

main "$@"
