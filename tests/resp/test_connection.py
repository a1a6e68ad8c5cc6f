"""Connection commands: PING, ECHO, QUIT, SELECT, HELLO, CLIENT, RESET."""

import pytest
import redis

from conftest import Err, Status


def test_ping_replies_pong_status(raw):
    assert raw.call("PING") == Status("PONG")
    assert isinstance(raw.call("PING"), Status)


def test_ping_with_message_replies_the_message_as_bulk(raw):
    reply = raw.call("PING", b"hello \x00\r\n\xff")
    assert reply == b"hello \x00\r\n\xff" and isinstance(reply, bytes)


def test_ping_with_two_arguments_is_an_arity_error(raw):
    assert raw.call("PING", "a", "b") == Err("ERR wrong number of arguments for 'ping' command")
    assert raw.is_open()


def test_echo_returns_its_argument_byte_for_byte(raw):
    for msg in (b"hi", b"", b"a\r\nb", bytes(range(256))):
        assert raw.call("ECHO", msg) == msg


def test_echo_without_argument_is_an_arity_error(raw):
    assert raw.call("ECHO") == Err("ERR wrong number of arguments for 'echo' command")
    assert raw.is_open()


def test_quit_replies_ok_then_closes_the_connection(server):
    with server.raw() as c:
        # A PING pipelined after QUIT must not be answered.
        c.send(b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n")
        data, closed = c.read_until_closed(timeout=5)
        assert data == b"+OK\r\n"
        assert closed


def test_select_0_is_ok(raw):
    assert raw.call("SELECT", "0") == Status("OK")


@pytest.mark.parametrize("index", ["1", "15", "16", "-1"])
def test_select_other_index_is_out_of_range_and_connection_stays_open(raw, index):
    assert raw.call("SELECT", index) == Err("ERR DB index is out of range")
    assert raw.is_open()


def test_select_non_integer_is_an_error(raw):
    # Redis: "ERR value is not an integer or out of range".
    assert raw.call("SELECT", "abc") == Err("ERR value is not an integer or out of range")
    assert raw.is_open()


HELLO_KEYS = [b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"]


@pytest.mark.parametrize("args", [(), ("2",)], ids=["HELLO", "HELLO_2"])
def test_hello_replies_flat_resp2_array_with_redis_keys_and_proto_2(raw, args):
    reply = raw.call("HELLO", *args)
    assert isinstance(reply, list) and len(reply) == 14, reply
    assert reply[0::2] == HELLO_KEYS
    fields = dict(zip(reply[0::2], reply[1::2]))
    assert fields[b"proto"] == 2
    assert isinstance(fields[b"id"], int)
    assert isinstance(fields[b"server"], bytes) and isinstance(fields[b"version"], bytes)
    assert isinstance(fields[b"modules"], list)
    # Still RESP2 afterwards.
    assert raw.call("PING") == Status("PONG")


def test_hello_id_is_the_client_id(raw):
    fields = dict(zip(*[iter(raw.call("HELLO", "2"))] * 2))
    assert fields[b"id"] == raw.call("CLIENT", "ID")


@pytest.mark.lsmd_only("Redis 7 supports RESP3, so HELLO 3 succeeds there")
def test_hello_3_is_refused_with_noproto_and_connection_stays_resp2(raw):
    reply = raw.call("HELLO", "3")
    assert isinstance(reply, Err) and reply.startswith("NOPROTO"), reply
    assert raw.call("PING") == Status("PONG")


def test_hello_unknown_protocol_version_is_noproto(raw):
    # Redis: "NOPROTO unsupported protocol version".
    reply = raw.call("HELLO", "4")
    assert reply == Err("NOPROTO unsupported protocol version")
    assert raw.is_open()


def test_client_setname_then_getname_on_the_same_connection(raw):
    assert raw.call("CLIENT", "GETNAME") is None
    assert raw.call("CLIENT", "SETNAME", "worker-7") == Status("OK")
    assert raw.call("CLIENT", "GETNAME") == b"worker-7"


def test_client_name_is_per_connection(server, raw):
    raw.call("CLIENT", "SETNAME", "mine")
    with server.raw() as other:
        assert other.call("CLIENT", "GETNAME") is None


def test_client_setname_with_space_is_refused(raw):
    assert raw.call("CLIENT", "SETNAME", "a b") == Err(
        "ERR Client names cannot contain spaces, newlines or special characters.")
    assert raw.is_open()


def test_client_id_is_an_integer_stable_per_connection_and_unique(server, raw):
    a = raw.call("CLIENT", "ID")
    assert isinstance(a, int)
    assert raw.call("CLIENT", "ID") == a
    with server.raw() as other:
        b = other.call("CLIENT", "ID")
        assert isinstance(b, int) and b != a


def test_reset_replies_reset_status(raw):
    assert raw.call("RESET") == Status("RESET")
    assert raw.call("PING") == Status("PONG")


def test_reset_leaves_multi_and_clears_the_client_name(raw):
    # As Redis: RESET discards a transaction in progress and the name.
    assert raw.call("CLIENT", "SETNAME", "before-reset") == Status("OK")
    assert raw.call("MULTI") == Status("OK")
    assert raw.call("RESET") == Status("RESET")
    assert raw.call("CLIENT", "GETNAME") is None
    assert raw.call("EXEC") == Err("ERR EXEC without MULTI")


def test_redis_py_connection_commands(r):
    assert r.ping() is True
    assert r.echo(b"x\x00y") == b"x\x00y"
    assert isinstance(r.client_id(), int)
    with pytest.raises(redis.ResponseError, match="^DB index is out of range$"):
        r.execute_command("SELECT", 1)
    assert r.execute_command("SELECT", 0) is True
