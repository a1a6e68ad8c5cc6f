"""50 concurrent clients, half on the RESP port and half on the JSON port
(against redis-server, which has no JSON port, all 50 use RESP). Each does a
few hundred random SET/GET/DEL on its own keys plus reads of a shared
read-only key set written at the start; every reply is checked against a
model of what the store must hold."""

import random
import threading

from conftest import IS_LSMD, Status, json_value_for

LSMD_SYNC = "always"  # exercise durable (group-committed) writes

N_CLIENTS = 50
OPS_PER_CLIENT = 300
KEYS_PER_CLIENT = 16
N_SHARED = 100


def shared_key(i):
    return f"shared:{i:03d}"


def shared_value(i) -> bytes:
    # Every fourth shared value is not valid UTF-8.
    return (b"\xff\xfeshared-%d" % i) if i % 4 == 0 else ("shared-\u00e9-%d" % i).encode()


def random_text(rng):
    alphabet = "abcxyz \u00e9\u00fc\u65e5\U0001F600\x00\n\"\\"
    return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))


def resp_client(server, cid, barrier, errors, final):
    rng = random.Random(1000 + cid)
    model = {}
    keys = [f"c{cid:02d}:k{j:02d}".encode() for j in range(KEYS_PER_CLIENT)]
    try:
        with server.raw() as c:
            barrier.wait(timeout=60)
            for op in range(OPS_PER_CLIENT):
                key = rng.choice(keys)
                roll = rng.random()
                if roll < 0.35:
                    value = rng.randbytes(rng.randrange(0, 64))
                    got = c.call("SET", key, value)
                    want = Status("OK")
                    model[key] = value
                elif roll < 0.65:
                    got, want = c.call("GET", key), model.get(key)
                elif roll < 0.75:
                    got, want = c.call("DEL", key), int(key in model)
                    model.pop(key, None)
                elif roll < 0.8:
                    some = rng.sample(keys, 4)
                    got, want = c.call("MGET", *some), [model.get(x) for x in some]
                elif roll < 0.85:
                    got, want = c.call("EXISTS", key, key), 2 * int(key in model)
                else:
                    i = rng.randrange(N_SHARED)
                    got, want = c.call("GET", shared_key(i)), shared_value(i)
                if got != want:
                    errors.append(f"resp client {cid} op {op}: got {got!r}, want {want!r}")
                    return
        final[cid] = ("resp", model)
    except Exception as e:  # noqa: BLE001 - reported as a test failure
        errors.append(f"resp client {cid}: {e!r}")


def json_client(server, cid, barrier, errors, final):
    rng = random.Random(1000 + cid)
    model = {}
    keys = [f"c{cid:02d}:k{j:02d}" for j in range(KEYS_PER_CLIENT)]
    try:
        with server.json() as j:
            barrier.wait(timeout=60)
            for op in range(OPS_PER_CLIENT):
                key = rng.choice(keys)
                roll = rng.random()
                if roll < 0.4:
                    value = random_text(rng)
                    reply = j.request(type="put", key=key, value=value)
                    got, want = reply["type"], "put_ok"
                    model[key] = value
                elif roll < 0.75:
                    got = j.get(key)
                    want = (True, model[key]) if key in model else (False, None)
                elif roll < 0.85:
                    reply = j.request(type="delete", key=key)
                    got, want = reply["type"], "delete_ok"
                    model.pop(key, None)
                else:
                    i = rng.randrange(N_SHARED)
                    got, want = j.get(shared_key(i)), (True, json_value_for(shared_value(i)))
                if got != want:
                    errors.append(f"json client {cid} op {op}: got {got!r}, want {want!r}")
                    return
        final[cid] = ("json", model)
    except Exception as e:  # noqa: BLE001 - reported as a test failure
        errors.append(f"json client {cid}: {e!r}")


def test_50_concurrent_clients_resp_and_json_all_replies_match_the_model(server):
    # The shared read-only keys: written before the clients start, half over
    # each port (all over RESP against Redis).
    with server.raw() as c:
        for i in range(N_SHARED):
            if IS_LSMD and i % 2:
                continue  # written over the JSON port below
            assert c.call("SET", shared_key(i), shared_value(i)) == Status("OK")
    if IS_LSMD:
        with server.json() as j:
            for i in range(1, N_SHARED, 2):
                j.put(shared_key(i), shared_value(i).decode("utf-8"))

    barrier = threading.Barrier(N_CLIENTS)
    errors, final = [], {}
    threads = []
    for cid in range(N_CLIENTS):
        use_json = IS_LSMD and cid % 2 == 1
        fn = json_client if use_json else resp_client
        threads.append(threading.Thread(target=fn, args=(server, cid, barrier, errors, final)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=150)
    assert not any(t.is_alive() for t in threads), "a client is stuck"
    assert not errors, "\n".join(errors[:10])
    assert len(final) == N_CLIENTS

    # Afterwards: every client's keys hold exactly its model, read over the
    # OTHER port where there is one; DBSIZE counts exactly the live keys.
    live = N_SHARED
    with server.raw() as c:
        json_reader = server.json() if IS_LSMD else None
        try:
            for cid, (kind, model) in sorted(final.items()):
                live += len(model)
                if kind == "json":
                    for j in range(KEYS_PER_CLIENT):
                        key = f"c{cid:02d}:k{j:02d}"
                        want = model[key].encode("utf-8") if key in model else None
                        assert c.call("GET", key) == want, (cid, key)
                elif json_reader is not None:
                    for j in range(KEYS_PER_CLIENT):
                        key = f"c{cid:02d}:k{j:02d}".encode()
                        want = (True, json_value_for(model[key])) if key in model else (False, None)
                        assert json_reader.get(key.decode()) == want, (cid, key)
                else:
                    keys = [f"c{cid:02d}:k{j:02d}".encode() for j in range(KEYS_PER_CLIENT)]
                    assert c.call("MGET", *keys) == [model.get(x) for x in keys], cid
        finally:
            if json_reader is not None:
                json_reader.close()
        assert c.call("DBSIZE") == live
        assert c.call("MGET", *[shared_key(i) for i in range(N_SHARED)]) == [
            shared_value(i) for i in range(N_SHARED)]
