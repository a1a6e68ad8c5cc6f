"""--max-reply-bytes on the RESP port, with redis-py, and on the JSON port.

The module's server runs with a 1 MiB budget. Each test asks for a reply
that an unbounded server would make larger than that, so it fails if the
bound is gone: SCAN pages stop early and their cursors still cover every
key once, KEYS and MGET answer an error, a transaction's result past the
budget is an error while the rest of it (and its writes) stand, and the
JSON port's scan stops early with "more": true. Redis has no such limit.
"""

import pytest
import redis

from conftest import TARGET, ServerProcess, _finish

pytestmark = pytest.mark.lsmd_only("lsmd bounds replies by --max-reply-bytes; Redis does not")

BUDGET = 1 << 20
ERROR = "reply larger than max-reply-bytes (1048576 bytes of keys and values)"
BIG = b"v" * (256 << 10)  # four fit the budget, five do not


@pytest.fixture(scope="module")
def limited():
    s = ServerProcess(TARGET, name="reply_limits", extra_args=("--max-reply-bytes", str(BUDGET)))
    yield s
    _finish(s)


@pytest.fixture(scope="module")
def rl(limited):
    client = limited.redis()
    # 8 values of 256 KiB, and 3000 keys of 1 KiB (3 MiB of keys).
    client.mset({b"big:%d" % i: BIG for i in range(8)})
    for start in range(0, 3000, 500):
        client.mset({b"long:%05d:" % i + b"k" * 1010: b"x" for i in range(start, start + 500)})
    yield client
    client.close()


def test_config_get_reports_the_budget(rl):
    assert rl.config_get("lsmd-max-reply-bytes") == {"lsmd-max-reply-bytes": str(BUDGET)}


def test_mget_over_the_budget_is_an_error(rl):
    with pytest.raises(redis.ResponseError, match=r"reply larger than max-reply-bytes \(1048576"):
        rl.mget([b"big:%d" % i for i in range(5)])
    assert rl.mget([b"big:%d" % i for i in range(4)]) == [BIG] * 4
    # The connection goes on, and one value alone always fits.
    rl.set(b"huge", b"h" * (2 << 20))
    assert rl.mget([b"huge"]) == [b"h" * (2 << 20)]
    assert rl.get(b"huge") == b"h" * (2 << 20)


def test_pipelined_mgets_each_get_their_answer(rl):
    pipe = rl.pipeline(transaction=False)
    for n in (4, 5, 1, 8, 2):
        pipe.mget([b"big:%d" % i for i in range(n)])
    results = pipe.execute(raise_on_error=False)
    assert [len(r) if isinstance(r, list) else "error" for r in results] == [4, "error", 1, "error", 2]
    assert ERROR in str(results[1])


def test_keys_over_the_budget_is_an_error(rl):
    with pytest.raises(redis.ResponseError) as error:
        rl.keys("long:*")
    assert str(error.value).endswith(ERROR + ": use SCAN to page through the keys")
    assert len(rl.keys("long:000*")) == 100  # 100 KiB of keys: fits
    assert sorted(rl.keys("big:*")) == [b"big:%d" % i for i in range(8)]


def test_scan_pages_stop_at_the_budget_and_cover_every_key(rl):
    cursor, seen, pages = 0, [], 0
    while True:
        cursor, keys = rl.scan(cursor, match="long:*", count=10000)
        assert sum(len(key) for key in keys) <= BUDGET
        seen += keys
        pages += 1
        if cursor == 0:
            break
    assert pages >= 3  # 3 MiB of keys, at most 1 MiB a page
    assert len(seen) == 3000 and len(set(seen)) == 3000
    assert seen == sorted(seen)
    # redis-py's scan_iter follows the same cursors.
    assert sum(1 for _ in rl.scan_iter(match="long:*", count=10000)) == 3000


def test_exec_result_past_the_budget_is_an_error_and_the_rest_stands(rl):
    pipe = rl.pipeline(transaction=True)
    pipe.set(b"tx:before", b"yes")
    pipe.get(b"tx:before")  # 3 bytes of the budget
    for i in range(5):
        pipe.get(b"big:%d" % i)  # three more fit; then the budget is spent
    pipe.set(b"tx:after", b"1")
    results = pipe.execute(raise_on_error=False)
    assert results[:5] == [True, b"yes", BIG, BIG, BIG]
    for refused in results[5:7]:
        assert isinstance(refused, redis.ResponseError) and ERROR in str(refused)
    assert results[7] is True
    assert rl.get(b"tx:before") == b"yes" and rl.get(b"tx:after") == b"1"


def test_json_scan_stops_early_with_more_and_pages_through(rl, limited):
    with limited.json() as j:
        reply = j.request(type="scan", start="big:", end="big;", limit=10000)
        assert reply["type"] == "scan_ok"
        # Keys and values count: three entries of 5 + 256 KiB bytes fit, not four.
        assert [e[0] for e in reply["entries"]] == ["big:0", "big:1", "big:2"]
        assert reply["more"] is True
        keys = [e[0] for e in reply["entries"]]
        while reply["more"]:
            reply = j.request(type="scan", start=keys[-1] + "\u0000", end="big;", limit=10000)
            assert sum(len(k) + len(v) for k, v in reply["entries"]) <= BUDGET
            keys += [e[0] for e in reply["entries"]]
        assert keys == ["big:%d" % i for i in range(8)]
