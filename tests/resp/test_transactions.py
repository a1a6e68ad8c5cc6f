"""MULTI / EXEC / DISCARD, and redis-py pipelines with and without a
transaction."""

import pytest
import redis

from conftest import Err, Status, encode_command


def test_multi_queues_commands_and_exec_returns_their_replies(raw, k):
    assert raw.call("MULTI") == Status("OK")
    assert raw.call("SET", k + "a", "1") == Status("QUEUED")
    assert raw.call("GET", k + "a") == Status("QUEUED")
    assert raw.call("GET", k + "missing") == Status("QUEUED")
    assert raw.call("EXISTS", k + "a", k + "a") == Status("QUEUED")
    assert raw.call("EXEC") == [Status("OK"), b"1", None, 2]
    assert raw.call("GET", k + "a") == b"1"


def test_reads_in_a_transaction_see_its_own_earlier_writes(raw, k):
    raw.call("SET", k, "before")
    raw.call("MULTI")
    for cmd in (("GET", k), ("SET", k, "one"), ("GET", k), ("DEL", k), ("GET", k),
                ("SETNX", k, "two"), ("GETDEL", k), ("EXISTS", k), ("MSET", k, "three"),
                ("MGET", k), ("STRLEN", k)):
        assert raw.call(*cmd) == Status("QUEUED")
    assert raw.call("EXEC") == [b"before", Status("OK"), b"one", 1, None,
                                1, b"two", 0, Status("OK"), [b"three"], 5]


def test_queued_commands_are_not_visible_to_others_before_exec(server, raw, k):
    raw.call("MULTI")
    raw.call("SET", k, "pending")
    with server.raw() as other:
        assert other.call("GET", k) is None
    assert raw.call("EXEC") == [Status("OK")]
    with server.raw() as other:
        assert other.call("GET", k) == b"pending"


def test_exec_of_empty_transaction_is_empty_array(raw):
    assert raw.call("MULTI") == Status("OK")
    assert raw.call("EXEC") == []


def test_discard_drops_the_queued_commands(raw, k):
    raw.call("MULTI")
    raw.call("SET", k, "never")
    assert raw.call("DISCARD") == Status("OK")
    assert raw.call("GET", k) is None
    assert raw.call("EXEC") == Err("ERR EXEC without MULTI")


def test_exec_without_multi_is_an_error(raw):
    assert raw.call("EXEC") == Err("ERR EXEC without MULTI")
    assert raw.is_open()


def test_discard_without_multi_is_an_error(raw):
    assert raw.call("DISCARD") == Err("ERR DISCARD without MULTI")
    assert raw.is_open()


def test_nested_multi_is_an_error_and_the_transaction_survives(raw, k):
    raw.call("MULTI")
    raw.call("SET", k, "1")
    assert raw.call("MULTI") == Err("ERR MULTI calls can not be nested")
    assert raw.call("GET", k) == Status("QUEUED")
    assert raw.call("EXEC") == [Status("OK"), b"1"]


@pytest.mark.parametrize("bad", [("SET", "onlykey"), ("NOSUCHCMD", "x"), ("GET",)],
                         ids=["set_arity", "unknown", "get_arity"])
def test_queue_time_error_aborts_the_whole_transaction(raw, k, bad):
    raw.call("MULTI")
    assert raw.call("SET", k, "1") == Status("QUEUED")
    reply = raw.call(*bad)
    assert isinstance(reply, Err) and reply.startswith("ERR "), reply
    assert raw.call("SET", k + "2", "2") == Status("QUEUED")
    assert raw.call("EXEC") == Err("EXECABORT Transaction discarded because of previous errors.")
    assert raw.call("MGET", k, k + "2") == [None, None], "an aborted transaction writes nothing"
    assert raw.call("PING") == Status("PONG"), "the connection has left MULTI"


def test_transaction_pipelined_in_one_write(raw, k):
    raw.send(encode_command("MULTI") + encode_command("SET", k, "x")
             + encode_command("GET", k) + encode_command("EXEC"))
    assert [raw.read_reply() for _ in range(4)] == [
        Status("OK"), Status("QUEUED"), Status("QUEUED"), [Status("OK"), b"x"]]


@pytest.mark.lsmd_only("Redis supports WATCH")
def test_watch_is_refused_as_not_supported(raw, k):
    reply = raw.call("WATCH", k)
    assert isinstance(reply, Err) and reply.startswith("ERR"), reply
    assert raw.is_open()


def test_watch_inside_multi_is_refused_and_exec_still_runs(raw, k):
    # Redis refuses WATCH inside MULTI with this error (without aborting);
    # lsmd refuses WATCH everywhere. Either way EXEC runs the queue.
    raw.call("MULTI")
    raw.call("SET", k, "1")
    reply = raw.call("WATCH", k)
    assert isinstance(reply, Err) and reply.startswith("ERR"), reply
    result = raw.call("EXEC")
    assert result == [Status("OK")] or result == Err(
        "EXECABORT Transaction discarded because of previous errors."), result


# ---- redis-py pipelines --------------------------------------------------------

def test_redis_py_transaction_pipeline_mixed_sets_and_gets(r, k):
    p = r.pipeline(transaction=True)
    p.set(k + "a", b"1").get(k + "a").set(k + "b", b"\x00\xff").mget(k + "a", k + "b", k + "c")
    p.delete(k + "a").get(k + "a").exists(k + "b")
    assert p.execute() == [True, b"1", True, [b"1", b"\x00\xff", None], 1, None, 1]


def test_redis_py_plain_pipeline_mixed_sets_and_gets(r, k):
    p = r.pipeline(transaction=False)
    for i in range(500):
        p.set(f"{k}{i}", str(i))
        p.get(f"{k}{i}")
    result = p.execute()
    assert result == [x for i in range(500) for x in (True, str(i).encode())]


def test_redis_py_transaction_with_queue_time_error_raises_and_writes_nothing(r, k):
    p = r.pipeline(transaction=True)
    p.set(k + "a", b"1")
    p.execute_command("SET", k + "only-key")
    p.get(k + "a")
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'set' command"):
        p.execute()
    assert r.get(k + "a") is None


def test_redis_py_plain_pipeline_reports_errors_in_place(r, k):
    p = r.pipeline(transaction=False)
    p.set(k, b"1").execute_command("GET").get(k)
    result = p.execute(raise_on_error=False)
    assert result[0] is True and result[2] == b"1"
    assert isinstance(result[1], redis.ResponseError)
    assert str(result[1]) == "wrong number of arguments for 'get' command"
