"""A node SIGKILLed while 8 clients write through nutcracker.

With auto_eject_hosts: false (what this project ships), requests for the
dead node's keys fail with an error -- never a wrong or stale value -- and the
other nodes' keys keep working; the node restarted on its data directory
has every write that was acknowledged through the proxy.

test_auto_eject_trade shows why ejection is off: with it on, a key written
while its node is ejected lands on another node, and once the node is back,
reads return the value from before that acknowledged write."""

import random
import threading
import time

import pytest
import redis

N_CLIENTS = 8
VERSION_KEYS = 16


class Writer(threading.Thread):
    """SETs new keys f:T:I (each written once) and overwrites fv:T:J with a
    growing version; reads back its own acknowledged keys as it goes."""

    def __init__(self, t: int, c, phase: list, stop: threading.Event):
        super().__init__(daemon=True)
        self.t, self.c, self.phase, self.stop = t, c, phase, stop
        self.ring = c.ring()
        self.acked: dict[bytes, bytes] = {}
        self.version_acked: dict[bytes, int] = {}
        self.version_tried: dict[bytes, int] = {}
        self.ops: list[tuple] = []      # (phase, op, owner, outcome)
        self.violations: list[tuple] = []
        self.rnd = random.Random(t)

    def record(self, phase, op, key, outcome):
        # An op that began in one phase and ended in another (in flight at
        # the kill, say) is labelled "start->end".
        end = self.phase[0]
        label = phase if end == phase else f"{phase}->{end}"
        self.ops.append((label, op, self.ring.owner(key).name, outcome))

    def run(self):
        r = self.c.redis(socket_timeout=10)
        i = seq = 0
        while not self.stop.is_set():
            i += 1
            phase = self.phase[0]
            key, value = f"f:{self.t}:{i}".encode(), f"{self.t}:{i}".encode()
            try:
                assert r.set(key, value) is True
                self.acked[key] = value
                self.record(phase, "set", key, "ok")
            except redis.RedisError as e:
                self.record(phase, "set", key, f"error: {e}")
            if i % 3 == 0:
                seq += 1
                vkey = f"fv:{self.t}:{i % VERSION_KEYS}".encode()
                self.version_tried[vkey] = seq
                phase = self.phase[0]
                try:
                    assert r.set(vkey, str(seq)) is True
                    self.version_acked[vkey] = seq
                    self.record(phase, "set", vkey, "ok")
                except redis.RedisError as e:
                    self.record(phase, "set", vkey, f"error: {e}")
            # A read of something acknowledged before.
            if self.acked:
                phase = self.phase[0]
                if self.rnd.random() < 0.5 and self.version_acked:
                    k = self.rnd.choice(list(self.version_acked))
                    lo, hi = self.version_acked[k], self.version_tried[k]
                else:
                    k = self.rnd.choice(list(self.acked))
                    lo = hi = None
                try:
                    got = r.get(k)
                    self.record(phase, "get", k, "ok")
                    if lo is None:
                        if got != self.acked[k]:
                            self.violations.append((phase, k, self.acked[k], got))
                    elif got is None or not (lo <= int(got) <= hi):
                        # Older than the last acknowledged write: stale.
                        self.violations.append((phase, k, (lo, hi), got))
                except redis.RedisError as e:
                    self.record(phase, "get", k, f"error: {e}")
        r.close()


