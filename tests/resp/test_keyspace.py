"""SCAN, KEYS and DBSIZE over a known key set.

The module's server holds exactly the keys the `dataset` fixture writes (the
tests here only read it), so full listings and DBSIZE can be exact. lsmd
returns keys in ascending byte order; Redis in any order, so against Redis
listings are compared as sets.
"""

import re

import pytest

from conftest import IS_LSMD, Err

N_ITEMS = 10_000
GLOB_KEYS = [b"hello", b"hallo", b"hxllo", b"hllo", b"heeeello", b"h*llo", b"h?llo",
             b"hbllo", b"x[y"]
BINARY_KEYS = [b"bin:\x00", b"bin:\x00\x01", b"bin:\r\n", b"bin:\xff", b"bin:\xff\xff"]


@pytest.fixture(scope="module")
def dataset(r):
    keys = {}
    for i in range(N_ITEMS):
        keys[b"item:%05d" % i] = b"v%d" % i
    for i in range(40):
        keys[b"other:%d" % i] = b"o"
    for g in GLOB_KEYS:
        keys[b"glob:" + g] = b"g"
    for bk in BINARY_KEYS:
        keys[bk] = bk
    items = list(keys.items())
    for i in range(0, len(items), 1000):
        assert r.mset(dict(items[i:i + 1000])) is True
    return keys


def check_listing(got, expected, what):
    """lsmd: exactly the expected keys in ascending byte order, no repeats.
    Redis: the same set (SCAN may repeat keys there)."""
    expected = sorted(expected)
    if IS_LSMD:
        assert got == expected, (f"{what}: {len(got)} keys, expected {len(expected)} in byte order; "
                                 f"first difference at {next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))}")
    else:
        assert set(got) == set(expected), f"{what}: key sets differ"


def raw_scan_all(raw, *opts):
    """Pages through SCAN until cursor "0"; returns (keys, pages)."""
    keys, pages, cursor = [], 0, b"0"
    while True:
        reply = raw.call("SCAN", cursor, *opts)
        assert isinstance(reply, list) and len(reply) == 2, reply
        cursor, page = reply
        assert isinstance(cursor, bytes) and re.fullmatch(rb"\d+", cursor), (
            f"cursor {cursor!r} must be a decimal integer string (redis-py parses it with int())")
        assert isinstance(page, list) and all(isinstance(x, bytes) for x in page), page
        keys.extend(page)
        pages += 1
        assert pages < 100_000, "SCAN never returned cursor 0"
        if cursor == b"0":
            return keys, pages


# ---- SCAN ---------------------------------------------------------------------

def test_scan_pages_through_every_key_until_cursor_0(dataset, raw):
    keys, _ = raw_scan_all(raw)
    check_listing(keys, dataset, "SCAN 0 ...")


def test_scan_with_count_pages_through_every_key(dataset, raw):
    keys, _ = raw_scan_all(raw, "COUNT", "1000")
    check_listing(keys, dataset, "SCAN COUNT 1000")


def test_scan_match_prefix_lists_only_matching_keys(dataset, raw):
    keys, _ = raw_scan_all(raw, "MATCH", "item:01*", "COUNT", "500")
    check_listing(keys, [x for x in dataset if x.startswith(b"item:01")], "SCAN MATCH item:01*")


def test_scan_iter_all_10000_keys(dataset, r):
    got = list(r.scan_iter())
    check_listing(got, dataset, "scan_iter()")


def test_scan_iter_with_small_count(dataset, r):
    got = list(r.scan_iter(match="item:00*", count=7))
    check_listing(got, [x for x in dataset if x.startswith(b"item:00")], "scan_iter(count=7)")


def test_scan_iter_match_prefix(dataset, r):
    got = list(r.scan_iter(match="item:02*"))
    expected = [x for x in dataset if x.startswith(b"item:02")]
    assert len(expected) == 1000
    check_listing(got, expected, "scan_iter(match='item:02*')")


def test_scan_iter_match_non_prefix_pattern(dataset, r):
    got = list(r.scan_iter(match="*5"))
    expected = [x for x in dataset if x.endswith(b"5")]
    assert len(expected) == 1000 + 4  # item:....5 and other:5, 15, 25, 35
    check_listing(got, expected, "scan_iter(match='*5')")


def test_scan_returns_binary_keys_intact(dataset, r):
    got = list(r.scan_iter(match="bin:*"))
    check_listing(got, BINARY_KEYS, "scan_iter(match='bin:*')")


