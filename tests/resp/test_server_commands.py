"""Server commands: INFO, CONFIG GET, COMMAND, TIME; lsmd's own SSTABLE.FLUSH,
SSTABLE.LOOKUP, COMPACT and STATS."""

import re
import time

import pytest

from conftest import Err, pairs_to_dict

INFO_LINE = re.compile(r"(# \S.*|[^:\s]+:.*|)")


def info_sections(text: bytes) -> dict:
    """Parses INFO text into {section title: {name: value}}, checking that
    every line is '# Title', 'name:value' or empty and ends with CRLF."""
    assert isinstance(text, bytes), text
    s = text.decode("utf-8")
    assert s.endswith("\r\n"), f"INFO text must end with CRLF: {s[-20:]!r}"
    lines = s[:-2].split("\r\n")
    assert "\n" not in "".join(lines), "INFO lines must be separated by CRLF, not bare LF"
    sections, current = {}, None
    for line in lines:
        assert INFO_LINE.fullmatch(line), f"not '# Section' / 'key:value': {line!r}"
        if line.startswith("# "):
            current = sections.setdefault(line[2:], {})
        elif line:
            assert current is not None, f"key before any '# Section' header: {line!r}"
            name, _, value = line.partition(":")
            current[name] = value
    return sections


# ---- INFO -------------------------------------------------------------------------

def test_info_default_has_redis_sections_and_fields(raw, k):
    raw.call("SET", k, "v")
    sections = info_sections(raw.call("INFO"))
    for title in ("Server", "Clients", "Memory", "Persistence", "Stats", "Keyspace"):
        assert title in sections, f"no '# {title}' in INFO: {list(sections)}"
    assert re.fullmatch(r"\d+(\.\d+)*\S*", sections["Server"]["redis_version"])
    assert int(sections["Clients"]["connected_clients"]) >= 1
    assert int(sections["Memory"]["used_memory"]) >= 0
    assert re.match(r"keys=\d+", sections["Keyspace"]["db0"])


@pytest.mark.parametrize("section, title, field", [
    ("server", "Server", "redis_version"),
    ("SERVER", "Server", "redis_version"),
    ("clients", "Clients", "connected_clients"),
    ("memory", "Memory", "used_memory"),
    ("persistence", "Persistence", None),
    ("stats", "Stats", None),
])
def test_info_section_returns_only_that_section(raw, section, title, field):
    sections = info_sections(raw.call("INFO", section))
    assert list(sections) == [title]
    if field:
        assert field in sections[title]


def test_info_clients_counts_open_connections(server, raw):
    with server.raw() as a, server.raw() as b:
        a.call("PING")
        b.call("PING")
        n = int(info_sections(raw.call("INFO", "clients"))["Clients"]["connected_clients"])
        assert n >= 3


def test_info_keyspace_shows_db0_keys_after_writes(raw, k):
    raw.call("MSET", k + "1", "a", k + "2", "b")
    sections = info_sections(raw.call("INFO", "keyspace"))
    assert list(sections) == ["Keyspace"]
    m = re.match(r"keys=(\d+)(,|$)", sections["Keyspace"]["db0"])
    assert m and int(m.group(1)) >= 2, sections


def test_info_keyspace_key_count_is_dbsize(start_server):
    s = start_server()
    with s.raw() as c:
        c.call("MSET", "a", "1", "b", "2", "c", "3")
        c.call("DEL", "b")
        db0 = info_sections(c.call("INFO", "keyspace"))["Keyspace"]["db0"]
        assert re.match(r"keys=2(,|$)", db0), db0
        assert c.call("DBSIZE") == 2


def test_info_unknown_section_is_empty(raw):
    # Redis answers an empty bulk string, not an error.
    assert raw.call("INFO", "nosuchsection") == b""


@pytest.mark.lsmd_only("the lsm section is lsmd's own")
def test_info_lsm_section_has_engine_fields(raw):
    text = raw.call("INFO", "lsm")
    sections = info_sections(text)
    titles = [t for t in sections if t.lower() == "lsm"]
    assert titles, f"no '# lsm' section header in INFO lsm: {text[:200]!r}"
    assert sections[titles[0]], "the lsm section has no fields"


# ---- CONFIG GET ---------------------------------------------------------------------

def test_config_get_save_is_flat_name_value_pair(server, raw):
    reply = raw.call("CONFIG", "GET", "save")
    assert isinstance(reply, list) and len(reply) == 2 and reply[0] == b"save", reply
    assert isinstance(reply[1], bytes)
    if server.target == "redis":
        assert reply[1] == b""  # started with --save ''


def test_config_get_appendonly_is_flat_name_value_pair(raw):
    reply = raw.call("CONFIG", "GET", "appendonly")
    assert isinstance(reply, list) and len(reply) == 2 and reply[0] == b"appendonly", reply
    assert reply[1] in (b"yes", b"no")


def test_config_get_unknown_parameter_is_empty_array(raw):
    assert raw.call("CONFIG", "GET", "no-such-parameter") == []


