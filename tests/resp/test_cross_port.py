"""The RESP port and the JSON port share one store: what one writes, the other
reads. A value that is not valid UTF-8 comes back on the JSON port as
{"base64": "<standard base64 with padding>"}. lsmd only: redis-server has no
JSON port."""

import base64
import json

import pytest

from conftest import Err, Status, json_value_for

pytestmark = pytest.mark.lsmd_only("redis-server has no JSON port")
LSMD_SYNC = "always"

UTF8_VALUES = ["Alice", "", "h\u00e9llo", "\u65e5\u672c\u8a9e", "emoji \U0001F600", "nul\x00byte",
               "ctrl\x01\x1f\x7f", 'quote " and \\ backslash', "line\r\nbreak\n", "\u2028\u2029",
               "x" * 100_000]

NON_UTF8_VALUES = [
    b"\xff", b"\xff\xfe", b"\xff\xfe\xfd", b"\x00\xff",   # padding ==, =, none
    bytes(range(256)),
    b"\xed\xa0\x80",        # a UTF-16 surrogate, encoded: invalid UTF-8
    b"\xc0\xaf",            # overlong encoding of '/'
    b"\xf4\x90\x80\x80",    # above U+10FFFF
    b"\xe6\x97",            # truncated sequence
    b"ok until here \x80",  # lone continuation byte
    b"\xf8\x88\x80\x80\x80",  # 5-byte form
]


@pytest.mark.parametrize("value", UTF8_VALUES, ids=range(len(UTF8_VALUES)))
def test_utf8_value_written_over_resp_reads_as_plain_json_string(server, k, value):
    with server.raw() as c, server.json() as j:
        assert c.call("SET", k, value.encode("utf-8")) == Status("OK")
        assert j.get(k) == (True, value)


@pytest.mark.parametrize("value", NON_UTF8_VALUES, ids=range(len(NON_UTF8_VALUES)))
def test_non_utf8_value_written_over_resp_reads_as_base64_on_json(server, k, value):
    with server.raw() as c, server.json() as j:
        c.call("SET", k, value)
        found, got = j.get(k)
        assert found
        assert got == {"base64": base64.b64encode(value).decode("ascii")}, got
        assert base64.b64decode(got["base64"], validate=True) == value
        assert got == json_value_for(value)


def test_base64_reply_line_format(server, k):
    """The raw reply line: the value is an object with exactly one member."""
    with server.raw() as c:
        c.call("SET", k, b"\xff\xfe")
    with server.json() as j:
        j.sock.sendall(json.dumps({"type": "get", "key": k, "msg_id": 7}).encode() + b"\n")
        line = j.file.readline()
    assert line.endswith(b'"found": true, "value": {"base64": "//4="}}\n'), line


@pytest.mark.parametrize("value", UTF8_VALUES, ids=range(len(UTF8_VALUES)))
def test_value_written_over_json_reads_over_resp_as_its_utf8_bytes(server, k, value):
    with server.json() as j, server.raw() as c:
        j.put(k, value)
        assert c.call("GET", k) == value.encode("utf-8")
        assert c.call("STRLEN", k) == len(value.encode("utf-8"))


def test_unicode_keys_are_the_same_key_on_both_ports(server, k):
    key = k + "cl\u00e9\x00\U0001F511"
    with server.json() as j, server.raw() as c:
        j.put(key, "from json")
        assert c.call("GET", key.encode("utf-8")) == b"from json"
        assert c.call("EXISTS", key.encode("utf-8")) == 1
        c.call("SET", key.encode("utf-8"), "from resp")
        assert j.get(key) == (True, "from resp")


def test_delete_on_one_port_is_seen_on_the_other(server, k):
    with server.json() as j, server.raw() as c:
        j.put(k + "a", "1")
        assert c.call("DEL", k + "a") == 1
        assert j.get(k + "a") == (False, None)
        c.call("SET", k + "b", "2")
        j.delete(k + "b")
        assert c.call("GET", k + "b") is None
        assert c.call("EXISTS", k + "b") == 0


def test_overwrites_alternate_between_ports(server, k):
    with server.json() as j, server.raw() as c:
        for i in range(20):
            if i % 2:
                j.put(k, f"json-{i}")
                assert c.call("GET", k) == f"json-{i}".encode()
            else:
                c.call("SET", k, b"resp-%d\xff" % i)
                assert j.get(k) == (True, json_value_for(b"resp-%d\xff" % i))


def test_json_writes_are_counted_and_listed_over_resp(start_server):
    s = start_server()
    with s.json() as j, s.raw() as c:
        for name in ("b", "a", "c"):
            j.put(name, name.upper())
        c.call("SET", "d", "D")
        assert c.call("DBSIZE") == 4
        assert c.call("KEYS", "*") == [b"a", b"b", b"c", b"d"]
        assert c.call("MGET", "a", "b", "c", "d") == [b"A", b"B", b"C", b"D"]
        reply = j.request(type="scan", limit=10)
        assert reply["entries"] == [["a", "A"], ["b", "B"], ["c", "C"], ["d", "D"]], reply


def test_cross_port_values_survive_a_flush_to_sstable(server, k):
    with server.json() as j, server.raw() as c:
        j.put(k + "j", "json \u00e9")
        c.call("SET", k + "r", b"\x00\xff resp")
        assert not isinstance(c.call("SSTABLE.FLUSH"), Err)
        assert c.call("GET", k + "j") == "json \u00e9".encode()
        assert j.get(k + "r") == (True, json_value_for(b"\x00\xff resp"))
        assert j.get(k + "j") == (True, "json \u00e9")
