"""redis-cli one-shot commands (`redis-cli -p PORT CMD ARGS...`), one per
command, checking what redis-cli prints. `--no-raw` output shows reply types:
OK / "str" / (integer) n / (nil) / (error) ... / 1) ... for arrays."""

import re

import pytest

from conftest import IS_LSMD


def lines(text):
    return text.splitlines()


def array_items(text):
    """Top-level items of a --no-raw array printout ('1) "a"' ...)."""
    return [m.group(2) for m in re.finditer(r"^\s*(\d+)\) (.*)$", text, re.M)]


# ---- connection ---------------------------------------------------------------

def test_cli_ping(server):
    assert server.cli("PING") == "PONG\n"


def test_cli_ping_with_message(server):
    assert server.cli("PING", "hello world") == '"hello world"\n'


def test_cli_echo(server):
    assert server.cli("ECHO", "a b c") == '"a b c"\n'


def test_cli_quit(server):
    assert server.cli("QUIT") == "OK\n"


def test_cli_select(server):
    assert server.cli("SELECT", "0") == "OK\n"
    assert server.cli("SELECT", "1") == "(error) ERR DB index is out of range\n"


@pytest.mark.parametrize("args", [("HELLO",), ("HELLO", "2")], ids=["HELLO", "HELLO_2"])
def test_cli_hello(server, args):
    items = array_items(server.cli(*args))
    assert len(items) == 14, items
    assert items[0::2] == ['"server"', '"version"', '"proto"', '"id"', '"mode"', '"role"', '"modules"']
    assert items[5] == "(integer) 2"


@pytest.mark.lsmd_only("Redis 7 supports RESP3")
def test_cli_hello_3_is_noproto(server):
    assert server.cli("HELLO", "3").startswith("(error) NOPROTO")


def test_cli_client_setname_getname_id_in_one_session(server):
    out = server.cli(stdin="CLIENT GETNAME\nCLIENT SETNAME cli-test\nCLIENT GETNAME\nCLIENT ID\n")
    got = lines(out)
    assert got[:3] == ["(nil)", "OK", '"cli-test"'], got
    assert re.fullmatch(r"\(integer\) \d+", got[3]), got


def test_cli_client_id(server):
    assert re.fullmatch(r"\(integer\) \d+\n", server.cli("CLIENT", "ID"))


def test_cli_reset(server):
    assert server.cli("RESET") == "RESET\n"


# ---- strings ------------------------------------------------------------------

def test_cli_set_get(server, k):
    assert server.cli("GET", k) == "(nil)\n"
    assert server.cli("SET", k, "v 1") == "OK\n"
    assert server.cli("GET", k) == '"v 1"\n'


def test_cli_set_nx_xx_get(server, k):
    assert server.cli("SET", k, "a", "XX") == "(nil)\n"
    assert server.cli("SET", k, "a", "NX") == "OK\n"
    assert server.cli("SET", k, "b", "NX") == "(nil)\n"
    assert server.cli("SET", k, "c", "XX", "GET") == '"a"\n'
    assert server.cli("SET", k, "d", "GET") == '"c"\n'
    assert server.cli("GET", k) == '"d"\n'
    assert server.cli("SET", k, "e", "NX", "XX") == "(error) ERR syntax error\n"


@pytest.mark.lsmd_only("Redis supports expiring keys")
def test_cli_set_ex_is_refused(server, k):
    out = server.cli("SET", k, "v", "EX", "100")
    assert out.startswith("(error) ERR") and "expir" in out.lower(), out
    assert server.cli("GET", k) == "(nil)\n"


def test_cli_setnx(server, k):
    assert server.cli("SETNX", k, "1") == "(integer) 1\n"
    assert server.cli("SETNX", k, "2") == "(integer) 0\n"


def test_cli_getdel(server, k):
    server.cli("SET", k, "x")
    assert server.cli("GETDEL", k) == '"x"\n'
    assert server.cli("GETDEL", k) == "(nil)\n"