def test_config_get_without_parameter_is_arity_error(raw):
    # Redis 7 names the subcommand 'config|get'.
    assert raw.call("CONFIG", "GET") == Err("ERR wrong number of arguments for 'config|get' command")
    assert raw.is_open()


def test_redis_py_config_get(r):
    got = r.config_get("save")
    assert list(got) == ["save"]


# ---- COMMAND, TIME ---------------------------------------------------------------------

def test_command_count_is_an_integer_over_20(raw):
    n = raw.call("COMMAND", "COUNT")
    assert isinstance(n, int) and n > 20


def test_command_docs_is_an_array(raw):
    assert isinstance(raw.call("COMMAND", "DOCS"), list)
    assert isinstance(raw.call("COMMAND", "DOCS", "get"), list)


def test_time_is_two_bulk_integers_near_now(raw):
    before = time.time()
    reply = raw.call("TIME")
    after = time.time()
    assert isinstance(reply, list) and len(reply) == 2, reply
    assert all(isinstance(x, bytes) and re.fullmatch(rb"\d+", x) for x in reply), reply
    secs, micros = int(reply[0]), int(reply[1])
    assert 0 <= micros < 1_000_000
    assert before - 2 <= secs + micros / 1e6 <= after + 2


def test_redis_py_time(r):
    secs, micros = r.time()
    assert abs(secs - time.time()) < 5 and 0 <= micros < 1_000_000


# ---- lsmd-only engine commands -----------------------------------------------------

def truthy(v) -> bool:
    assert v in (1, 0, b"1", b"0", b"true", b"false"), f"not a RESP2 boolean: {v!r}"
    return v in (1, b"1", b"true")


@pytest.mark.lsmd_only("SSTABLE.FLUSH is lsmd's own")
def test_sstable_flush_writes_a_table_and_reports_it(start_server):
    s = start_server()
    with s.raw() as c:
        c.call("MSET", "a", "1", "b", "2", "c", "3")
        reply = c.call("SSTABLE.FLUSH")
        assert not isinstance(reply, Err), reply
        info = pairs_to_dict(reply)
        assert isinstance(info["sstable_file"], bytes) and info["sstable_file"].endswith(b".sst"), info
        assert info["entries"] == 3, info


@pytest.mark.lsmd_only("SSTABLE.FLUSH is lsmd's own")
def test_sstable_flush_with_memtable_size_argument(start_server):
    s = start_server()
    with s.raw() as c:
        c.call("SET", "x", "y")
        info = pairs_to_dict(c.call("SSTABLE.FLUSH", "1048576"))
        assert info["entries"] == 1
        assert info["sstable_file"] is not None


@pytest.mark.lsmd_only("SSTABLE.FLUSH is lsmd's own")
@pytest.mark.parametrize("arg", ["abc", "0", "-1", "1073741825"])
def test_sstable_flush_with_bad_size_is_an_error_and_keeps_connection(raw, arg):
    reply = raw.call("SSTABLE.FLUSH", arg)
    assert isinstance(reply, Err) and reply.startswith("ERR"), reply
    assert raw.is_open()


@pytest.mark.lsmd_only("SSTABLE.LOOKUP is lsmd's own")
def test_sstable_lookup_finds_key_through_bloom_filter_with_one_read(start_server):
    s = start_server()
    with s.raw() as c:
        c.call("MSET", "user:42", "Alice", "user:7", "Bob")
        table = pairs_to_dict(c.call("SSTABLE.FLUSH"))["sstable_file"]
        hit = pairs_to_dict(c.call("SSTABLE.LOOKUP", table, "user:42"))
        assert truthy(hit["found"]) and hit["value"] == b"Alice", hit
        assert truthy(hit["bloom_checked"]) and hit["disk_reads"] == 1, hit
        miss = pairs_to_dict(c.call("SSTABLE.LOOKUP", table, "user:1"))
        assert not truthy(miss["found"]), miss
        assert miss.get("value") is None
        assert isinstance(miss["disk_reads"], int)


@pytest.mark.lsmd_only("SSTABLE.LOOKUP is lsmd's own")
def test_sstable_lookup_of_unknown_table_is_an_error_and_keeps_connection(raw):
    reply = raw.call("SSTABLE.LOOKUP", "../L0_001.sst", "k")
    assert isinstance(reply, Err), reply
    assert raw.is_open()


@pytest.mark.lsmd_only("COMPACT and STATS are lsmd's own")
def test_compact_and_stats_after_flushes(start_server):
    s = start_server()
    with s.raw() as c:
        for i in range(3):
            c.call("SET", f"k{i}", f"v{i}")
            assert not isinstance(c.call("SSTABLE.FLUSH"), Err)
        reply = c.call("COMPACT")
        assert not isinstance(reply, Err), reply
        stats = c.call("STATS")
        d = pairs_to_dict(stats)
        assert all(isinstance(v, int) for v in d.values()), f"STATS values must be integers: {d}"
        assert d["flushes"] >= 3, d
        assert c.call("MGET", "k0", "k1", "k2") == [b"v0", b"v1", b"v2"], "compaction keeps data"
