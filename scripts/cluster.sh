#!/usr/bin/env bash
# A local lsmd cluster without containers: N lsmd nodes (RESP on) behind
# nutcracker (twemproxy), every port picked free on 127.0.0.1.
#
#   scripts/cluster.sh start 3          # prints the proxy's address and the nodes'
#   redis-cli -p PROXY_PORT set k v
#   scripts/cluster.sh status | env | add-node | switch FILE
#   scripts/cluster.sh kill-node lsmd2 | stop-node lsmd2 | restart-node lsmd2
#   scripts/cluster.sh stop [--purge]   # --purge deletes the data too
#   (`start` again after a plain `stop`: the same cluster, on its data)
#
# Options before the command: --dir DIR (default $LSMD_CLUSTER_DIR, else
# ${TMPDIR:-/tmp}/lsmd-cluster). `start` takes --sync always|none (default
# always), --proxy-port P, --lsmd PATH (default $LSMD_BINARY, else
# build/release or build/test, else lsmd on PATH).
# Needs: nutcracker, python3-redis, python3-yaml (scripts/install-deps.sh
# nutcracker python3-redis python3-yaml). docs/CLUSTER.md has the whole guide.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case ${1:-} in -h | --help | "") sed -n '2,/^set -e/{/^#/p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
# Debian's python3-redis and python3-yaml are in the system Python.
export PYTHONDONTWRITEBYTECODE=1
exec "${PYTHON:-/usr/bin/python3}" "$root/tests/cluster/cluster.py" "$@"
