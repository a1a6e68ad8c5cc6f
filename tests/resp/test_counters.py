"""Read-modify-write string commands: INCR DECR INCRBY DECRBY INCRBYFLOAT
APPEND GETSET. Each is decided on the engine's committer, so concurrent
clients never lose an update (the promise counters rely on)."""

import threading

import redis

from conftest import Err, Status


def test_incr_and_decr_count_from_zero(raw, k):
    assert raw.call("INCR", k) == 1
    assert raw.call("INCR", k) == 2
    assert raw.call("DECR", k) == 1
    assert raw.call("INCRBY", k, "41") == 42
    assert raw.call("DECRBY", k, "50") == -8
    assert raw.call("GET", k) == b"-8"
    assert raw.call("DECR", k + ":other") == -1


def test_incr_refuses_what_is_not_an_integer_and_leaves_it(raw, k):
    for bad in ("abc", "1.5", " 1", "01", ""):
        raw.call("SET", k, bad)
        assert raw.call("INCR", k) == Err("ERR value is not an integer or out of range")
        assert raw.call("GET", k) == bad.encode()
    assert raw.call("INCRBY", k + ":n", "x") == Err("ERR value is not an integer or out of range")


def test_incr_overflow_is_an_error_not_a_wrap(raw, k):
    raw.call("SET", k, str(2**63 - 1))
    assert raw.call("INCR", k) == Err("ERR increment or decrement would overflow")
    assert raw.call("GET", k) == str(2**63 - 1).encode()
    raw.call("SET", k, str(-(2**63)))
    assert raw.call("DECR", k) == Err("ERR increment or decrement would overflow")


def test_incrbyfloat_formats_as_redis_does(raw, k):
    assert raw.call("INCRBYFLOAT", k, "10.5") == b"10.5"
    assert raw.call("INCRBYFLOAT", k, "0.1") == b"10.6"
    assert raw.call("INCRBYFLOAT", k, "-5") == b"5.6"
    assert raw.call("INCRBYFLOAT", k, "4.4") == b"10"
    assert raw.call("INCRBYFLOAT", k, "abc") == Err("ERR value is not a valid float")
    raw.call("SET", k + ":s", "text")
    assert raw.call("INCRBYFLOAT", k + ":s", "1") == Err("ERR value is not a valid float")


def test_append_returns_the_new_length(raw, k):
    assert raw.call("APPEND", k, "Hello") == 5
    assert raw.call("APPEND", k, " World") == 11
    assert raw.call("GET", k) == b"Hello World"
    assert raw.call("APPEND", k, b"\x00\xff") == 13


def test_getset_returns_the_old_value(raw, k):
    assert raw.call("GETSET", k, "a") is None
    assert raw.call("GETSET", k, "b") == b"a"
    assert raw.call("GET", k) == b"b"


def test_counters_inside_a_transaction_see_earlier_queued_writes(raw, k):
    assert raw.call("MULTI") == Status("OK")
    assert raw.call("SET", k, "10") == Status("QUEUED")
    assert raw.call("INCR", k) == Status("QUEUED")
    assert raw.call("APPEND", k, "0") == Status("QUEUED")
    assert raw.call("INCRBY", k, "5") == Status("QUEUED")
    assert raw.call("EXEC") == [Status("OK"), 11, 3, 115]


def test_concurrent_increments_never_lose_an_update(server):
    # 16 clients x 500 INCR over the same 10 keys: exactly 8,000 in total.
    clients, per_client, keys = 16, 500, [f"ctr:{i}" for i in range(10)]
    setup = server.redis()
    setup.delete(*keys)
    errors = []

    def work(n):
        c = server.redis()
        try:
            for i in range(per_client):
                c.incr(keys[(n + i) % len(keys)])
        except redis.RedisError as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(int(v) for v in setup.mget(keys)) == clients * per_client
