#!/usr/bin/env bash
# Runs the RESP (Redis protocol) integration suite against the real lsmd
# binary, or with --target redis against redis-server, to prove the suite's
# Redis-compatible assertions are what Redis really does.
#
# Usage: tests/resp/run.sh [--target lsmd|redis] [extra pytest arguments...]
#   LSMD_BINARY  the lsmd to test (default build/test/server/lsmd; relative
#                paths are taken from the repository root)
# Exits non-zero on any failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

target=${LSMD_TEST_TARGET:-lsmd}
pytest_args=()
while [ $# -gt 0 ]; do
  case $1 in
    --target) target=${2:?--target needs lsmd or redis}; shift 2 ;;
    --target=*) target=${1#--target=}; shift ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) pytest_args+=("$1"); shift ;;
  esac
done
case $target in lsmd | redis) ;; *) echo "run.sh: --target must be lsmd or redis" >&2; exit 2 ;; esac

extra=()
[ "$target" = redis ] && extra=(redis-server)
"$root/scripts/install-deps.sh" redis-tools python3-redis python3-pytest iproute2 openssl \
  python3-cryptography "${extra[@]}"

export LSMD_TEST_TARGET=$target
export LSMD_BINARY=${LSMD_BINARY:-build/test/server/lsmd}
case $LSMD_BINARY in /*) ;; *) LSMD_BINARY=$root/$LSMD_BINARY ;; esac
export PYTHONDONTWRITEBYTECODE=1  # leave no __pycache__ in the tree
# Debian's python3-redis and python3-pytest live in the system Python.
python=${PYTHON:-/usr/bin/python3}

if [ "$target" = lsmd ]; then
  [ -x "$LSMD_BINARY" ] || { echo "run.sh: $LSMD_BINARY is not built" >&2; exit 1; }
  # Captured first: `| grep -q` may close the pipe before lsmd has written
  # all of its help, and under pipefail the SIGPIPE would fail the check.
  help_text=$("$LSMD_BINARY" --help 2>&1 || true)
  if ! grep -q -- --resp-listen <<<"$help_text"; then
    echo "run.sh: $LSMD_BINARY has no --resp-listen (the RESP listener is not built in);" \
      "use --target redis to check the suite against redis-server" >&2
    exit 1
  fi
  echo "run.sh: testing $LSMD_BINARY"
else
  echo "run.sh: testing redis-server (lsmd-only tests are skipped)"
fi

cd "$root"
status=0
bash "$here/smoke.sh" || status=1
"$python" -m pytest -q -rs "$here" "${pytest_args[@]}" || status=1
[ $status -eq 0 ] && echo "run.sh: all passed ($target)" || echo "run.sh: FAILED ($target)" >&2
exit $status
