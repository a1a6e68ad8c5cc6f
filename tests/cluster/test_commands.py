"""The RESP port's key commands through nutcracker, and the commands
nutcracker refuses (it closes the client's connection on them), each checked
against what the nodes hold directly. docs/CLUSTER.md lists the same."""

import re
import socket
import threading

import pytest
import redis

import cluster as cl


def keys_per_node(c, prefix: str, per_node: int = 2) -> dict[str, list[bytes]]:
    """per_node keys owned by each node, by the tool's ring (proven equal to
    nutcracker's in test_ring.py and test_distribution.py)."""
    ring = c.ring()
    out = {n: [] for n in c.ring_names}
    i = 0
    while any(len(v) < per_node for v in out.values()):
        k = f"{prefix}:{i}".encode()
        i += 1
        owner = ring.owner(k).name
        if len(out[owner]) < per_node:
            out[owner].append(k)
    return out


def direct(c, key: bytes):
    """The value of key on every node that holds it: {node: value}."""
    out = {}
    for n in c.nodes:
        r = n.redis()
        v = r.get(key)
        r.close()
        if v is not None:
            out[n.name] = v
    return out


@pytest.fixture
def px(cluster3):
    r = cluster3.redis()
    yield r
    r.close()


def test_get_set_and_options(cluster3, px):
    c = cluster3
    for node, ks in keys_per_node(c, "gs").items():
        k = ks[0]
        assert px.get(k) is None
        assert px.set(k, b"one") is True
        assert direct(c, k) == {node: b"one"}, "SET did not land on the owning node only"
        assert px.get(k) == b"one"
        assert px.set(k, b"two", nx=True) is None          # exists: NX refuses
        assert px.set(k, b"two", xx=True) is True
        assert px.set(k, b"three", get=True) == b"two"     # SET ... GET
        assert px.setnx(k, b"four") is False
        assert px.strlen(k) == 5
        assert px.getdel(k) == b"three"
        assert px.get(k) is None and direct(c, k) == {}
        assert px.setnx(k, b"five") is True
        assert px.set(ks[1], b"x", xx=True) is None        # absent: XX refuses
        assert direct(c, ks[1]) == {}


def test_binary_and_large_values(cluster3, px):
    for node, ks in keys_per_node(c := cluster3, "big").items():
        big = bytes(range(256)) * 4096 * 4  # 4 MiB, every byte value
        assert px.set(ks[0], big)
        assert px.get(ks[0]) == big
        assert direct(c, ks[0]) == {node: big}
        assert px.set(ks[1], b"")                         # empty value
        assert px.get(ks[1]) == b"" and px.strlen(ks[1]) == 0


def test_mset_mget_del_unlink_split_per_node(cluster3, px):
    c = cluster3
    per = keys_per_node(c, "multi", per_node=4)
    allkeys = [k for ks in per.values() for k in ks]
    values = {k: b"val-" + k for k in allkeys}
    assert px.mset(values) is True
    for node, ks in per.items():  # each key on its owner only
        for k in ks:
            assert direct(c, k) == {node: values[k]}
    missing = [b"multi:missing:1", b"multi:missing:2"]
    order = missing[:1] + allkeys[::-1] + missing[1:]
    assert px.mget(order) == [values.get(k) for k in order]  # order kept across nodes
    # DEL and UNLINK count over every node; absent keys count 0.
    dels = allkeys[:6] + missing
    assert px.delete(*dels) == 6
    assert px.unlink(*allkeys[6:], *missing) == len(allkeys) - 6
    for k in allkeys:
        assert direct(c, k) == {}
    assert px.mget(allkeys) == [None] * len(allkeys)


def test_exists_single_key_and_first_key_routing(cluster3, px):
    """nutcracker 0.5 forwards EXISTS whole to the first key's node (it does
    not split it like DEL): EXISTS of one key is exact; with several keys it
    counts only those on the first key's node. Use one key per EXISTS (or
    MGET) through the proxy."""
    c = cluster3
    per = keys_per_node(c, "ex", per_node=2)
    nodes = list(per)
    for ks in per.values():
        for k in ks:
            px.set(k, b"1")
    for ks in per.values():
        assert px.exists(ks[0]) == 1
    assert px.exists(b"ex:never") == 0
    a, b = per[nodes[0]], per[nodes[1]]
    assert px.exists(a[0], a[1]) == 2                     # same node: exact
    assert px.exists(a[0], b[0], b[1], a[1]) == 2         # only a[*] is on a[0]'s node
    assert px.exists(b[0], a[0]) == 1


