#!/usr/bin/env bash
# Runs the sharded-cluster suite: real lsmd nodes behind a real nutcracker
# (Debian's twemproxy), all on loopback, no containers. About 2-3 minutes on
# two cores. The Docker check of docker/compose.cluster.yaml is separate:
# docker/cluster-smoke-test.sh.
#
# Usage: tests/cluster/run.sh [extra pytest arguments...]
#   LSMD_BINARY        the lsmd to test (default build/test/server/lsmd;
#                      relative paths are taken from the repository root)
#   LSMD_CLUSTER_KEEP=1  keep every test's directory (logs, data, configs)
# Exits non-zero on any failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
case ${1:-} in -h | --help) sed -n '2,11p' "$0"; exit 0 ;; esac

"$root/scripts/install-deps.sh" nutcracker redis-tools python3-redis python3-pytest python3-yaml

export LSMD_BINARY=${LSMD_BINARY:-build/test/server/lsmd}
case $LSMD_BINARY in /*) ;; *) LSMD_BINARY=$root/$LSMD_BINARY ;; esac
[ -x "$LSMD_BINARY" ] || { echo "run.sh: $LSMD_BINARY is not built" >&2; exit 1; }
# Captured first: `| grep -q` may close the pipe before lsmd has written all
# of its help, and under pipefail the SIGPIPE would fail the check.
help_text=$("$LSMD_BINARY" --help 2>&1 || true)
grep -q -- --resp-listen <<<"$help_text" ||
  { echo "run.sh: $LSMD_BINARY has no --resp-listen (no RESP listener built in)" >&2; exit 1; }
export PYTHONDONTWRITEBYTECODE=1  # leave no __pycache__ in the tree
echo "run.sh: testing $LSMD_BINARY behind $(command -v nutcracker || echo /usr/sbin/nutcracker)"

cd "$root"
status=0
# Debian's python3-redis, -yaml and -pytest live in the system Python.
"${PYTHON:-/usr/bin/python3}" -m pytest -q -rs -p no:cacheprovider "$here" "$@" || status=$?
[ $status -eq 0 ] && echo "run.sh: all passed" || echo "run.sh: FAILED" >&2
exit $status