def test_sigkill_one_node_during_writes(make_cluster):
    c = make_cluster(3, sync="always")
    victim = c.node("lsmd2")
    phase = ["before"]
    stop = threading.Event()
    writers = [Writer(t, c, phase, stop) for t in range(N_CLIENTS)]
    for w in writers:
        w.start()
    try:
        time.sleep(2.0)
        phase[0] = "killing"
        victim.kill()  # SIGKILL; returns once it is reaped
        assert not victim.alive()
        phase[0] = "down"
        time.sleep(3.0)
        phase[0] = "restarting"
        victim.start()  # the same data directory and ports
        phase[0] = "after"
        time.sleep(2.0)
    finally:
        stop.set()
        for w in writers:
            w.join(30)
    assert not any(w.is_alive() for w in writers)

    ops = [op for w in writers for op in w.ops]
    violations = [v for w in writers for v in w.violations]
    assert not violations, f"wrong or stale values read: {violations[:10]}"

    def count(ph, owner_is_victim, ok):
        return sum(1 for p, _, owner, out in ops
                   if p == ph and (owner == "lsmd2") == owner_is_victim and (out == "ok") == ok)

    before_errors = [op for op in ops if op[0] == "before" and op[3] != "ok"]
    assert not before_errors, before_errors[:5]
    # Whatever the phase (requests in flight at the kill included), only
    # requests for the dead node's keys ever fail.
    errors = [op for op in ops if op[3] != "ok"]
    assert all(op[2] == "lsmd2" for op in errors), [op for op in errors if op[2] != "lsmd2"][:5]
    # While it is down: its keys fail, with an error; the others' work.
    down_errors = [op for op in ops if op[0] == "down" and op[3] != "ok"]
    assert down_errors, "no request for the dead node's keys failed"
    assert all(op[2] == "lsmd2" for op in down_errors), \
        [op for op in down_errors if op[2] != "lsmd2"][:5]
    assert count("down", True, ok=True) == 0, "a request to the dead node succeeded"
    for name in ("lsmd1", "lsmd3"):
        served = sum(1 for p, _, owner, out in ops if p == "down" and owner == name and out == "ok")
        assert served >= 20, f"{name} served only {served} requests while lsmd2 was down"
    # Back: its keys work again.
    assert count("after", True, ok=True) > 0
    messages = sorted({op[3] for op in down_errors})
    print(f"\n{len(ops)} requests; while lsmd2 was down {len(down_errors)} failed, "
          f"{count('down', False, ok=True)} succeeded on the other nodes; errors: {messages[:4]}")

    # Every acknowledged write is there: through the proxy, and on its
    # owning node directly (the restarted one included).
    proxy = c.redis()
    ring = c.ring()
    direct = {n.name: n.redis() for n in c.nodes}
    acked = {k: v for w in writers for k, v in w.acked.items()}
    keys = list(acked)
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        p = proxy.pipeline(transaction=False)
        for k in chunk:
            p.get(k)
        got = p.execute()
        lost = [k for k, v in zip(chunk, got) if v != acked[k]]
        assert not lost, f"acknowledged writes missing through the proxy: {lost[:5]}"
    victim_keys = [k for k in keys if ring.owner(k).name == "lsmd2"]
    assert victim_keys
    assert direct["lsmd2"].mget(victim_keys) == [acked[k] for k in victim_keys]
    for w in writers:
        for k, lo in w.version_acked.items():
            got = proxy.get(k)
            assert got is not None and lo <= int(got) <= w.version_tried[k], (k, lo, got)
    print(f"all {len(keys)} acknowledged writes are there ({len(victim_keys)} on the restarted node)")
    for r in direct.values():
        r.close()
    proxy.close()


def _key_on(ring, name, prefix):
    for i in range(10000):
        k = f"{prefix}:{i}".encode()
        if ring.owner(k).name == name:
            return k
    raise AssertionError("no key")


@pytest.mark.parametrize("eject", [False, True], ids=["eject-off", "eject-on"])
def test_auto_eject_trade(make_cluster, eject):
    opts = {"auto_eject_hosts": eject, "server_failure_limit": 1, "server_retry_timeout": 1000}
    c = make_cluster(3, sync="always", proxy_options=opts)
    k = _key_on(c.ring(), "lsmd2", "eject")
    px = c.redis(socket_timeout=5)
    assert px.set(k, b"old")
    c.node("lsmd2").kill()

    acked_new = False
    deadline = time.monotonic() + 10
    attempts = 0
    while time.monotonic() < deadline and not acked_new and attempts < 200:
        attempts += 1
        try:
            acked_new = px.set(k, b"new") is True
        except redis.RedisError:
            time.sleep(0.02)
    holders = {n.name: n.redis().get(k) for n in c.nodes if n.alive()}
    c.node("lsmd2").start()

    if not eject:
        # Every write for the dead node's key failed; once it is back, the
        # last acknowledged value is what a read returns.
        assert not acked_new and attempts == 200
        got = None
        for _ in range(100):
            try:
                got = px.get(k)
                break
            except redis.RedisError:
                time.sleep(0.05)
        assert got == b"old"
        return

    # Ejected: the write was acknowledged, by another node.
    assert acked_new, "the key was never routed elsewhere"
    assert b"new" in holders.values()
    # After server_retry_timeout the node is back in the ring, with its old
    # copy: a read returns the value from before the acknowledged write.
    time.sleep(1.2)
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            seen.append(px.get(k))
        except redis.RedisError:
            pass
        if seen and seen[-1] == b"old":
            break
        time.sleep(0.1)
    assert seen and seen[-1] == b"old", f"expected the stale b'old' back, saw {seen[-5:]}"


def test_mset_with_a_dead_node_is_partial(make_cluster):
    """No cross-node atomicity: an MSET spanning a dead node fails (error),
    and its parts for the live nodes are applied all the same."""
    c = make_cluster(3)
    ring = c.ring()
    keys = {name: _key_on(ring, name, "partial") for name in ("lsmd1", "lsmd2", "lsmd3")}
    c.node("lsmd2").kill()
    px = c.redis()
    with pytest.raises(redis.ResponseError):
        px.mset({k: b"v" for k in keys.values()})
    assert px.get(keys["lsmd1"]) == b"v" and px.get(keys["lsmd3"]) == b"v"
    with pytest.raises(redis.ResponseError):
        px.get(keys["lsmd2"])
    c.node("lsmd2").start()
    assert px.get(keys["lsmd2"]) is None
    px.close()