def test_cli_mset_mget(server, k):
    assert server.cli("MSET", k + "1", "one", k + "2", "two") == "OK\n"
    assert server.cli("MGET", k + "1", k + "nope", k + "2") == '1) "one"\n2) (nil)\n3) "two"\n'


def test_cli_del_unlink_exists(server, k):
    server.cli("MSET", k + "a", "1", k + "b", "2", k + "c", "3")
    assert server.cli("EXISTS", k + "a", k + "a", k + "zz") == "(integer) 2\n"
    assert server.cli("DEL", k + "a", k + "b", k + "zz") == "(integer) 2\n"
    assert server.cli("UNLINK", k + "b", k + "c") == "(integer) 1\n"
    assert server.cli("EXISTS", k + "a", k + "b", k + "c") == "(integer) 0\n"


def test_cli_strlen(server, k):
    server.cli("SET", k, "12345")
    assert server.cli("STRLEN", k) == "(integer) 5\n"
    assert server.cli("STRLEN", k + "missing") == "(integer) 0\n"


def test_cli_binary_value_via_stdin_argument(server, k):
    blob = b"a\x00b\r\n\xff"
    # -x: the last argument is read from standard input, bytes as they are.
    assert server.cli("-x", "SET", k, stdin=blob) == "OK\n"
    assert server.cli("GET", k) == '"a\\x00b\\r\\n\\xff"\n'
    proc = server.cli_proc("GET", k, raw=True)
    assert proc.returncode == 0 and proc.stdout == blob + b"\n"


def test_cli_wrong_arity(server):
    assert server.cli("GET") == "(error) ERR wrong number of arguments for 'get' command\n"
    assert server.cli("SET", "x") == "(error) ERR wrong number of arguments for 'set' command\n"


def test_cli_unknown_command(server):
    assert server.cli("FOO", "bar") == "(error) ERR unknown command 'FOO', with args beginning with: 'bar' \n"


def test_cli_errors_do_not_end_a_session(server, k):
    out = server.cli(stdin=f"GET\nNOSUCH\nSELECT 1\nSET {k} ok\nGET {k}\n")
    got = lines(out)
    assert [g.split(" ")[0] for g in got[:3]] == ["(error)"] * 3, got
    assert got[3:] == ["OK", '"ok"'], got


@pytest.mark.lsmd_only("Redis allows the empty key")
def test_cli_empty_key_is_refused(server):
    assert server.cli("SET", "", "v").startswith("(error) ERR")


# ---- keyspace -------------------------------------------------------------------

def test_cli_scan_keys_dbsize(server, r, k):
    keys = [f"{k}{c}" for c in "dbca"]
    server.cli("MSET", *[x for key in keys for x in (key, "v")])
    expected = sorted(keys)
    # SCAN, paging by hand
    found, cursor = [], "0"
    while True:
        out = server.cli("SCAN", cursor, "MATCH", k + "*", "COUNT", "2", raw=True)
        cursor, *page = lines(out)
        found += [x for x in page if x]  # an empty page prints an empty line
        if cursor == "0":
            break
    assert (found if IS_LSMD else sorted(found)) == expected
    # redis-cli's own --scan mode
    out = server.cli("--scan", "--pattern", k + "*", raw=True)
    assert (lines(out) if IS_LSMD else sorted(lines(out))) == expected
    # KEYS
    out = server.cli("KEYS", k + "*", raw=True)
    assert (lines(out) if IS_LSMD else sorted(lines(out))) == expected
    assert server.cli("KEYS", k + "nothing*") == "(empty array)\n"
    # DBSIZE: exactly what the server holds now
    assert server.cli("DBSIZE") == f"(integer) {r.dbsize()}\n"


@pytest.mark.lsmd_only("Redis accepts any integer cursor")
def test_cli_scan_stale_cursor(server):
    assert server.cli("SCAN", "12345678").startswith("(error) ERR invalid cursor")


def test_cli_scan_invalid_cursor(server):
    assert server.cli("SCAN", "abc") == "(error) ERR invalid cursor\n"


