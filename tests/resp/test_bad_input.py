"""Bad input: a protocol error gets one "-ERR Protocol error..." reply and then
that connection (only) is closed; every other error keeps the connection
open; other clients are served throughout."""

import os
import random
import threading
import time

import pytest

from conftest import Err, Status, encode_command

# name -> (bytes sent, exact Redis 7.0 reply text). lsmd must start its reply
# with "-ERR Protocol error"; the rest of the text is what Redis says.
PROTOCOL_ERRORS = {
    "multibulk_length_not_a_number": (b"*abc\r\n", "invalid multibulk length"),
    "bulk_length_negative": (b"*1\r\n$-5\r\n", "invalid bulk length"),
    "bulk_length_not_a_number": (b"*1\r\n$abc\r\n", "invalid bulk length"),
    "bulk_header_missing_dollar": (b"*1\r\nPING\r\n", "expected '$', got 'P'"),
    "second_bulk_header_missing_dollar": (b"*2\r\n$4\r\nECHO\r\nhi\r\n", "expected '$', got 'h'"),
    "inline_over_64k_without_newline": (b"A" * (64 * 1024 + 1024), "too big inline request"),
}


def assert_protocol_error_then_closed(conn, name):
    data, closed = conn.read_until_closed(timeout=5)
    assert data.startswith(b"-ERR Protocol error"), f"{name}: reply {data[:120]!r}"
    assert data.endswith(b"\r\n") and data.count(b"\r\n") == 1, (
        f"{name}: expected exactly one error line, got {data[:200]!r}")
    assert closed, f"{name}: the connection must be closed after a protocol error"
    return data


@pytest.mark.parametrize("name", list(PROTOCOL_ERRORS))
def test_protocol_error_replies_then_closes_only_that_connection(server, name):
    payload, _ = PROTOCOL_ERRORS[name]
    with server.raw() as bystander, server.raw() as bad:
        assert bystander.call("PING") == Status("PONG")
        bad.send(payload)
        assert_protocol_error_then_closed(bad, name)
        assert bystander.call("PING") == Status("PONG"), "another connection was disturbed"
    with server.raw() as after:
        assert after.call("PING") == Status("PONG"), "server stopped accepting"


@pytest.mark.parametrize("name", list(PROTOCOL_ERRORS))
def test_protocol_error_text_is_redis_text(server, name):
    payload, text = PROTOCOL_ERRORS[name]
    with server.raw() as bad:
        bad.send(payload)
        data = assert_protocol_error_then_closed(bad, name)
    assert data == f"-ERR Protocol error: {text}\r\n".encode()


def test_protocol_error_after_good_commands_answers_them_first(server, k):
    with server.raw() as c:
        c.send(encode_command("SET", k, "kept") + encode_command("GET", k) + b"*1\r\n$-5\r\n"
               + encode_command("PING"))
        assert c.read_reply() == Status("OK")
        assert c.read_reply() == b"kept"
        assert_protocol_error_then_closed(c, "after good commands")
    with server.raw() as c:
        assert c.call("GET", k) == b"kept"


def test_inline_line_of_64k_minus_a_bit_is_not_a_protocol_error(server):
    # Only a line OVER 64 KiB without a newline is refused.
    with server.raw() as c:
        c.send(b"ECHO " + b"a" * (60 * 1024) + b"\r\n")
        assert c.read_reply() == b"a" * (60 * 1024)


def test_inline_commands_are_served(server, k):
    with server.raw() as c:
        c.send(f"PING\r\nSET {k} inline\r\nGET {k}\nEXISTS {k} {k}\r\n".encode())
        assert [c.read_reply() for _ in range(4)] == [Status("PONG"), Status("OK"), b"inline", 2]


def test_empty_inline_lines_are_ignored(server):
    with server.raw() as c:
        c.send(b"\r\n\r\n\nPING\r\n")
        assert c.read_reply() == Status("PONG")


# ---- errors that keep the connection open -------------------------------------------

