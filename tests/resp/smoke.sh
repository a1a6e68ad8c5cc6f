#!/usr/bin/env bash
# Shell-level smoke test of the RESP listener, the way a script or an operator
# would use it: start the server with the final flags, wait for the port
# files, talk to it with redis-cli (and to the JSON port with bash's
# /dev/tcp), stop it with SIGTERM (exit 0), restart it on the same data
# directory and find the data again.
#
# Usage: tests/resp/smoke.sh            (LSMD_TEST_TARGET=lsmd|redis, LSMD_BINARY as in run.sh)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${LSMD_TEST_TARGET:-lsmd}
bin=${LSMD_BINARY:-build/test/server/lsmd}
case $bin in /*) ;; *) bin=$root/$bin ;; esac
redis_server=${REDIS_SERVER:-/usr/bin/redis-server}

work=$(mktemp -d /tmp/lsmd-resp-smoke.XXXXXX)
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "smoke.sh FAIL: $*" >&2
  if [ -f "$work/stderr" ]; then echo "--- server stderr ---" >&2; tail -n 40 "$work/stderr" >&2; fi
  exit 1
}

# wait_port_file FILE: prints the port once FILE holds "<port>\n" (20 s max).
wait_port_file() {
  local f=$1 i
  for ((i = 0; i < 400; i++)); do
    if [ -s "$f" ]; then
      # Written atomically: all of "<port>\n" or nothing.
      [ "$(wc -l <"$f")" -eq 1 ] && [ "$(tail -c 1 "$f" | od -An -tx1 | tr -d ' ')" = 0a ] ||
        fail "$f is not one line ending in a newline: '$(cat "$f")'"
      grep -qxE '[0-9]+' "$f" || fail "$f holds '$(cat "$f")', not a port"
      cat "$f"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || fail "server exited before writing $f"
    sleep 0.05
  done
  fail "no $f after 20 s"
}

start() {
  rm -f "$work/json.port" "$work/resp.port"
  if [ "$target" = lsmd ]; then
    "$bin" --listen 127.0.0.1:0 --port-file "$work/json.port" \
      --resp-listen 127.0.0.1:0 --resp-port-file "$work/resp.port" \
      --data-dir "$work/data" --sync always 2>>"$work/stderr" &
    pid=$!
    json_port=$(wait_port_file "$work/json.port")
    resp_port=$(wait_port_file "$work/resp.port")
  else
    resp_port=$("${PYTHON:-/usr/bin/python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$redis_server" --port "$resp_port" --save '' --appendonly no --bind 127.0.0.1 \
      --databases 1 --dir "$work" >>"$work/stderr" 2>&1 &
    pid=$!
    for ((i = 0; i < 400; i++)); do
      [ "$(redis-cli -p "$resp_port" PING 2>/dev/null)" = PONG ] && break
      kill -0 "$pid" 2>/dev/null || fail "redis-server exited at startup"
      sleep 0.05
    done
  fi
}

stop() {
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  pid=
  [ "$rc" -eq 0 ] || fail "server exited $rc after SIGTERM, not 0"
}

cli() { redis-cli -h 127.0.0.1 -p "$resp_port" "$@"; }

expect() { # expect WANT COMMAND...
  local want=$1 got
  shift
  got=$("$@") || fail "'$*' exited $?"
  [ "$got" = "$want" ] || fail "'$*' printed '$got', want '$want'"
}

start
expect PONG cli PING
expect OK cli SET smoke:key "hello smoke"
expect "hello smoke" cli GET smoke:key
expect 1 cli EXISTS smoke:key
expect "ERR wrong number of arguments for 'get' command" cli GET
expect OK cli QUIT

if [ "$target" = lsmd ]; then
  # The JSON port sees the RESP write.
  exec 3<>"/dev/tcp/127.0.0.1/$json_port"
  printf '{"type":"get","key":"smoke:key","msg_id":1}\n' >&3
  IFS= read -r -t 10 line <&3 || fail "no reply on the JSON port"
  exec 3>&-
  case $line in
    *'"type": "get_ok"'*'"found": true, "value": "hello smoke"'*) ;;
    *) fail "JSON port get replied: $line" ;;
  esac
fi

stop

if [ "$target" = lsmd ]; then
  # A clean restart on the same data directory finds what was written.
  start
  expect "hello smoke" cli GET smoke:key
  stop
fi

echo "smoke.sh: ok ($target)"
