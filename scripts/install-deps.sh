#!/usr/bin/env bash
# Installs the Debian 12 packages lsmd builds with, if any is missing.
# Usage: scripts/install-deps.sh [extra-package ...]
set -euo pipefail

# Boost: only the 1.81-named packages; the unversioned libboost-*-dev pull
# 1.74, which conflicts.
packages=(
  build-essential cmake ninja-build pkg-config netcat-openbsd
  libboost1.81-dev libboost-json1.81-dev libboost-program-options1.81-dev
  libspdlog-dev doctest-dev libxxhash-dev libssl-dev
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == *"install ok installed"* ]] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  SUDO=sudo
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
