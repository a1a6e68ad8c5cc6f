#!/usr/bin/env bash
# Cluster smoke test: brings docker/compose.cluster.yaml up under a project
# name of its own, on free loopback ports, and checks against the real
# containers what a user of the file relies on:
#   1. the images build; the nutcracker image is small, non-root, has its
#      PING healthcheck and stops on SIGINT;
#   2. the proxy and the three nodes answer on their published ports, only
#      to a client that logs in with the password (every container gets it
#      from a mounted file, as compose.cluster.yaml says);
#   3. keys written through the proxy read back through it, every node holds
#      a share, and each key is on the node scripts/lsmd-reshard computes
#      from docker/nutcracker/nutcracker.yml (the tool's ring is nutcracker's);
#   4. a node SIGKILLed: its keys fail with an error, the others still work;
#      `compose start` brings it back with every key;
#   5. growing to 4 nodes as docs/CLUSTER.md says (lsmd4, lsmd-reshard copy,
#      the switch to nutcracker-4.yml, lsmd-reshard delete) keeps every key;
#   6. the healthchecks pass; `compose down -v` removes containers and volumes.
#
# Usage: docker/cluster-smoke-test.sh
# Environment:
#   DOCKER=podman           container CLI (default: docker, else podman)
#   COMPOSE="podman-compose" compose command (default: `docker compose`, else
#                           docker-compose, else podman-compose)
#   LSMD_IMAGE=lsmd:latest  the lsmd image to build and run
#   LSMD_CLUSTER_SMOKE_SKIP_BUILD=1  use LSMD_IMAGE as it is (already built);
#                           the small nutcracker image is built in any case
# On a machine without a Docker daemon, ../shared/tools/container-env.sh (next
# to the repository) sets up podman; podman-compose is installed from Debian
# if no compose command is found. Everything this script creates is removed
# on exit, failure included (the images are kept, for the layer cache).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
FILE=$ROOT/docker/compose.cluster.yaml
PROJECT=lsmdclustersmoke$$
export LSMD_IMAGE=${LSMD_IMAGE:-lsmd:latest}
export LSMD_NUTCRACKER_IMAGE=${LSMD_NUTCRACKER_IMAGE:-lsmd-nutcracker:smoke}
DOCKER=${DOCKER:-}
COMPOSE_CMD=()
PYTHON=/usr/bin/python3
MAX_NUTCRACKER_IMAGE_BYTES=$((200 * 1000 * 1000))
KEY_COUNT=3000
STARTED_AT=$SECONDS
WORK_DIR=$(mktemp -d)
# One password for the nodes and the proxy, as compose.cluster.yaml mounts it;
# redis-cli reads REDISCLI_AUTH, lsmd-reshard and the Python checks LSMD_PASSWORD.
export LSMD_PASSWORD=cluster-smoke-$$-$RANDOM REDISCLI_AUTH
REDISCLI_AUTH=$LSMD_PASSWORD
export LSMD_PASSWORD_FILE_HOST=$WORK_DIR/lsmd_password
printf '%s\n' "$LSMD_PASSWORD" >"$LSMD_PASSWORD_FILE_HOST"
chmod 0644 "$LSMD_PASSWORD_FILE_HOST"  # read by the containers' non-root users
UP=0

log() { printf '[cluster-smoke %3ds] %s\n' "$((SECONDS - STARTED_AT))" "$*"; }
pass() { printf '[cluster-smoke %3ds]   ok: %s\n' "$((SECONDS - STARTED_AT))" "$*"; }
fail() {
  printf '[cluster-smoke %3ds] FAIL: %s\n' "$((SECONDS - STARTED_AT))" "$*" >&2
  exit 1
}

compose() { "${COMPOSE_CMD[@]}" -p "$PROJECT" -f "$FILE" "$@"; }

containers() {
  "$DOCKER" ps -a --filter "label=com.docker.compose.project=$PROJECT" --format '{{.Names}}' 2>/dev/null
}

# container SERVICE: the container's name (compose v2: P-S-1, podman-compose: P_S_1).
container() {
  containers | grep -E "^${PROJECT}[-_]$1[-_]1$" | head -1
}