NON_FATAL = [
    ("GET",),
    ("SET", "a"),
    ("MSET", "a"),
    ("NOSUCHCOMMAND", "x", "y"),
    ("SELECT", "1"),
    ("SET", "a", "b", "NX", "XX"),
    ("SCAN", "not-a-cursor"),
    ("EXEC",),
    ("DISCARD",),
    ("HELLO", "4"),
    ("CONFIG", "GET"),
]


def test_command_errors_keep_the_connection_open(server, k):
    with server.raw() as c:
        for args in NON_FATAL:
            reply = c.call(*args)
            assert isinstance(reply, Err) and reply.startswith(("ERR", "NOPROTO")), (args, reply)
            assert c.call("PING") == Status("PONG"), f"connection unusable after {args}"
        assert c.call("SET", k, "still-here") == Status("OK")
        assert c.call("GET", k) == b"still-here"


@pytest.mark.lsmd_only("these are errors in lsmd only (empty key, key over 16 KiB, SET EX, WATCH, HELLO 3)")
def test_lsmd_only_errors_keep_the_connection_open(server, k):
    with server.raw() as c:
        for args in [("SET", "", "v"), ("SET", "K" * 16385, "v"), ("SET", k, "v", "EX", "10"),
                     ("WATCH", k), ("HELLO", "3"), ("SCAN", "12345678")]:
            reply = c.call(*args)
            assert isinstance(reply, Err), (args[:1], reply)
            assert c.call("PING") == Status("PONG"), f"connection unusable after {args[:2]}"


def test_errors_in_one_big_pipeline_keep_the_connection_open(server, k):
    with server.raw() as c:
        batch = []
        for i in range(300):
            batch.append(encode_command("SET", f"{k}{i}", str(i)))
            batch.append(encode_command("GET"))
            batch.append(encode_command("NOPE", str(i)))
        c.send(b"".join(batch))
        for i in range(300):
            assert c.read_reply() == Status("OK")
            assert c.read_reply() == Err("ERR wrong number of arguments for 'get' command")
            assert isinstance(c.read_reply(), Err)
        assert c.call("GET", f"{k}299") == b"299"


# ---- garbage from one client while others are served --------------------------------

def garbage_payloads(rng):
    yield from (p for p, _ in PROTOCOL_ERRORS.values())
    while True:
        kind = rng.randrange(5)
        if kind == 0:
            yield b"*" + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))) + b"\r\n"
        elif kind == 1:
            yield b"*3\r\n$3\r\nSET\r\n$" + str(-rng.randrange(2, 10**6)).encode() + b"\r\n"
        elif kind == 2:
            yield b"*2\r\n$3\r\nGET\r\n" + os.urandom(rng.randrange(1, 30)).replace(b"$", b"#") + b"\r\n"
        elif kind == 3:
            yield os.urandom(rng.randrange(1, 2000))
        else:
            yield b"*1\r\n$4\r\nPI"  # truncated: the client hangs up mid-command


def test_clients_are_served_while_another_sends_garbage(server, k):
    stop = threading.Event()
    sent = [0]
    failures = []

    def garbage_client(seed):
        rng = random.Random(seed)
        payloads = garbage_payloads(rng)
        while not stop.is_set():
            payload = next(payloads)
            try:
                c = server.raw(timeout=2)
            except OSError as e:
                failures.append(f"connect: {e!r}")
                continue
            try:
                c.send(payload)
                c.read_until_closed(timeout=0.2)
            except OSError:
                pass  # the server may close while we are still sending: fine
            finally:
                c.close()
            sent[0] += 1

    threads = [threading.Thread(target=garbage_client, args=(seed,)) for seed in (1, 2)]
    for t in threads:
        t.start()
    try:
        good = server.redis()
        deadline = time.monotonic() + 3
        i = 0
        while time.monotonic() < deadline or i < 300:
            key = f"{k}{i % 50}"
            assert good.set(key, str(i)) is True
            assert good.get(key) == str(i).encode()
            i += 1
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures, f"garbage clients could not connect: {failures[:3]}"
    assert sent[0] > 10, "the garbage clients barely ran"
    assert server.alive(), "the server died"
    with server.raw() as c:
        assert c.call("PING") == Status("PONG")
        assert c.call("GET", f"{k}0") is not None
