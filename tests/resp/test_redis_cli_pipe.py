"""`redis-cli --pipe` mass insertion: 100,000 SET commands in one RESP stream,
then every key reads back exactly."""

import re

from conftest import encode_command

N = 100_000


def key_value(i: int) -> tuple[bytes, bytes]:
    # Values vary in length and include bytes that need binary safety.
    return b"pipe:%06d" % i, b"value-%d-" % (i * 7919) + bytes([i % 256]) * (i % 13)


def test_redis_cli_pipe_loads_100000_sets_and_all_read_back(server):
    stream = b"".join(encode_command("SET", *key_value(i)) for i in range(N))
    proc = server.cli_proc("--pipe", stdin=stream, timeout=120)
    out = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, f"redis-cli --pipe exited {proc.returncode}: {out} {proc.stderr!r}"
    # redis-cli ends the stream with an ECHO of a random marker and waits for it.
    assert "Last reply received from server." in out, out
    m = re.search(r"errors: (\d+), replies: (\d+)", out)
    assert m, out
    assert (int(m.group(1)), int(m.group(2))) == (0, N), out

    r = server.redis()
    assert r.dbsize() == N
    mismatches = []
    for start in range(0, N, 1000):
        idx = range(start, min(start + 1000, N))
        got = r.mget([key_value(i)[0] for i in idx])
        for i, value in zip(idx, got):
            if value != key_value(i)[1]:
                mismatches.append((i, value))
    assert not mismatches, f"{len(mismatches)} keys differ, e.g. {mismatches[:3]}"


def test_redis_cli_pipe_counts_error_replies(server):
    stream = encode_command("SET", "pipe-err:a", "1") + encode_command("GET") + encode_command("NOSUCH")
    proc = server.cli_proc("--pipe", stdin=stream, timeout=60)
    out = proc.stdout.decode("utf-8", "replace")
    assert "errors: 2, replies: 3" in out, out
    assert proc.returncode != 0, "redis-cli --pipe exits non-zero when there were errors"
    assert server.redis().get("pipe-err:a") == b"1"
