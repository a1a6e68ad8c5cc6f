#!/usr/bin/env bash
# The nutcracker image's entrypoint. With NUTCRACKER_PASSWORD_FILE (the lsmd
# nodes' password, mounted as a Docker secret) it runs nutcracker on a copy of
# the configuration named by -c with `redis_auth` added to its pool: nutcracker
# then logs in to every node with it and asks each client to AUTH with the
# same password. The copy lives in /tmp, readable by this user only, so the
# password is in no image layer and no file the host can see.
set -euo pipefail
args=("$@")
if [ -n "${NUTCRACKER_PASSWORD_FILE:-}" ]; then
  IFS= read -r password <"$NUTCRACKER_PASSWORD_FILE" || true
  password=${password%$'\r'}
  [ -n "$password" ] || { echo "nutcracker-start: $NUTCRACKER_PASSWORD_FILE holds no password" >&2; exit 2; }
  case $password in
    *'"'* | *'\'*) echo 'nutcracker-start: the password may not hold " or \' >&2; exit 2 ;;
  esac
  for i in "${!args[@]}"; do
    if [ "${args[i]}" = -c ] && [ $((i + 1)) -lt ${#args[@]} ]; then
      config=${args[i + 1]}
      copy=/tmp/$(basename "$config")
      (umask 077 && { cat "$config"; printf '  redis_auth: "%s"\n' "$password"; } >"$copy")
      args[i + 1]=$copy
    fi
  done
fi
exec nutcracker "${args[@]}"
