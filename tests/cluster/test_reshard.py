"""Resharding from 3 to 4 nodes with scripts/lsmd-reshard while clients read
through nutcracker.

The order that keeps every read answered (docs/CLUSTER.md, "Resharding"):
  1. start the 4th node (outside the ring: the proxy does not know it);
  2. copy phase: every key whose owner changes is copied to its new owner
     and read back there; nothing is deleted, so the proxy, still on the old
     list, finds every key on its old owner;
  3. switch: nutcracker restarts on the new list; every moved key is
     already on its new owner;
  4. delete phase: each old copy is deleted once its new owner holds the same
     value.
test_writes_in_the_window shows what writes between 2 and 3 do."""

import json
import random
import shutil
import signal
import subprocess
import threading
import time

import redis

import cluster as cl
from conftest import PYTHON, RESHARD, node_keys, read_through, run_reshard, write_through


def summary(p: subprocess.CompletedProcess) -> dict:
    return json.loads(p.stdout.strip().splitlines()[-1])


class Reader(threading.Thread):
    """GETs random existing keys through the proxy, 20 per pipeline; a
    connection error (the proxy restarting) is retried, a missing value is
    a failure."""

    def __init__(self, c, keys, values, stop):
        super().__init__(daemon=True)
        self.c, self.keys, self.values, self.stop = c, keys, values, stop
        self.reads = self.unavailable = 0
        self.missing, self.wrong = [], []

    def run(self):
        rnd = random.Random(id(self))
        r = self.c.redis(socket_timeout=10)
        while not self.stop.is_set():
            batch = rnd.sample(self.keys, 20)
            try:
                p = r.pipeline(transaction=False)
                for k in batch:
                    p.get(k)
                got = p.execute()
            except (redis.ConnectionError, redis.TimeoutError):
                self.unavailable += 1
                time.sleep(0.01)
                continue
            for k, v in zip(batch, got):
                self.reads += 1
                if v is None:
                    self.missing.append((time.monotonic(), k))
                elif v != self.values[k]:
                    self.wrong.append((k, v))
        r.close()


def where_is(c) -> dict[bytes, list[str]]:
    out: dict[bytes, list[str]] = {}
    for n in c.nodes:
        for k in node_keys(n):
            out.setdefault(k, []).append(n.name)
    return out