cleanup() {
  local status=$?
  set +e
  if [ "$UP" = 1 ]; then
    if [ "$status" -ne 0 ]; then
      for c in $(containers); do
        echo "--- last log lines of $c:" >&2
        "$DOCKER" logs --tail 20 "$c" >&2 2>&1
      done
    fi
    compose down -v -t 10 >"$WORK_DIR/down.log" 2>&1
    for c in $(containers); do "$DOCKER" rm -f "$c" >/dev/null 2>&1; done
    for v in $("$DOCKER" volume ls -q 2>/dev/null | grep -E "^${PROJECT}[-_]"); do
      "$DOCKER" volume rm -f "$v" >/dev/null 2>&1
    done
  fi
  rm -rf "$WORK_DIR"
  if [ "$status" -eq 0 ]; then
    log "PASSED in $((SECONDS - STARTED_AT)) s"
  else
    log "FAILED (exit $status) after $((SECONDS - STARTED_AT)) s; containers and volumes removed"
  fi
}

###########################################################################
# Engine and compose.

choose_engine() {
  if [ -z "$DOCKER" ]; then
    if command -v docker >/dev/null; then DOCKER=docker; elif command -v podman >/dev/null; then
      DOCKER=podman
    else DOCKER=docker; fi
  fi
  if ! "$DOCKER" info >/dev/null 2>&1; then
    local env_script=$ROOT/../shared/tools/container-env.sh
    [ -x "$env_script" ] || fail "'$DOCKER info' fails and there is no $env_script"
    log "'$DOCKER info' fails: setting up podman with $env_script"
    eval "$("$env_script")"
    command -v "$DOCKER" >/dev/null || DOCKER=podman
    "$DOCKER" info >/dev/null 2>&1 || fail "'$DOCKER info' still fails after $env_script"
  fi
  if [ -n "${COMPOSE:-}" ]; then
    read -r -a COMPOSE_CMD <<<"$COMPOSE"
  elif "$DOCKER" compose version >/dev/null 2>&1; then
    COMPOSE_CMD=("$DOCKER" compose)
  elif command -v docker-compose >/dev/null; then
    COMPOSE_CMD=(docker-compose)
  else
    if ! command -v podman-compose >/dev/null; then
      log "no compose command: installing Debian's podman-compose"
      [ "$(id -u)" = 0 ] || fail "no compose command, and not root to install podman-compose"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman-compose \
        >"$WORK_DIR/apt.log" 2>&1 || {
        apt-get update -qq >/dev/null 2>&1
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
          podman-compose >"$WORK_DIR/apt.log" 2>&1 || { cat "$WORK_DIR/apt.log" >&2; fail "cannot install podman-compose"; }
      }
    fi
    COMPOSE_CMD=(podman-compose)
    # podman-compose drives podman itself: that is the engine then.
    command -v podman >/dev/null && DOCKER=podman
  fi
  log "engine '$DOCKER', compose '${COMPOSE_CMD[*]}' ($("${COMPOSE_CMD[@]}" version 2>/dev/null | tail -1))"
}