def test_hash_tags_put_keys_on_one_node(cluster3, px):
    """hash_tag "{}": only the part in braces is hashed, so {user42}:* share a
    node, and an MSET of them is one MSET on that node (atomic there)."""
    c = cluster3
    keys = [f"{{user42}}:{f}".encode() for f in ("name", "mail", "plan", "since")]
    assert px.mset({k: b"v" for k in keys})
    homes = {tuple(direct(c, k)) for k in keys}
    assert len(homes) == 1 and len(next(iter(homes))) == 1, homes
    assert c.ring().owner(b"user42").name == next(iter(homes))[0]


# Single-key commands nutcracker forwards (it knows Redis has them) whether
# or not lsmd implements them; {k} is the key.
FORWARDED = [
    "INCR {k}", "DECR {k}", "INCRBY {k} 5", "DECRBY {k} 5", "INCRBYFLOAT {k} 1.5", "APPEND {k} x",
    "GETSET {k} 2", "GETRANGE {k} 0 1", "SETRANGE {k} 1 z", "GETBIT {k} 1", "SETBIT {k} 1 1",
    "BITCOUNT {k}", "SETEX {k} 9 v", "PSETEX {k} 9000 v", "GETEX {k}", "EXPIRE {k} 10",
    "PEXPIRE {k} 10000", "EXPIREAT {k} 4102444800", "TTL {k}", "PTTL {k}", "PERSIST {k}", "TYPE {k}",
    "DUMP {k}", "SET {k} v EX 10", "SET {k} v KEEPTTL", "HSET {k} f v", "HGET {k} f", "LPUSH {k} x",
    "LLEN {k}", "SADD {k} x", "SCARD {k}", "ZADD {k} 1 x", "ZCARD {k}", "PFADD {k} x", "SET {k}",
]


def _outcome(fn):
    try:
        return ("value", fn())
    except redis.ResponseError as e:  # its class: ResponseError, or a subclass for a code
        return ("error", type(e).__name__)


@pytest.mark.parametrize("template", FORWARDED)
def test_forwarded_commands_answer_as_the_node_does(cluster3, px, template):
    """Through the proxy a forwarded command gets what the node itself
    answers -- a value, or the node's error (commands lsmd does not have),
    the connection going on -- and leaves the key as the node leaves it."""
    c = cluster3
    ring = c.ring()
    tag = re.sub(r"\W+", "_", template)
    k_direct, k_proxy = f"fw:{tag}:d", None
    owner = ring.owner(k_direct.encode()).name
    for i in range(10000):  # a second key on the same node
        cand = f"fw:{tag}:p{i}"
        if ring.owner(cand.encode()).name == owner:
            k_proxy = cand
            break
    node = c.node(owner).redis()
    for k in (k_direct, k_proxy):
        px.set(k, b"1")
    direct = _outcome(lambda: node.execute_command(*template.format(k=k_direct).split()))
    through = _outcome(lambda: px.execute_command(*template.format(k=k_proxy).split()))
    assert through == direct, f"{template}: node answers {direct}, the proxy {through}"
    assert px.ping()  # the connection is still usable
    state = []
    for k, r in ((k_direct, node), (k_proxy, px)):
        try:
            state.append(("value", r.get(k)))
        except redis.ResponseError as e:
            state.append(("error", type(e).__name__))
    assert state[0] == state[1], f"{template}: the key ends as {state[0]} directly, {state[1]} via the proxy"
    node.close()


def test_touch_is_split_and_errors_merge(cluster3, px):
    """TOUCH is split per node like DEL; if a node answers an error (lsmd
    without TOUCH), nutcracker replies -ERR Invalid argument."""
    per = keys_per_node(cluster3, "touch", per_node=1)
    keys = [ks[0] for ks in per.values()]
    for k in keys:
        px.set(k, b"1")
    node = cluster3.node(cluster3.ring().owner(keys[0]).name).redis()
    direct = _outcome(lambda: node.execute_command("TOUCH", keys[0]))
    through = _outcome(lambda: px.execute_command("TOUCH", *keys))
    if direct[0] == "error":
        assert through[0] == "error", through
        with pytest.raises(redis.ResponseError, match="Invalid argument"):
            px.execute_command("TOUCH", *keys)
    else:
        assert through == ("value", len(keys)), through
    node.close()


