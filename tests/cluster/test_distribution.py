"""Three nodes behind nutcracker: 100,000 keys written through the proxy land
on every node (each holding 20-47% of them), every key reads back through the
proxy and from its owning node directly, and the owner is the one that
scripts/lsmd-reshard computes (its ring is nutcracker's)."""

import time

from conftest import node_keys, read_through, write_through

N_KEYS = 100_000


def test_100k_keys_spread_over_three_nodes(cluster3, reshard_mod):
    c = cluster3
    proxy = c.redis()
    keys = [f"user:{i}".encode() for i in range(N_KEYS)]
    values = {k: b"v:" + k + b":" + str(len(k)).encode() for k in keys}

    t0 = time.monotonic()
    write_through(proxy, values)
    t_write = time.monotonic() - t0

    # Where nutcracker put each key, asked of each node directly.
    on_node = {n.name: node_keys(n) for n in c.nodes}
    seen = set()
    for name, ks in on_node.items():
        assert not (ks & seen), f"keys on two nodes: {sorted(ks & seen)[:5]}"
        seen |= ks
    assert seen == set(keys), (f"missing {len(set(keys) - seen)} keys, "
                               f"unexpected {len(seen - set(keys))}")
    shares = {name: len(ks) / N_KEYS for name, ks in on_node.items()}
    print(f"\nshares: { {k: f'{v:.1%}' for k, v in shares.items()} }, "
          f"100k SETs through the proxy in {t_write:.1f} s")
    for name, share in shares.items():
        assert 0.20 <= share <= 0.47, f"{name} holds {share:.1%} of the keys: {shares}"

    # The tool's ring sends every key where nutcracker sent it.
    ring = c.ring()
    wrong = [(k, name, ring.owner(k).name) for name, ks in on_node.items() for k in ks
             if ring.owner(k).name != name]
    assert not wrong, f"{len(wrong)} keys are not where the ring says, e.g. {wrong[:5]}"

    # Every key reads back through the proxy...
    t0 = time.monotonic()
    got = read_through(proxy, keys)
    bad = [k for k, v in zip(keys, got) if v != values[k]]
    assert not bad, f"{len(bad)} keys read back wrong through the proxy, e.g. {bad[:5]}"
    # ... and from its owning node directly (MGET on the node).
    for n in c.nodes:
        mine = sorted(on_node[n.name])
        r = n.redis()
        for i in range(0, len(mine), 1000):
            chunk = mine[i:i + 1000]
            assert r.mget(chunk) == [values[k] for k in chunk], f"{n.name} holds wrong values"
        assert r.dbsize() == len(mine)
        r.close()
    print(f"read back through the proxy and from each node in {time.monotonic() - t0:.1f} s")
    proxy.close()