free_port() { "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

###########################################################################
# Checks.

build_images() {
  # Podman builds OCI images by default, which drop HEALTHCHECK and STOPSIGNAL.
  local flags=()
  [[ $DOCKER == podman ]] && flags=(--format docker)
  if [ "${LSMD_CLUSTER_SMOKE_SKIP_BUILD:-0}" = 1 ]; then
    "$DOCKER" image inspect "$LSMD_IMAGE" >/dev/null 2>&1 || fail "LSMD_CLUSTER_SMOKE_SKIP_BUILD=1 but no image $LSMD_IMAGE"
    log "1. using the existing lsmd image $LSMD_IMAGE"
  else
    log "1. building $LSMD_IMAGE from $ROOT (its build stage runs the unit tests: minutes)"
    local began=$SECONDS
    "$DOCKER" build "${flags[@]}" --force-rm -t "$LSMD_IMAGE" "$ROOT" >"$WORK_DIR/build.log" 2>&1 || {
      tail -n 60 "$WORK_DIR/build.log" >&2
      fail "docker build of $LSMD_IMAGE failed"
    }
    pass "lsmd image built in $((SECONDS - began)) s"
  fi
  local began=$SECONDS
  "$DOCKER" build "${flags[@]}" --force-rm -t "$LSMD_NUTCRACKER_IMAGE" "$ROOT/docker/nutcracker" \
    >"$WORK_DIR/build-nc.log" 2>&1 || {
    tail -n 40 "$WORK_DIR/build-nc.log" >&2
    fail "docker build of docker/nutcracker failed"
  }
  pass "nutcracker image $LSMD_NUTCRACKER_IMAGE built in $((SECONDS - began)) s"
}

check_nutcracker_image() {
  local size user hc stop
  size=$("$DOCKER" image inspect --format '{{.Size}}' "$LSMD_NUTCRACKER_IMAGE")
  [ "$size" -le "$MAX_NUTCRACKER_IMAGE_BYTES" ] || fail "nutcracker image is $size bytes"
  user=$("$DOCKER" image inspect --format '{{.Config.User}}' "$LSMD_NUTCRACKER_IMAGE")
  [[ $user =~ ^[1-9][0-9]*(:[0-9]+)?$ ]] || fail "nutcracker image user is '$user', not a numeric non-root uid"
  hc=$("$DOCKER" image inspect --format '{{json .Config.Healthcheck}}' "$LSMD_NUTCRACKER_IMAGE")
  if [[ $hc == null ]] && command -v podman >/dev/null; then
    hc=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$LSMD_NUTCRACKER_IMAGE")
  fi
  [[ $hc == *nutcracker-healthcheck* ]] || fail "nutcracker image healthcheck is $hc"
  stop=$("$DOCKER" image inspect --format '{{.Config.StopSignal}}' "$LSMD_NUTCRACKER_IMAGE" 2>/dev/null || true)
  [[ -z $stop || $stop == SIGINT || $stop == 2 ]] || fail "nutcracker image stop signal is $stop"
  pass "nutcracker image: $((size / 1000000)) MB, user $user, healthcheck, stop signal ${stop:-SIGINT}"
}

start_cluster() {
  PROXY_PORT=$(free_port)
  export LSMD_PROXY_PUBLISH=127.0.0.1:$PROXY_PORT LSMD_STATS_PUBLISH=127.0.0.1:$(free_port)
  NODE_PORTS=()
  for i in 1 2 3 4; do
    NODE_PORTS[i]=$(free_port)
    export "LSMD${i}_PUBLISH=127.0.0.1:${NODE_PORTS[i]}"
  done
  log "2. compose up (project $PROJECT): proxy on 127.0.0.1:$PROXY_PORT, nodes on ${NODE_PORTS[*]}"
  UP=1
  compose up -d --no-build >"$WORK_DIR/up.log" 2>&1 || { cat "$WORK_DIR/up.log" >&2; fail "compose up failed"; }
  wait_ping "$PROXY_PORT" "the proxy"
  for i in 1 2 3; do wait_ping "${NODE_PORTS[i]}" "lsmd$i"; done
  pass "the proxy and lsmd1..3 answer PING on their published ports"
}

# wait_ping PORT WHAT: +OK to AUTH, then +PONG, within 60 s.
wait_ping() {
  local deadline=$((SECONDS + 60)) reply
  until reply=$( (exec 3<>"/dev/tcp/127.0.0.1/$1" &&
    printf '*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n*1\r\n$4\r\nPING\r\n' "${#LSMD_PASSWORD}" \
      "$LSMD_PASSWORD" >&3 &&
    IFS= read -r -t 3 line <&3 && [[ $line == "+OK"* ]] &&
    IFS= read -r -t 3 line <&3 && printf '%s' "$line") 2>/dev/null) && [[ $reply == "+PONG"* ]]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$2 does not answer PING on 127.0.0.1:$1 after 60 s"
    sleep 0.5
  done
}

connect_args() {
  local i
  for i in 1 2 3; do printf -- '--connect lsmd%d=127.0.0.1:%d ' "$i" "${NODE_PORTS[i]}"; done
}

write_and_read() {
  log "3. $KEY_COUNT keys through the proxy"
  "$PYTHON" - "$PROXY_PORT" "$KEY_COUNT" "${NODE_PORTS[1]}" "${NODE_PORTS[2]}" "${NODE_PORTS[3]}" <<'PY' || fail "writing or reading through the proxy"
import os, sys, redis
proxy, n, nodes = int(sys.argv[1]), int(sys.argv[2]), [int(p) for p in sys.argv[3:]]
r = redis.Redis(password=os.environ["LSMD_PASSWORD"], host="127.0.0.1", port=proxy, socket_timeout=30)
items = {f"smoke:{i}": f"value-{i}" for i in range(n)}
keys = list(items)
for i in range(0, n, 500):
    assert r.mset({k: items[k] for k in keys[i:i + 500]})
got = r.mget(keys)
bad = [k for k, v in zip(keys, got) if v != items[k].encode()]
assert not bad, f"{len(bad)} keys read back wrong through the proxy: {bad[:5]}"
counts = [redis.Redis(password=os.environ["LSMD_PASSWORD"], host="127.0.0.1", port=p).dbsize() for p in nodes]
assert sum(counts) == n and all(c > 0 for c in counts), counts
print(f"per node: {counts}")
PY
  pass "every key reads back through the proxy; each node holds a share"
  local denied
  denied=$(REDISCLI_AUTH= redis-cli -h 127.0.0.1 -p "$PROXY_PORT" GET smoke:0 2>&1 || true)
  [[ $denied == *NOAUTH* ]] || fail "GET through the proxy without the password answered '$denied'"
  denied=$(REDISCLI_AUTH= redis-cli -h 127.0.0.1 -p "${NODE_PORTS[1]}" GET smoke:0 2>&1 || true)
  [[ $denied == *NOAUTH* ]] || fail "GET on lsmd1 without the password answered '$denied'"
  pass "without the password the proxy and the nodes answer NOAUTH"
  local out
  # shellcheck disable=SC2046
  out=$("$PYTHON" "$ROOT/scripts/lsmd-reshard" plan "$ROOT/docker/nutcracker/nutcracker.yml" \
    "$ROOT/docker/nutcracker/nutcracker.yml" $(connect_args) --json --quiet) || fail "lsmd-reshard plan failed"
  [[ $out == *'"to_move": 0'* && $out == *"\"scanned\": $KEY_COUNT"* ]] ||
    fail "keys are not where lsmd-reshard says: $out"
  pass "each key is on the node lsmd-reshard computes from docker/nutcracker/nutcracker.yml"
}

node_failure() {
  log "4. SIGKILL lsmd2's container"
  local c2 mine other
  c2=$(container lsmd2)
  [ -n "$c2" ] || fail "no container for lsmd2 (containers: $(containers | tr '\n' ' '))"
  local owners
  # shellcheck disable=SC2046
  owners=$("$PYTHON" "$ROOT/scripts/lsmd-reshard" owner "$ROOT/docker/nutcracker/nutcracker.yml" \
    $(seq -f 'smoke:%g' 0 $((KEY_COUNT - 1)))) || fail "lsmd-reshard owner failed"
  mine=$(awk '$2 == "lsmd2" {print $1; exit}' <<<"$owners")
  other=$(awk '$2 != "lsmd2" {print $1; exit}' <<<"$owners")
  [[ -n $mine && -n $other ]] || fail "no smoke key on lsmd2, or none elsewhere"
  "$DOCKER" kill "$c2" >/dev/null 2>&1 || fail "docker kill $c2"
  local deadline=$((SECONDS + 30)) reply
  until reply=$(redis-cli -h 127.0.0.1 -p "$PROXY_PORT" GET "$mine" 2>&1) && [[ $reply == *ERR* ]]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "GET $mine through the proxy still answers '$reply' with lsmd2 dead"
    sleep 0.5
  done
  pass "GET of a key of lsmd2 through the proxy: '$reply'"
  reply=$(redis-cli -h 127.0.0.1 -p "$PROXY_PORT" GET "$other")
  [ "$reply" = "value-${other#smoke:}" ] || fail "GET $other (another node's key) answered '$reply'"
  pass "another node's key still reads: $other = $reply"
  compose start lsmd2 >"$WORK_DIR/start.log" 2>&1 || { cat "$WORK_DIR/start.log" >&2; fail "compose start lsmd2"; }
  wait_ping "${NODE_PORTS[2]}" "lsmd2 (restarted)"
  deadline=$((SECONDS + 30))
  until reply=$(redis-cli -h 127.0.0.1 -p "$PROXY_PORT" GET "$mine" 2>&1) && [ "$reply" = "value-${mine#smoke:}" ]; do
    [ "$SECONDS" -lt "$deadline" ] || fail "after the restart GET $mine answers '$reply'"
    sleep 0.5
  done
  "$PYTHON" - "$PROXY_PORT" "$KEY_COUNT" <<'PY' || fail "keys missing after lsmd2's restart"
import os, sys, redis
r = redis.Redis(password=os.environ["LSMD_PASSWORD"], host="127.0.0.1", port=int(sys.argv[1]))
keys = [f"smoke:{i}" for i in range(int(sys.argv[2]))]
assert r.mget(keys) == [f"value-{i}".encode() for i in range(len(keys))]
PY
  pass "compose start lsmd2: every key reads back through the proxy"
}

scale_to_four() {
  log "5. grow to 4 nodes as docs/CLUSTER.md says: lsmd4, copy, switch, delete"
  local nc=$ROOT/docker/nutcracker out i
  local conn=(--connect "lsmd4=127.0.0.1:${NODE_PORTS[4]}")
  for i in 1 2 3; do conn+=(--connect "lsmd$i=127.0.0.1:${NODE_PORTS[i]}"); done
  if [[ ${COMPOSE_CMD[0]} == podman-compose ]]; then
    log "podman-compose ignores profiles: lsmd4 is already up"
  else
    compose --profile scale up -d --no-build lsmd4 >"$WORK_DIR/up4.log" 2>&1 ||
      { cat "$WORK_DIR/up4.log" >&2; fail "compose --profile scale up -d lsmd4"; }
  fi
  wait_ping "${NODE_PORTS[4]}" "lsmd4"
  out=$("$PYTHON" "$ROOT/scripts/lsmd-reshard" copy "$nc/nutcracker.yml" "$nc/nutcracker-4.yml" \
    "${conn[@]}" --proxy "127.0.0.1:$PROXY_PORT" --json --quiet) || fail "lsmd-reshard copy: $out"
  pass "copy phase: $out"
  LSMD_NUTCRACKER_CONFIG=nutcracker-4.yml compose up -d --no-build --force-recreate nutcracker \
    >"$WORK_DIR/switch.log" 2>&1 || { cat "$WORK_DIR/switch.log" >&2; fail "the switch (up -d nutcracker)"; }
  wait_ping "$PROXY_PORT" "the proxy on nutcracker-4.yml"
  out=$("$PYTHON" "$ROOT/scripts/lsmd-reshard" delete "$nc/nutcracker.yml" "$nc/nutcracker-4.yml" \
    "${conn[@]}" --proxy "127.0.0.1:$PROXY_PORT" --json --quiet) || fail "lsmd-reshard delete: $out"
  pass "switched; delete phase: $out"
  out=$("$PYTHON" "$ROOT/scripts/lsmd-reshard" plan "$nc/nutcracker-4.yml" "$nc/nutcracker-4.yml" \
    "${conn[@]}" --json --quiet) || fail "lsmd-reshard plan"
  [[ $out == *'"to_move": 0'* && $out == *"\"scanned\": $KEY_COUNT"* ]] || fail "after the reshard: $out"
  "$PYTHON" - "$PROXY_PORT" "$KEY_COUNT" "${NODE_PORTS[4]}" <<'PY' || fail "keys after the reshard"
import os, sys, redis
r = redis.Redis(password=os.environ["LSMD_PASSWORD"], host="127.0.0.1", port=int(sys.argv[1]))
keys = [f"smoke:{i}" for i in range(int(sys.argv[2]))]
assert r.mget(keys) == [f"value-{i}".encode() for i in range(len(keys))]
n4 = redis.Redis(password=os.environ["LSMD_PASSWORD"], host="127.0.0.1", port=int(sys.argv[3])).dbsize()
assert n4 > 0, n4
print(f"lsmd4 holds {n4} keys")
PY
  pass "every key is on its node of 4 and reads back through the proxy"
}

check_health() {
  log "6. healthchecks"
  local svc c status deadline
  for svc in nutcracker lsmd1 lsmd2 lsmd3; do
    c=$(container "$svc")
    [ -n "$c" ] || fail "no container for $svc"
    if command -v podman >/dev/null && [[ $DOCKER == podman || ${COMPOSE_CMD[0]} == podman-compose ]]; then
      # Podman runs healthchecks from systemd timers; without systemd, run it.
      podman healthcheck run "$c" >/dev/null || fail "podman healthcheck run $c failed"
    fi
    deadline=$((SECONDS + 60))
    while status=$("$DOCKER" inspect --format '{{.State.Health.Status}}' "$c" 2>/dev/null) &&
      [ "$status" != healthy ]; do
      [ "$status" != unhealthy ] || fail "$c is unhealthy"
      [ "$SECONDS" -lt "$deadline" ] || fail "$c health still '$status' after 60 s"
      sleep 1
    done
    pass "$svc: healthy"
  done
}

tear_down() {
  log "7. compose down -v"
  compose down -v -t 10 >"$WORK_DIR/down.log" 2>&1 || { cat "$WORK_DIR/down.log" >&2; fail "compose down -v"; }
  local left vols
  left=$(containers | tr '\n' ' ')
  vols=$("$DOCKER" volume ls -q 2>/dev/null | grep -E "^${PROJECT}[-_]" | tr '\n' ' ' || true)
  [ -z "$left" ] || fail "containers left after down: $left"
  [ -z "$vols" ] || fail "volumes left after down -v: $vols"
  UP=0
  pass "no container or volume of $PROJECT is left"
}

main() {
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  [ -x "$PYTHON" ] && "$PYTHON" -c 'import redis, yaml' 2>/dev/null ||
    fail "needs Debian's python3-redis and python3-yaml"
  command -v redis-cli >/dev/null || fail "needs redis-cli (redis-tools)"
  choose_engine
  build_images
  check_nutcracker_image
  start_cluster
  write_and_read
  node_failure
  scale_to_four
  check_health
  tear_down
}

main "$@"
