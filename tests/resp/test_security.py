"""Passwords and admin rights, on both ports (docs/SECURITY.md).

With a data password set, a connection must log in before anything but
PING, HELLO, AUTH, QUIT and RESET; with an admin password too, compact and a
flush-threshold change need that one. The Redis-compatible assertions (the
NOAUTH and WRONGPASS texts, AUTH and HELLO AUTH, redis-py and redis-cli with
a password) also run against redis-server --requirepass.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time

import pytest

from conftest import IS_LSMD, LSMD_BINARY, TARGET, ConnectionClosed, Err, ServerProcess, _finish

DATA_PASSWORD = "data-pw-7f3a"
ADMIN_PASSWORD = "admin-pw-91c2"
CANARY = "canary-wrong-pw-55d1"  # a wrong password that must never come back

NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    if IS_LSMD:
        d = tmp_path_factory.mktemp("passwords")
        (d / "data").write_text(DATA_PASSWORD + "\n")
        (d / "admin").write_text(ADMIN_PASSWORD + "\n")
        args = ["--password-file", d / "data", "--admin-password-file", d / "admin"]
    else:
        args = ["--requirepass", DATA_PASSWORD]
    s = ServerProcess(TARGET, name="security", extra_args=args)
    yield s
    _finish(s)


# Commands that read or write data, or describe the server: each needs a
# login. (redis-server answers these NOAUTH too.)
DATA_COMMANDS = [
    ("GET", "k"), ("SET", "k", "v"), ("MGET", "k", "j"), ("MSET", "k", "v"), ("DEL", "k"),
    ("EXISTS", "k"), ("INCR", "n"), ("APPEND", "k", "x"), ("STRLEN", "k"), ("GETDEL", "k"),
    ("SCAN", "0"), ("KEYS", "*"), ("DBSIZE",), ("INFO",), ("CONFIG", "GET", "*"),
    ("MULTI",), ("ECHO", "x"), ("CLIENT", "ID"), ("SELECT", "0"), ("COMMAND", "COUNT"),
]
LSMD_COMMANDS = [("STATS",), ("SSTABLE.FLUSH",), ("SSTABLE.LOOKUP", "L0_001.sst", "k"),
                 ("COMPACT",), ("SSTABLE.FLUSH", "4096")]


def test_every_data_command_needs_a_login(secured):
    commands = DATA_COMMANDS + (LSMD_COMMANDS if IS_LSMD else [])
    with secured.raw() as c:
        for command in commands:
            assert c.call(*command) == NOAUTH, command
        assert c.call("QUIT") == "OK"


def test_a_wrong_password_is_refused_and_grants_nothing(secured):
    with secured.raw() as c:
        reply = c.call("AUTH", CANARY)
        assert reply == WRONGPASS
        assert isinstance(reply, Err)
        assert c.call("AUTH", "default", CANARY) == WRONGPASS
        assert c.call("GET", "k") == NOAUTH


def test_auth_and_hello_auth_log_in(secured):
    with secured.raw() as c:
        assert c.call("AUTH", DATA_PASSWORD) == "OK"
        assert c.call("SET", "sec:a", "1") == "OK"
        assert c.call("GET", "sec:a") == b"1"
    with secured.raw() as c:
        assert c.call("AUTH", "default", DATA_PASSWORD) == "OK"
        assert c.call("GET", "sec:a") == b"1"
    with secured.raw() as c:
        hello = c.call("HELLO")
        assert isinstance(hello, Err) and hello.startswith("NOAUTH HELLO must be called"), hello
        assert c.call("HELLO", "2", "AUTH", "default", CANARY) == WRONGPASS
        hello = c.call("HELLO", "2", "AUTH", "default", DATA_PASSWORD)
        assert isinstance(hello, list), hello
        assert c.call("GET", "sec:a") == b"1"


def test_redis_clients_log_in_with_the_password(secured):
    r = secured.redis(password=DATA_PASSWORD)
    try:
        assert r.set("sec:py", "v")
        assert r.get("sec:py") == b"v"
    finally:
        r.close()
    out = secured.cli("--no-auth-warning", "-a", DATA_PASSWORD, "GET", "sec:py")
    assert out.strip() == '"v"'
    denied = secured.cli_proc("GET", "sec:py")
    assert b"NOAUTH" in denied.stdout + denied.stderr


def test_reset_logs_the_connection_out(secured):
    with secured.raw() as c:
        assert c.call("AUTH", DATA_PASSWORD) == "OK"
        assert c.call("RESET") == "RESET"
        assert c.call("GET", "k") == NOAUTH


# ---------------------------------------------------------------- lsmd only


def lsmd_only(f):
    return pytest.mark.lsmd_only("admin rights, the JSON port and lsmd's options")(f)


class Json:
    """A raw JSON-lines connection that tolerates errors and closes."""

    def __init__(self, server: ServerProcess):
        self.sock = socket.create_connection((server.host, server.json_port), timeout=30)
        self.file = self.sock.makefile("rb")
        self.next_id = 1

    def call(self, **body) -> dict:
        body["msg_id"] = self.next_id
        self.next_id += 1
        self.sock.sendall(json.dumps(body).encode() + b"\n")
        line = self.file.readline()
        if not line:
            raise ConnectionClosed("the JSON port closed the connection")
        return json.loads(line)

    def close(self):
        self.file.close()
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


JSON_DATA = [
    dict(type="get", key="k"), dict(type="put", key="j:k", value="v"),
    dict(type="delete", key="j:gone"), dict(type="scan"), dict(type="stats"),
    dict(type="sstable_flush"), dict(type="sstable_lookup", sstable="L0_999.sst", key="k"),
    dict(type="init", node_id="n1", node_ids=["n1"]),
]
JSON_ADMIN = [dict(type="compact"), dict(type="sstable_flush", memtable_size_bytes=1 << 20)]
RESP_ADMIN = [("COMPACT",), ("SSTABLE.FLUSH", "1048576")]


def json_outcome(reply: dict) -> str:
    if reply["type"] == "error":
        return {1001: "noauth", 1002: "wrongpass", 1003: "noperm"}.get(reply["code"], "other")
    return "ok"


def resp_outcome(reply) -> str:
    if isinstance(reply, Err):
        for prefix, outcome in (("NOAUTH", "noauth"), ("WRONGPASS", "wrongpass"),
                                ("NOPERM", "noperm")):
            if reply.startswith(prefix):
                return outcome
        return "other"
    return "ok"


@lsmd_only
@pytest.mark.parametrize("login", ["none", "wrong", "data", "admin"])
def test_every_command_on_both_ports_with_each_login(secured, login):
    """Only what the login allows succeeds; the rest is refused, on each port."""
    allowed_data = login in ("data", "admin")
    allowed_admin = login == "admin"
    with Json(secured) as j, secured.raw() as c:
        if login != "none":
            password = {"wrong": CANARY, "data": DATA_PASSWORD, "admin": ADMIN_PASSWORD}[login]
            user = "admin" if login == "admin" else None
            body = dict(type="auth", password=password)
            if user:
                body["user"] = user
            reply = j.call(**body)
            assert (reply["type"] == "auth_ok") == (login != "wrong"), reply
            reply = c.call("AUTH", *([user] if user else []), password)
            assert (reply == "OK") == (login != "wrong"), reply
        refused = "noauth" if not allowed_data else "noperm"
        for body in JSON_DATA:
            outcome = json_outcome(j.call(**dict(body)))
            if allowed_data:
                # A lookup of a missing table is answered (error 20), not refused.
                assert outcome in ("ok", "other"), (body, outcome)
            else:
                assert outcome == "noauth", (body, outcome)
        for body in JSON_ADMIN:
            outcome = json_outcome(j.call(**dict(body)))
            assert outcome == ("ok" if allowed_admin else refused), (body, outcome)
        for command in DATA_COMMANDS + LSMD_COMMANDS[:3]:
            reply = c.call(*command)
            outcome = resp_outcome(reply)
            if allowed_data:
                assert outcome in ("ok", "other"), (command, reply)
            else:
                assert outcome == "noauth", (command, reply)
            if command == ("MULTI",) and allowed_data:
                assert c.call("DISCARD") == "OK"
        for command in RESP_ADMIN:
            reply = c.call(*command)
            assert resp_outcome(reply) == ("ok" if allowed_admin else refused), (command, reply)


@lsmd_only
def test_the_data_password_alone_grants_admin_rights(start_server, tmp_path):
    (tmp_path / "pw").write_text(DATA_PASSWORD)  # no line end: fine too
    s = start_server(extra_args=["--password-file", tmp_path / "pw"])
    with Json(s) as j:
        assert j.call(type="auth", password=DATA_PASSWORD) == {
            "type": "auth_ok", "in_reply_to": 1, "msg_id": 0, "admin": True}
        assert j.call(type="compact")["type"] == "compact_ok"


@lsmd_only
def test_an_admin_password_alone_leaves_data_open(start_server, tmp_path):
    (tmp_path / "admin").write_text(ADMIN_PASSWORD + "\n")
    s = start_server(extra_args=["--admin-password-file", tmp_path / "admin"])
    with s.raw() as c:
        assert c.call("SET", "k", "v") == "OK"
        assert resp_outcome(c.call("COMPACT")) == "noperm"
        assert c.call("AUTH", "admin", ADMIN_PASSWORD) == "OK"
        assert isinstance(c.call("COMPACT"), list)


@lsmd_only
def test_passwords_never_leak(secured):
    with secured.raw() as c, Json(secured) as j:
        assert c.call("AUTH", CANARY) == WRONGPASS
        assert CANARY not in json.dumps(j.call(type="auth", password=CANARY))
        assert c.call("AUTH", ADMIN_PASSWORD) == "OK"
        info = c.call("INFO").decode()
        config = b" ".join(x for x in c.call("CONFIG", "GET", "*")).decode()
        stats = json.dumps(j.call(type="stats"))
    for text in (info, config, stats, secured.stderr_text(tail=10**6)):
        for secret in (DATA_PASSWORD, ADMIN_PASSWORD, CANARY):
            assert secret not in text
    assert "acl_access_denied_auth:" in info


@lsmd_only
def test_failed_logins_are_delayed_counted_and_end_the_connection(secured):
    with secured.raw() as c:
        before = int(c.call("AUTH", DATA_PASSWORD) == "OK")
        info = c.call("INFO", "stats").decode()
        counted = int(info.split("acl_access_denied_auth:")[1].split()[0])
    assert before == 1
    with secured.raw() as c:
        started = time.monotonic()
        for _ in range(3):
            assert c.call("AUTH", CANARY) == WRONGPASS
        # 100 ms, then 200, then 300 (docs/SECURITY.md).
        assert time.monotonic() - started >= 0.55
        for _ in range(6):
            assert c.call("AUTH", CANARY) == WRONGPASS
        last = c.call("AUTH", CANARY)  # the tenth
        assert last.startswith("WRONGPASS") and "closing" in last
        data, closed = c.read_until_closed(timeout=5)
        assert closed and data == b""
    with Json(secured) as j:
        assert j.call(type="auth", password=DATA_PASSWORD)["type"] == "auth_ok"
        assert j.call(type="stats")["auth_failures"] == counted + 10
    with Json(secured) as j:
        for _ in range(9):
            assert j.call(type="auth", password=CANARY)["code"] == 1002
        assert "closing" in j.call(type="auth", password=CANARY)["text"]
        with pytest.raises((ConnectionClosed, OSError)):
            j.call(type="get", key="k")
    with secured.raw() as c:
        assert c.call("AUTH", DATA_PASSWORD) == "OK"
        info = c.call("INFO", "stats").decode()
    assert int(info.split("acl_access_denied_auth:")[1].split()[0]) == counted + 20


@lsmd_only
def test_lsmd_password_variable_and_bad_password_options(start_server, tmp_path):
    s = start_server(env={"LSMD_PASSWORD": DATA_PASSWORD})
    with s.raw() as c:
        assert c.call("GET", "k") == NOAUTH
        assert c.call("AUTH", DATA_PASSWORD) == "OK"
    # The health check logs in with the same variable.
    check = subprocess.run([str(LSMD_BINARY), "--check", f"127.0.0.1:{s.json_port}"],
                           env={"LSMD_PASSWORD": DATA_PASSWORD}, capture_output=True, timeout=30)
    assert check.returncode == 0, check.stderr
    check = subprocess.run([str(LSMD_BINARY), "--check", f"127.0.0.1:{s.json_port}"],
                           env={}, capture_output=True, timeout=30)
    assert check.returncode == 1 and b"1001" in check.stderr

    (tmp_path / "empty").write_text("\n")
    (tmp_path / "two").write_text("a\nb\n")
    (tmp_path / "pw").write_text("x\n")
    for args, env, words in [
        (["--password-file", tmp_path / "missing"], {}, "cannot be read"),
        (["--password-file", tmp_path / "empty"], {}, "empty password"),
        (["--password-file", tmp_path / "two"], {}, "more than one line"),
        (["--password-file", tmp_path / "pw"], {"LSMD_PASSWORD": "y"}, "use one"),
        (["--protected-mode", "maybe"], {}, "--protected-mode"),
    ]:
        proc = subprocess.run([str(LSMD_BINARY), *map(str, args), "--data-dir",
                               str(tmp_path / "d")], env=env, capture_output=True, timeout=30)
        assert proc.returncode == 2, (args, proc.stderr)
        assert words in proc.stderr.decode(), (args, proc.stderr)
