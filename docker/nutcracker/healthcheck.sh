#!/bin/bash
# The nutcracker image's healthcheck: the proxy answers PING on its port
# (nutcracker replies +PONG itself, without a backend). Bash's /dev/tcp: no
# other tool in the image. Port: $NUTCRACKER_PORT, default 22121.
exec 3<>"/dev/tcp/127.0.0.1/${NUTCRACKER_PORT:-22121}" || exit 1
printf '*1\r\n$4\r\nPING\r\n' >&3
IFS= read -r -t 2 reply <&3 || exit 1
[[ $reply == "+PONG"* ]]
