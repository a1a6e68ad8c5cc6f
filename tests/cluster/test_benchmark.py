"""redis-benchmark -t set,get -c 50 -n 100000 through nutcracker: no error,
from the benchmark or in nutcracker's own counters."""

import re
import shutil
import subprocess
import time

import pytest

REDIS_BENCHMARK = shutil.which("redis-benchmark") or "/usr/bin/redis-benchmark"


def pool_counters(c) -> dict:
    s = c.proxy.stats()["lsmd"]
    out = {k: s[k] for k in ("client_err", "forward_error", "server_ejects")}
    for name in c.ring_names:
        for k in ("server_err", "server_timedout", "server_eof", "requests", "responses"):
            out[f"{name}.{k}"] = s[name][k]
    return out


def test_redis_benchmark_through_the_proxy(cluster3):
    c = cluster3
    time.sleep(1.2)  # nutcracker publishes its counters once a second (-i 1000)
    before = pool_counters(c)
    cmd = [REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(c.proxy.port),
           "-t", "set,get", "-c", "50", "-n", "100000", "--csv"]
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    took = time.monotonic() - t0
    assert p.returncode == 0, (p.returncode, p.stdout[-2000:], p.stderr[-2000:])
    rows = {m.group(1): float(m.group(2))
            for m in re.finditer(r'^"(SET|GET)","([0-9.]+)"', p.stdout, re.M)}
    assert set(rows) == {"SET", "GET"}, p.stdout
    assert all(v > 0 for v in rows.values())
    # redis-benchmark asks CONFIG GET first; nutcracker refuses it (closes
    # that connection), and the benchmark says so once per test. Nothing else.
    other = [l for l in p.stderr.splitlines() if l.strip() and "Could not fetch server CONFIG" not in l]
    assert not other, p.stderr
    print(f"\nredis-benchmark through nutcracker ({took:.1f} s): "
          f"SET {rows['SET']:.0f} req/s, GET {rows['GET']:.0f} req/s")

    # The key it used reads back through the proxy (-d 3: a 3-byte value).
    value = c.redis().get("key:__rand_int__")
    assert value is not None and len(value) == 3, value
    time.sleep(1.5)
    after = pool_counters(c)
    for k in before:
        if k.endswith((".server_err", ".server_timedout", ".server_eof")) or k in ("forward_error",
                                                                                   "server_ejects"):
            assert after[k] == before[k], f"nutcracker counted {k}: {before[k]} -> {after[k]}"
    assert after["client_err"] - before["client_err"] <= 2  # the two CONFIG GET connections
    forwarded = sum(after[f"{n}.requests"] - before[f"{n}.requests"] for n in c.ring_names)
    assert forwarded >= 200_000, forwarded


def _set_rps(port: int, *opts: str) -> float:
    p = subprocess.run([REDIS_BENCHMARK, "-h", "127.0.0.1", "-p", str(port), "-t", "set",
                        "-r", "100000", "--csv", *opts], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return float(re.search(r'^"SET","([0-9.]+)"', p.stdout, re.M).group(1))


@pytest.mark.xfail(strict=False, reason=(
    "lsmd bug (performance, for the lsmd side): with --sync always, the writes "
    "pipelined on ONE connection are synced one by one (one fdatasync each), "
    "while writes from many connections share a sync. nutcracker funnels every "
    "client onto one connection per node (server_connections: 1, needed for "
    "ordering), so behind the proxy a node writes at the one-connection rate"))
def test_sync_always_pipelined_writes_share_a_sync(make_cluster):
    c = make_cluster(1, sync="always")
    node = c.nodes[0].resp_port
    many = _set_rps(node, "-c", "50", "-n", "3000")
    one = _set_rps(node, "-c", "1", "-P", "50", "-n", "1500")
    proxied = _set_rps(c.proxy.port, "-c", "50", "-n", "1500")
    print(f"\n--sync always SET/s: 50 connections {many:.0f}, one connection pipelining 50 "
          f"{one:.0f}, 50 clients through nutcracker {proxied:.0f}")
    assert one >= many / 3, (many, one, proxied)
