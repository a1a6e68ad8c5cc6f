#!/bin/bash
# The nutcracker image's healthcheck: the proxy answers PING on its port
# (nutcracker replies +PONG itself, without a backend), after an AUTH with
# the password of NUTCRACKER_PASSWORD_FILE when one is set (start.sh).
# Bash's /dev/tcp: no other tool in the image. Port: $NUTCRACKER_PORT,
# default 22121.
exec 3<>"/dev/tcp/127.0.0.1/${NUTCRACKER_PORT:-22121}" || exit 1
if [ -n "${NUTCRACKER_PASSWORD_FILE:-}" ]; then
  IFS= read -r password <"$NUTCRACKER_PASSWORD_FILE" || true
  password=${password%$'\r'}
  printf '*2\r\n$4\r\nAUTH\r\n$%d\r\n%s\r\n' "${#password}" "$password" >&3
  IFS= read -r -t 2 reply <&3 || exit 1
  [[ $reply == "+OK"* ]] || exit 1
fi
printf '*1\r\n$4\r\nPING\r\n' >&3
IFS= read -r -t 2 reply <&3 || exit 1
[[ $reply == "+PONG"* ]]
