"""scripts/lsmd-reshard computes each key's node exactly as nutcracker does.

The proof asks nutcracker itself: keys are written through the proxy under
several configurations (named and unnamed servers, unequal weights, hash
tags on and off, 1 to 4 servers), then looked up on every node directly; each
must be on the node the tool's ring names, and on no other. The keys include
every byte value (nutcracker's fnv1a_64 widens bytes >= 0x80 from a signed
char), hash-tag edge cases and long keys."""

import random

import pytest

import cluster as cl
from conftest import node_keys

N_RANDOM = 3000


def sample_keys() -> list[bytes]:
    rnd = random.Random(20261201)
    keys = {bytes([b]) for b in range(1, 256)}  # every single byte but NUL
    keys |= {b"\x00x", b"x\x00", b"\xff" * 3, b"\x80\x7f", "ключ".encode(), "鍵".encode()}
    keys |= {b"{user1}:name", b"{user1}:mail", b"a{}b", b"{", b"}", b"x{y", b"}{z}", b"{a}{b}",
             b"{{a}}", b"pre{tag}post", b"{}", b"{}{x}", b"k{\xff\x80}"}
    keys |= {b"L" * n for n in (100, 1000, 5000)}
    while len(keys) < N_RANDOM:
        n = rnd.randint(1, 40)
        keys.add(bytes(rnd.randrange(256) for _ in range(n)))
        keys.add(f"user:{rnd.randrange(10**9)}".encode())
    return sorted(keys)


@pytest.fixture(scope="module")
def four(request):
    import tempfile
    from pathlib import Path
    from conftest import LSMD, _finish
    c = cl.Cluster(Path(tempfile.mkdtemp(prefix="lsmd-cluster-ring-")), lsmd=LSMD).start(4)
    yield c
    _finish(c, False)


CONFIGS = {
    # id: (servers as (node index, weight, named?), options)
    "4-named-equal-hashtag": ([(0, 1, True), (1, 1, True), (2, 1, True), (3, 1, True)], {}),
    "3-unnamed-weights-1-2-3": ([(0, 1, False), (1, 2, False), (2, 3, False)], {"hash_tag": ""}),
    "2-named-weights-3-1-hashtag": ([(3, 3, True), (1, 1, True)], {}),
    "3-named-square-brackets-tag": ([(2, 1, True), (0, 1, True), (1, 1, True)], {"hash_tag": "[]"}),
    "3-mixed-names-weights-5-5-7": ([(0, 5, True), (1, 5, False), (3, 7, True)], {"hash_tag": ""}),
    "1-server": ([(1, 1, True)], {}),
}


@pytest.mark.parametrize("config_id", list(CONFIGS))
def test_tool_ring_is_nutcrackers(four, reshard_mod, config_id):
    servers, options = CONFIGS[config_id]
    lines = []
    for idx, weight, named in servers:
        n = four.nodes[idx]
        lines.append(f"{cl.HOST}:{n.resp_port}:{weight}" + (f" {n.name}" if named else ""))
    opts = dict(cl.PROXY_DEFAULTS)
    opts.update(options)
    path = four.dir / f"ring-{config_id}.yml"
    path.write_text(cl.render_config(four.proxy.port, lines, options))
    four.switch(path)

    keys = sample_keys()
    proxy = four.redis()
    p = proxy.pipeline(transaction=False)
    for k in keys:
        p.set(k, b"v" + k)
    assert all(p.execute())

    pool = reshard_mod.load_pool(str(path))
    ring = pool.ring()
    assert ring.ties == 0
    where = {}
    for n in four.nodes:
        for k in node_keys(n):
            assert k not in where, f"{k!r} on both {where[k]} and {n.name}"
            where[k] = n.name
    assert set(where) == set(keys)
    by_addr = {f"{cl.HOST}:{n.resp_port}": n.name for n in four.nodes}
    wrong = [(k, where[k], by_addr[ring.owner(k).addr]) for k in keys
             if by_addr[ring.owner(k).addr] != where[k]]
    assert not wrong, f"{len(wrong)} of {len(keys)} keys not where the tool says, e.g. {wrong[:5]}"

    # Weights show in the shares (ketama points are proportional to them).
    total_w = sum(w for _, w, _ in servers)
    for idx, weight, _ in servers:
        share = sum(1 for v in where.values() if v == four.nodes[idx].name) / len(keys)
        assert abs(share - weight / total_w) < 0.15, (config_id, four.nodes[idx].name, share)

    # The command-line view agrees: `lsmd-reshard owner CONFIG KEY`.
    import subprocess
    from conftest import PYTHON, RESHARD
    sample = [k for k in keys if k.isascii() and k.isalnum()][:5] + [b"user:1"]
    out = subprocess.run([PYTHON, RESHARD, "owner", str(path), *[k.decode() for k in sample]],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    for k, line in zip(sample, out):
        key, name, addr = line.split("\t")
        assert key == k.decode() and by_addr[addr] == by_addr[ring.owner(k).addr]

    # Clean up on the nodes directly, for the next configuration.
    for n in four.nodes:
        r = n.redis()
        ks = list(node_keys(n))
        for i in range(0, len(ks), 1000):
            r.delete(*ks[i:i + 1000])
        r.close()
    proxy.close()


def test_fnv1a_64_is_32_bit(reshard_mod):
    """nutcracker's fnv1a_64 keeps 32 bits: offset 0x84222325, prime 0x1b3."""
    h = 0x84222325
    for b in b"ab":
        h = ((h ^ b) * 0x1B3) & 0xFFFFFFFF
    assert reshard_mod.fnv1a_64(b"ab") == h
    # Signed-char widening only matters for bytes >= 0x80.
    assert reshard_mod.fnv1a_64(b"\x80", signed_char=True) != reshard_mod.fnv1a_64(b"\x80", signed_char=False)
    assert reshard_mod.fnv1a_64(b"\x7f", signed_char=True) == reshard_mod.fnv1a_64(b"\x7f", signed_char=False)


def test_server_lines_parse_like_nutcracker(reshard_mod):
    s = reshard_mod.parse_server_line("10.0.0.1:6379:2 alpha")
    assert (s.host, s.port, s.weight, s.name) == ("10.0.0.1", 6379, 2, "alpha")
    s = reshard_mod.parse_server_line("lsmd1:6379:1")
    assert s.name == "lsmd1:6379"  # no name: "host:port" is hashed
    s = reshard_mod.parse_server_line("cache:11211:1")
    assert s.name == "cache"  # libmemcached compatibility: port 11211 left out
    for bad in ("host:6379", "host:0:1", "host:6379:0", "/tmp/sock:1"):
        with pytest.raises(ValueError):
            reshard_mod.parse_server_line(bad)
