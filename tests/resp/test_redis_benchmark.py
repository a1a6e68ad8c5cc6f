"""redis-benchmark against the RESP port, plain and pipelined (-P 16)."""

import re
import subprocess

import pytest

from conftest import REDIS_BENCHMARK

TESTS = ["PING_INLINE", "PING_MBULK", "SET", "GET", r"MSET \(10 keys\)"]


def run_benchmark(server, *extra):
    cmd = [REDIS_BENCHMARK, "-h", server.host, "-p", str(server.resp_port),
           "-t", "ping,set,get,mset", "-n", "100000", "-c", "50", "-q", *extra]
    proc = subprocess.run(cmd, capture_output=True, timeout=150)
    out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    # -q still prints progress lines separated by \r; look at every piece.
    pieces = [p.strip() for p in re.split(r"[\r\n]+", out) if p.strip()]
    return proc.returncode, out, pieces


@pytest.mark.parametrize("extra", [(), ("-P", "16")], ids=["plain", "pipelined_P16"])
def test_redis_benchmark_runs_every_test_without_errors(server, extra):
    rc, out, pieces = run_benchmark(server, *extra)
    assert rc == 0, f"redis-benchmark exited {rc}:\n{out[-3000:]}"
    bad = [p for p in pieces if re.search(r"ERR|error|WARN|Could not", p, re.I)]
    assert not bad, f"redis-benchmark reported problems: {bad[:5]}"
    for name in TESTS:
        assert any(re.fullmatch(name + r": [\d.]+ requests per second.*", p) for p in pieces), (
            f"no result line for {name}:\n{out[-2000:]}")


def test_after_benchmark_key_holds_benchmark_value(server):
    """redis-benchmark (7.0) SETs and MSETs the literal key "key:__rand_int__"
    (no -r) to its 3-byte payload, which is "VXK" (not "xxx"); nothing else
    is written."""
    r = server.redis()
    if r.get("key:__rand_int__") is None:
        rc, out, _ = run_benchmark(server, "-P", "16")
        assert rc == 0, out[-2000:]
    assert r.get("key:__rand_int__") == b"VXK"
    assert r.dbsize() == 1
    assert r.keys("*") == [b"key:__rand_int__"]