def test_reshard_3_to_4_while_clients_read(make_cluster):
    c = make_cluster(3)
    n_keys = 30_000
    keys = [f"acct:{i}".encode() for i in range(n_keys)]
    values = {k: b"balance-" + k for k in keys}
    write_through(c.redis(), values)
    old_ring = c.ring()

    n4, new_cfg = c.add_node()
    old_cfg = c.current_config_copy
    new_ring = c.ring(c.ring_names + [n4.name])
    expect_moves = sum(1 for k in keys if old_ring.owner(k).name != new_ring.owner(k).name)
    assert all(new_ring.owner(k).name == "lsmd4" for k in keys
               if old_ring.owner(k).name != new_ring.owner(k).name), "a key moved between old nodes"

    # Dry run: the count, and nothing written.
    plan = summary(run_reshard("plan", old_cfg, new_cfg, "--json", "--quiet"))
    assert plan["to_move"] == expect_moves and plan["scanned"] == n_keys
    assert set(plan["pairs"]) == {"lsmd1->lsmd4", "lsmd2->lsmd4", "lsmd3->lsmd4"}
    assert 0.15 <= expect_moves / n_keys <= 0.35, expect_moves
    assert node_keys(n4) == set()
    assert summary(run_reshard("copy", old_cfg, new_cfg, "--dry-run", "--json", "--quiet"))["to_move"] \
        == expect_moves and node_keys(n4) == set()

    stop = threading.Event()
    readers = [Reader(c, keys, values, stop) for _ in range(4)]
    for r in readers:
        r.start()
    t0 = time.monotonic()
    try:
        # Copy phase, SIGKILLed part way through, then rerun: it resumes.
        proc = subprocess.Popen([PYTHON, RESHARD, "copy", str(old_cfg), str(new_cfg), "--batch", "50",
                                 "--progress-interval", "0", "--json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        copied_before_kill = 0
        deadline = time.monotonic() + 60
        for line in proc.stderr:
            if " copied " in line:
                copied_before_kill = int(line.split(" copied ", 1)[1].split(",", 1)[0])
            if copied_before_kill >= 1000 or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert 1000 <= copied_before_kill < expect_moves, copied_before_kill
        resumed = summary(run_reshard("copy", old_cfg, new_cfg, "--json", "--proxy",
                                      f"{cl.HOST}:{c.proxy.port}"))
        assert resumed["to_move"] == expect_moves
        assert resumed["already"] >= copied_before_kill
        assert resumed["copied"] + resumed["already"] == expect_moves
        assert resumed["failed"] == 0 and resumed["conflicts"] == 0
        t_copy = time.monotonic() - t0

        # Switch: the proxy restarts on the new list.
        t1 = time.monotonic()
        c.switch(new_cfg)
        t_switch = time.monotonic() - t1

        # Delete phase (it checks the proxy routes by the new list first).
        done = run_reshard("delete", old_cfg, new_cfg, "--json", "--proxy", f"{cl.HOST}:{c.proxy.port}")
        deleted = summary(done)
        assert "routes by the new list" in done.stderr
        assert deleted["deleted"] == expect_moves and deleted["conflicts"] == 0
        assert deleted["copied"] == 0  # nothing was missing on the new owners
        time.sleep(0.5)  # reads after the delete phase too
    finally:
        stop.set()
        for r in readers:
            r.join(30)
    reads = sum(r.reads for r in readers)
    missing = [m for r in readers for m in r.missing]
    wrong = [w for r in readers for w in r.wrong]
    unavailable = sum(r.unavailable for r in readers)
    print(f"\n{expect_moves} of {n_keys} keys moved; copy {t_copy:.1f} s (with a kill and a resume), "
          f"switch {t_switch * 1000:.0f} ms; {reads} reads, {len(missing)} missing, "
          f"{unavailable} pipelines retried during the switch")
    assert reads > 2000
    assert not missing, f"reads returned nil for existing keys: {missing[:5]}"
    assert not wrong, wrong[:5]

    # Every key is on exactly one node, the one nutcracker now routes it to:
    # it reads back through the proxy, and no other node has a copy.
    where = where_is(c)
    assert set(where) == set(keys), "keys lost or invented"
    dups = {k: v for k, v in where.items() if len(v) != 1}
    assert not dups, f"{len(dups)} keys on several nodes, e.g. {list(dups.items())[:3]}"
    assert all(where[k][0] == new_ring.owner(k).name for k in keys)
    got = read_through(c.redis(), keys)
    assert [k for k, v in zip(keys, got) if v != values[k]] == []
    share4 = sum(1 for k in keys if where[k][0] == "lsmd4") / n_keys
    assert 0.15 <= share4 <= 0.35

    # Safe to rerun: nothing left to do.
    again = summary(run_reshard("move", old_cfg, new_cfg, "--offline", "--json", "--quiet"))
    assert again["to_move"] == 0 and again["deleted"] == 0
    assert summary(run_reshard("plan", old_cfg, new_cfg, "--json", "--quiet"))["to_move"] == 0


def test_phases_refuse_the_wrong_proxy_routing(make_cluster):
    c = make_cluster(3)
    values = {f"g:{i}".encode(): b"v" for i in range(2000)}
    # Some large values too: the copy splits its MSETs by size.
    big = {f"g:big:{i}".encode(): bytes([i]) * (3 << 20) for i in range(12)}
    values.update(big)
    write_through(c.redis(), values, batch=100)
    n4, new_cfg = c.add_node()
    old_cfg = c.current_config_copy
    proxy = f"{cl.HOST}:{c.proxy.port}"
    # Deleting before the switch would make reads miss: refused.
    p = run_reshard("delete", old_cfg, new_cfg, "--proxy", proxy, check=False)
    assert p.returncode == 3 and "routes by the old list" in p.stderr, p.stderr
    assert sum(len(node_keys(n)) for n in c.nodes) == len(values) and node_keys(n4) == set()
    run_reshard("copy", old_cfg, new_cfg, "--proxy", proxy, "--quiet")
    c.switch(new_cfg)
    # Copying after it could overwrite writes made through the new list.
    p = run_reshard("copy", old_cfg, new_cfg, "--proxy", proxy, check=False)
    assert p.returncode == 3 and "routes by the new list" in p.stderr, p.stderr
    # `move` without a switch command or --offline is refused too.
    p = run_reshard("move", old_cfg, new_cfg, check=False)
    assert p.returncode == 2
    run_reshard("delete", old_cfg, new_cfg, "--proxy", proxy, "--quiet")
    assert sum(len(node_keys(n)) for n in c.nodes) == len(values)
    assert any(c.ring().owner(k).name == "lsmd4" for k in big), "no large value moved"
    assert c.redis().mget(list(big)) == list(big.values())
    # The probe key the check writes is gone from every node.
    assert not any(k.startswith(b"__lsmd_reshard_probe__") for n in c.nodes for k in node_keys(n))


def test_writes_in_the_window(make_cluster):
    """Writes between the copy phase and the switch: the documented window.
    An overwrite of a moved key is served stale by the new owner until the
    delete phase finds the conflict; a key created in the window is missing
    until the delete phase copies it; a delete in the window is undone."""
    c = make_cluster(3)
    values = {f"w:{i}".encode(): b"v1" for i in range(3000)}
    write_through(c.redis(), values)
    n4, new_cfg = c.add_node()
    old_cfg = c.current_config_copy
    old_ring, new_ring = c.ring(), c.ring(c.ring_names + [n4.name])
    moved = [k for k in values if new_ring.owner(k).name == "lsmd4"]
    run_reshard("copy", old_cfg, new_cfg, "--quiet")

    px = c.redis()
    k_over, k_del = moved[0], moved[1]
    k_new = next(f"w:new:{i}".encode() for i in range(10000)
                 if new_ring.owner(f"w:new:{i}".encode()).name == "lsmd4")
    assert px.set(k_over, b"v2-in-window") and px.set(k_new, b"created-in-window")
    assert px.delete(k_del) == 1
    px.close()
    c.switch(new_cfg)
    px = c.redis()
    assert px.get(k_over) == b"v1"          # stale until the delete phase
    assert px.get(k_new) is None            # missing until the delete phase
    assert px.get(k_del) == b"v1"           # the delete is undone

    p = run_reshard("delete", old_cfg, new_cfg, "--json", check=False)
    st = summary(p)
    assert p.returncode == 3 and st["conflicts"] == 1 and "CONFLICT" in p.stderr
    assert st["copied"] == 1                 # k_new, copied with SET NX
    assert px.get(k_new) == b"created-in-window"
    assert px.get(k_over) == b"v1"           # report: both copies kept
    assert c.node(old_ring.owner(k_over).name).redis().get(k_over) == b"v2-in-window"
    p = run_reshard("delete", old_cfg, new_cfg, "--json", "--on-conflict", "keep-old")
    assert summary(p)["conflicts"] == 1 and summary(p)["deleted"] == 1
    assert px.get(k_over) == b"v2-in-window"
    where = where_is(c)
    assert all(len(v) == 1 for v in where.values())
    assert px.get(k_del) == b"v1"
    px.close()


def test_sigterm_stops_after_the_batch_and_a_rerun_resumes(make_cluster):
    c = make_cluster(3)
    values = {f"t:{i}".encode(): b"v" for i in range(4000)}
    write_through(c.redis(), values)
    n4, new_cfg = c.add_node()
    old_cfg = c.current_config_copy
    proc = subprocess.Popen([PYTHON, RESHARD, "copy", str(old_cfg), str(new_cfg), "--batch", "20",
                             "--progress-interval", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    first = proc.stderr.readline()
    assert "lsmd-reshard copy:" in first, first
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (proc.returncode, err[-2000:])
    assert "rerun the same command to resume" in err
    partial = len(node_keys(n4))
    done = summary(run_reshard("copy", old_cfg, new_cfg, "--json", "--quiet"))
    assert done["already"] == partial and done["copied"] + partial == done["to_move"] > partial