# What nutcracker 0.5.0 does with the rest: it closes the client connection
# without a reply (its log says "parsed unsupported command"). The per-node
# way to do each is in docs/CLUSTER.md; test_per_node_admin checks it.
REFUSED = [
    ["INFO"], ["SCAN", "0"], ["KEYS", "*"], ["DBSIZE"], ["MULTI"], ["EXEC"], ["DISCARD"],
    ["WATCH", "a"], ["UNWATCH"], ["SELECT", "0"], ["CONFIG", "GET", "save"], ["CLIENT", "ID"],
    ["HELLO"], ["TIME"], ["ECHO", "x"], ["PING", "x"], ["RESET"], ["FLUSHALL"], ["FLUSHDB"],
    ["COMMAND", "COUNT"], ["STATS"], ["SSTABLE.FLUSH"], ["COMPACT"], ["SSTABLE.LOOKUP", "f", "k"],
    ["GET"], ["MGET"], ["DEL"], ["MSET", "a"], ["MSET", "a", "1", "b"], ["GET", "a", "b"],
    ["STRLEN", "a", "b"],
]


def raw_exchange(port: int, payload: bytes, timeout: float = 5.0) -> tuple[bytes, bool]:
    """Sends payload; returns (bytes received, did the proxy close?)."""
    with socket.create_connection((cl.HOST, port), timeout=timeout) as s:
        s.sendall(payload)
        data = b""
        s.settimeout(1.0)
        while True:
            try:
                d = s.recv(65536)
            except socket.timeout:
                return data, False
            except ConnectionResetError:
                return data, True
            if not d:
                return data, True
            data += d


def resp(*args: str) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args)


@pytest.mark.parametrize("cmd", REFUSED, ids=[" ".join(c) for c in REFUSED])
def test_refused_commands_close_the_connection(cluster3, cmd):
    data, closed = raw_exchange(cluster3.proxy.port, resp(*cmd))
    assert closed and data == b"", f"{cmd}: got {data!r}, closed={closed}"


def test_proxy_answers_ping_auth_quit_itself(cluster3):
    port = cluster3.proxy.port
    assert raw_exchange(port, resp("PING"))[0] == b"+PONG\r\n"
    data, _ = raw_exchange(port, resp("AUTH", "x"))
    assert data.startswith(b"-ERR") and b"no password" in data
    # QUIT: closed without the +OK Redis sends.
    assert raw_exchange(port, resp("QUIT")) == (b"", True)
    # Inline commands (the telnet form): nutcracker speaks only RESP arrays.
    assert raw_exchange(port, b"PING\r\n") == (b"", True)
    # COMMAND alone is forwarded to one node: its command table comes back.
    data, closed = raw_exchange(port, resp("COMMAND"))
    assert data.startswith(b"*") and b"get" in data and not closed


def test_a_refused_command_in_a_pipeline_loses_what_follows(cluster3):
    """Why it matters: the connection closes at the refused command, and
    the replies to what was pipelined after it never come."""
    port = cluster3.proxy.port
    data, closed = raw_exchange(port, resp("SET", "pl:a", "1") + resp("INFO") + resp("GET", "pl:a"))
    assert closed
    assert data in (b"", b"+OK\r\n"), data
    assert cluster3.redis().get("pl:a") == b"1"  # the SET before it was done


def test_per_node_admin(cluster3, px):
    """INFO, SCAN, KEYS, DBSIZE, STATS, SSTABLE.FLUSH, COMPACT: on each node
    directly. The cluster's key count is the sum of the nodes' DBSIZE."""
    c = cluster3
    before = sum(n.redis().dbsize() for n in c.nodes)
    per = keys_per_node(c, "adm", per_node=3)
    for ks in per.values():
        for k in ks:
            px.set(k, b"v")
    total = 0
    for n in c.nodes:
        r = n.redis()
        info = r.info()
        assert "redis_version" in info or "lsmd_version" in info or info, info
        keys = set(r.scan_iter(match="adm:*", count=100))
        assert keys == set(per[n.name])
        assert set(r.keys("adm:*")) == keys
        total += r.dbsize()
        assert r.execute_command("SSTABLE.FLUSH") is not None
        assert r.execute_command("STATS") is not None
        r.close()
    assert total == before + 9


def test_many_clients_read_their_writes(cluster3):
    """16 clients, each pipelining SET then GET of its own keys: with
    server_connections: 1 nutcracker keeps each node's requests in order."""
    errors = []

    def client(t: int):
        r = cluster3.redis()
        try:
            for round_ in range(40):
                p = r.pipeline(transaction=False)
                for i in range(25):
                    k = f"rw:{t}:{i}"
                    p.set(k, f"{round_}")
                    p.get(k)
                out = p.execute()
                for i in range(25):
                    if out[2 * i + 1] != str(round_).encode():
                        errors.append((t, round_, i, out[2 * i + 1]))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((t, repr(e)))
        finally:
            r.close()

    threads = [threading.Thread(target=client, args=(t,)) for t in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors[:10]