# ---- transactions ---------------------------------------------------------------

def test_cli_multi_exec(server, k):
    out = server.cli(stdin=f"MULTI\nSET {k} 1\nGET {k}\nEXEC\n")
    assert out == 'OK\nQUEUED\nQUEUED\n1) OK\n2) "1"\n'


def test_cli_multi_discard(server, k):
    out = server.cli(stdin=f"MULTI\nSET {k} 1\nDISCARD\nGET {k}\nEXEC\n")
    assert out == "OK\nQUEUED\nOK\n(nil)\n(error) ERR EXEC without MULTI\n"


def test_cli_multi_execabort(server, k):
    out = server.cli(stdin=f"MULTI\nSET {k}\nSET {k} 1\nEXEC\nGET {k}\n")
    assert out == ("OK\n(error) ERR wrong number of arguments for 'set' command\nQUEUED\n"
                   "(error) EXECABORT Transaction discarded because of previous errors.\n(nil)\n")


@pytest.mark.lsmd_only("Redis supports WATCH")
def test_cli_watch_is_refused(server, k):
    assert server.cli("WATCH", k).startswith("(error) ERR")


def test_cli_nested_multi(server):
    out = server.cli(stdin="MULTI\nMULTI\nEXEC\n")
    assert out == "OK\n(error) ERR MULTI calls can not be nested\n(empty array)\n"


# ---- server ------------------------------------------------------------------------

def test_cli_info(server, k):
    server.cli("SET", k, "v")
    out = server.cli("INFO", raw=True)
    for header in ("# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Keyspace"):
        assert header + "\r" in out.split("\n"), header
    for field in ("redis_version:", "connected_clients:", "used_memory:", "db0:keys="):
        assert re.search("^" + re.escape(field), out, re.M), field


def test_cli_info_section(server):
    out = server.cli("INFO", "server", raw=True)
    assert out.startswith("# Server\r\n") and "\nredis_version:" in out
    assert "# Clients" not in out


def test_cli_config_get(server):
    out = server.cli("CONFIG", "GET", "save")
    assert re.fullmatch(r'1\) "save"\n2\) ".*"\n', out), out
    out = server.cli("CONFIG", "GET", "appendonly")
    assert re.fullmatch(r'1\) "appendonly"\n2\) "(yes|no)"\n', out), out
    assert server.cli("CONFIG", "GET", "no-such-parameter") == "(empty array)\n"


def test_cli_command_count(server):
    m = re.fullmatch(r"\(integer\) (\d+)\n", server.cli("COMMAND", "COUNT"))
    assert m and int(m.group(1)) > 20


def test_cli_command_docs(server):
    out = server.cli("COMMAND", "DOCS")
    assert not out.startswith("(error)"), out[:200]


def test_cli_time(server):
    out = server.cli("TIME")
    assert re.fullmatch(r'1\) "\d+"\n2\) "\d+"\n', out), out


# ---- lsmd-only ------------------------------------------------------------------------

@pytest.mark.lsmd_only("the SSTABLE.* commands, COMPACT and STATS are lsmd's own")
def test_cli_sstable_flush_lookup_compact_stats(start_server):
    s = start_server()
    s.cli("SET", "user:42", "Alice")
    out = s.cli("SSTABLE.FLUSH")
    items = array_items(out)
    fields = dict(zip(items[0::2], items[1::2]))
    assert '"sstable_file"' in fields and '"entries"' in fields, out
    assert fields['"entries"'] == "(integer) 1", out
    table = fields['"sstable_file"'].strip('"')
    out = s.cli("SSTABLE.LOOKUP", table, "user:42")
    items = array_items(out)
    for name in ('"found"', '"value"', '"bloom_checked"', '"disk_reads"'):
        assert name in items[0::2], out
    assert '"Alice"' in items, out
    out = s.cli("COMPACT")
    assert not out.startswith("(error)"), out
    out = s.cli("STATS")
    items = array_items(out)
    assert '"flushes"' in items[0::2], out