def test_scan_match_nothing_finishes_with_no_keys(dataset, raw):
    keys, _ = raw_scan_all(raw, "MATCH", "nothing-matches-this:*")
    assert keys == []


def test_scan_non_numeric_cursor_is_invalid_cursor_error(raw):
    assert raw.call("SCAN", "abc") == Err("ERR invalid cursor")
    assert raw.is_open()


@pytest.mark.lsmd_only("Redis accepts any integer cursor (it restarts or continues at that hash slot)")
@pytest.mark.parametrize("cursor", ["12345678", "99999999999"])
def test_scan_cursor_never_handed_out_is_invalid_cursor_error(dataset, raw, cursor):
    reply = raw.call("SCAN", cursor)
    assert isinstance(reply, Err) and reply.startswith("ERR invalid cursor"), reply
    assert raw.is_open()


def test_scan_bad_options_are_errors_as_redis(raw):
    assert raw.call("SCAN", "0", "COUNT", "0") == Err("ERR syntax error")
    assert raw.call("SCAN", "0", "COUNT", "abc") == Err("ERR value is not an integer or out of range")
    assert raw.call("SCAN", "0", "MATCH") == Err("ERR syntax error")
    assert raw.call("SCAN", "0", "BOGUS", "x") == Err("ERR syntax error")
    assert raw.call("SCAN") == Err("ERR wrong number of arguments for 'scan' command")
    assert raw.is_open()


# ---- KEYS -----------------------------------------------------------------------

def test_keys_star_lists_every_key(dataset, raw):
    got = raw.call("KEYS", "*")
    check_listing(got, dataset, "KEYS *")


def test_keys_prefix_pattern(dataset, raw):
    got = raw.call("KEYS", "item:0000*")
    check_listing(got, [b"item:%05d" % i for i in range(10)], "KEYS item:0000*")


def test_keys_non_prefix_pattern(dataset, raw):
    got = raw.call("KEYS", "*99")
    check_listing(got, [x for x in dataset if x.endswith(b"99")], "KEYS *99")


def test_keys_with_no_match_is_empty_array(dataset, raw):
    assert raw.call("KEYS", "no-such-prefix:*") == []


@pytest.mark.parametrize("pattern, expected", [
    ("glob:h?llo", [b"hello", b"hallo", b"hxllo", b"h*llo", b"h?llo", b"hbllo"]),
    ("glob:h*llo", [b"hello", b"hallo", b"hxllo", b"hllo", b"heeeello", b"h*llo", b"h?llo", b"hbllo"]),
    ("glob:h[ae]llo", [b"hello", b"hallo"]),
    ("glob:h[^e]llo", [b"hallo", b"hxllo", b"h*llo", b"h?llo", b"hbllo"]),
    ("glob:h[a-b]llo", [b"hallo", b"hbllo"]),
    ("glob:h\\*llo", [b"h*llo"]),
    ("glob:x\\[y", [b"x[y"]),
])
def test_keys_glob_syntax_matches_redis(dataset, raw, pattern, expected):
    got = raw.call("KEYS", pattern)
    check_listing(got, [b"glob:" + e for e in expected], f"KEYS {pattern}")
    # The same pattern through SCAN MATCH.
    keys, _ = raw_scan_all(raw, "MATCH", pattern, "COUNT", "1000")
    check_listing(keys, [b"glob:" + e for e in expected], f"SCAN MATCH {pattern}")


def test_keys_without_pattern_is_arity_error(raw):
    assert raw.call("KEYS") == Err("ERR wrong number of arguments for 'keys' command")


# ---- DBSIZE ----------------------------------------------------------------------

def test_dbsize_counts_exactly_the_stored_keys(dataset, raw):
    assert raw.call("DBSIZE") == len(dataset)


def test_dbsize_tracks_sets_overwrites_and_deletes_exactly(start_server):
    s = start_server()
    with s.raw() as c:
        assert c.call("DBSIZE") == 0
        c.call("MSET", "a", "1", "b", "2", "c", "3")
        assert c.call("DBSIZE") == 3
        c.call("SET", "a", "again")
        assert c.call("DBSIZE") == 3
        assert c.call("DEL", "b", "nope") == 1
        assert c.call("DBSIZE") == 2
        c.call("GETDEL", "c")
        assert c.call("DBSIZE") == 1
        assert c.call("KEYS", "*") == [b"a"]
        assert c.call("SCAN", "0") == [b"0", [b"a"]]


def test_dbsize_with_argument_is_arity_error(raw):
    assert raw.call("DBSIZE", "x") == Err("ERR wrong number of arguments for 'dbsize' command")
