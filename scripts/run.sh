#!/usr/bin/env bash
# Builds lsmd in Release (installing missing packages first) and starts it.
# Every argument goes to lsmd: scripts/run.sh --listen 0.0.0.0:7070 --data-dir /var/lib/lsmd
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=Release -DLSMD_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j2 --target lsmd
exec build/release/server/lsmd "$@"
