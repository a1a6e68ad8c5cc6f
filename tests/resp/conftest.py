"""Fixtures for the RESP (Redis protocol) integration suite.

The suite starts a REAL server process and talks to it with Debian's real
clients (redis-cli, redis-benchmark, redis-py) and with raw sockets.

Environment:
  LSMD_TEST_TARGET  "lsmd" (default) or "redis". "redis" starts
                    /usr/bin/redis-server instead, to prove that every
                    Redis-compatible assertion is what Redis really does;
                    tests marked lsmd_only are then skipped with their reason.
  LSMD_BINARY       the lsmd binary (default build/test/server/lsmd; a
                    relative path is taken relative to the repository root).
  REDIS_SERVER      the redis-server binary (default /usr/bin/redis-server).
  REDIS_CLI         the redis-cli binary (default: redis-cli on PATH).

Each test module gets its own server with a fresh data directory (module
scope); `start_server` starts extra ones for tests that need an empty
database of their own.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

REPO_ROOT = Path(__file__).resolve().parents[2]
TARGET = os.environ.get("LSMD_TEST_TARGET", "lsmd").strip().lower()
if TARGET not in ("lsmd", "redis"):
    raise SystemExit(f"LSMD_TEST_TARGET must be 'lsmd' or 'redis', not {TARGET!r}")
IS_LSMD = TARGET == "lsmd"
IS_REDIS = TARGET == "redis"


def _lsmd_binary() -> Path:
    p = Path(os.environ.get("LSMD_BINARY") or "build/test/server/lsmd")
    return p if p.is_absolute() else REPO_ROOT / p


LSMD_BINARY = _lsmd_binary()
REDIS_SERVER = os.environ.get("REDIS_SERVER", "/usr/bin/redis-server")
REDIS_CLI = os.environ.get("REDIS_CLI") or shutil.which("redis-cli") or "/usr/bin/redis-cli"
REDIS_BENCHMARK = (os.environ.get("REDIS_BENCHMARK") or shutil.which("redis-benchmark")
                   or "/usr/bin/redis-benchmark")

STARTUP_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 15.0
SOCKET_TIMEOUT_S = 30.0


# --------------------------------------------------------------------------
# pytest hooks: target check, the lsmd_only marker
# --------------------------------------------------------------------------

def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "lsmd_only(reason): the test checks lsmd-specific behaviour; skipped "
        "against redis-server with the given reason")


def pytest_sessionstart(session):
    if IS_LSMD:
        if not (LSMD_BINARY.is_file() and os.access(LSMD_BINARY, os.X_OK)):
            pytest.exit(f"LSMD_BINARY {LSMD_BINARY} is not an executable file "
                        "(build lsmd first, or run with LSMD_TEST_TARGET=redis)",
                        returncode=2)
        helptext = subprocess.run([str(LSMD_BINARY), "--help"], capture_output=True,
                                  text=True, timeout=10).stdout
        if "--resp-listen" not in helptext:
            pytest.exit(f"{LSMD_BINARY} does not know --resp-listen yet (not in its --help): "
                        "the RESP listener is not built in. Run with "
                        "LSMD_TEST_TARGET=redis to check the suite against redis-server.",
                        returncode=2)
    else:
        if not os.access(REDIS_SERVER, os.X_OK):
            pytest.exit(f"REDIS_SERVER {REDIS_SERVER} is not executable", returncode=2)


def pytest_report_header(config):
    what = LSMD_BINARY if IS_LSMD else REDIS_SERVER
    return f"RESP suite target: {TARGET} ({what})"


def pytest_collection_modifyitems(config, items):
    if not IS_REDIS:
        return
    for item in items:
        m = item.get_closest_marker("lsmd_only")
        if m is not None:
            reason = m.args[0] if m.args else m.kwargs.get("reason", "lsmd-specific")
            item.add_marker(pytest.mark.skip(reason=f"lsmd-only: {reason}"))


# --------------------------------------------------------------------------
# Raw RESP2 connection
# --------------------------------------------------------------------------

class Status(str):
    """A RESP simple string (+OK)."""

    def __repr__(self):
        return f"Status({str.__repr__(self)})"


class Err(str):
    """A RESP error reply (-ERR ...)."""

    def __repr__(self):
        return f"Err({str.__repr__(self)})"


class ConnectionClosed(Exception):
    pass


def encode_command(*args) -> bytes:
    """Encodes one command as a RESP2 array of bulk strings."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode("utf-8")
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RawConn:
    """A plain TCP connection that speaks RESP2 byte for byte.

    Replies: Status for +, Err for -, int for :, bytes (or None) for $,
    list (or None) for *. Anything else is a test failure.
    """

    def __init__(self, host: str, port: int, timeout: float = SOCKET_TIMEOUT_S):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data: bytes):
        self.sock.sendall(data)

    def send_command(self, *args):
        self.send(encode_command(*args))

    def call(self, *args):
        """Sends one command and returns its reply."""
        self.send_command(*args)
        return self.read_reply()

    def _fill(self):
        try:
            d = self.sock.recv(65536)
        except ConnectionResetError:
            d = b""
        if not d:
            raise ConnectionClosed(f"connection closed; unread bytes: {bytes(self.buf)[:200]!r}")
        self.buf += d

    def _line(self) -> bytes:
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            self._fill()

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return Status(rest.decode("utf-8", "replace"))
        if kind == b"-":
            return Err(rest.decode("utf-8", "replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n == -1:
                return None
            assert n >= 0, f"bad bulk length in reply: {line!r}"
            data = self._exact(n + 2)
            assert data[-2:] == b"\r\n", f"bulk reply not terminated by CRLF: {data[-10:]!r}"
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            if n == -1:
                return None
            return [self.read_reply() for _ in range(n)]
        raise AssertionError(f"not a RESP2 reply line: {line!r}")

    def read_until_closed(self, timeout: float = 5.0) -> tuple[bytes, bool]:
        """Reads everything until the peer closes or `timeout` passes with no
        data. Returns (bytes received, closed?)."""
        data = bytes(self.buf)
        self.buf.clear()
        self.sock.settimeout(timeout)
        while True:
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                return data, False
            except ConnectionResetError:
                return data, True
            if not d:
                return data, True
            data += d

    def is_open(self, timeout: float = 5.0) -> bool:
        """True when a PING on this connection still gets +PONG."""
        try:
            return self.call("PING") == "PONG"
        except (ConnectionClosed, OSError):
            return False


# --------------------------------------------------------------------------
# JSON-lines client for lsmd's original port
# --------------------------------------------------------------------------

class JsonClient:
    """Newline-delimited JSON client for lsmd's JSON port (docs/PROTOCOL.md).

    Keys and values are Python str; a `get` of a value that is not valid
    UTF-8 returns {"base64": "..."} as lsmd sends it.
    """

    def __init__(self, host: str, port: int, timeout: float = SOCKET_TIMEOUT_S):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rb")
        self.next_id = 1

    def close(self):
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def request(self, **body) -> dict:
        msg_id = self.next_id
        self.next_id += 1
        body["msg_id"] = msg_id
        line = json.dumps(body, ensure_ascii=False).encode("utf-8") + b"\n"
        self.sock.sendall(line)
        reply_line = self.file.readline()
        assert reply_line.endswith(b"\n"), f"JSON port closed or sent a partial line: {reply_line!r}"
        reply = json.loads(reply_line)
        assert reply.get("in_reply_to") == msg_id, f"reply {reply!r} is not for msg_id {msg_id}"
        return reply

    def put(self, key: str, value: str):
        reply = self.request(type="put", key=key, value=value)
        assert reply["type"] == "put_ok", reply
        return reply

    def get(self, key: str):
        """Returns (found, value); value is a str or {"base64": ...}."""
        reply = self.request(type="get", key=key)
        assert reply["type"] == "get_ok", reply
        if reply["found"]:
            return True, reply["value"]
        assert "value" not in reply, reply
        return False, None

    def delete(self, key: str):
        reply = self.request(type="delete", key=key)
        assert reply["type"] == "delete_ok", reply
        return reply


def json_value_for(value: bytes):
    """What lsmd's JSON port sends for a stored value: a plain string when it
    is valid UTF-8, else {"base64": standard base64 with padding}."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(value).decode("ascii")}


# --------------------------------------------------------------------------
# Servers
# --------------------------------------------------------------------------

def free_port() -> int:
    """A TCP port that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """A running lsmd (RESP + JSON port) or redis-server (RESP only)."""

    host = "127.0.0.1"

    def __init__(self, target: str, sync: str = "none", name: str = "server",
                 extra_args=(), env: dict | None = None, listen_host: str = "127.0.0.1"):
        self.target = target
        self.sync = sync
        self.extra_args = [str(a) for a in extra_args]
        self.env = env  # added to the environment (lsmd only)
        self.listen_host = listen_host
        self.workdir = Path(tempfile.mkdtemp(prefix=f"lsmd-resp-{name}-"))
        self.stderr_path = self.workdir / "server.stderr"
        self.proc: subprocess.Popen | None = None
        self.resp_port: int | None = None
        self.json_port: int | None = None
        self.returncode: int | None = None
        if target == "lsmd":
            self._start_lsmd()
        else:
            self._start_redis()

    # ---- startup ------------------------------------------------------

    def stderr_text(self, tail: int = 6000) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")[-tail:]
        except OSError:
            return "(no stderr file)"

    def _fail_startup(self, why: str):
        text = self.stderr_text()
        self._kill()
        pytest.fail(f"{self.target} did not start: {why}\n--- server stderr ---\n{text}",
                    pytrace=False)

    def _start_lsmd(self):
        data_dir = self.workdir / "data"
        f1 = self.workdir / "json.port"
        f2 = self.workdir / "resp.port"
        cmd = [str(LSMD_BINARY),
               "--listen", f"{self.listen_host}:0", "--port-file", str(f1),
               "--resp-listen", f"{self.listen_host}:0", "--resp-port-file", str(f2),
               "--data-dir", str(data_dir), "--sync", self.sync, *self.extra_args]
        self.cmd = cmd
        env = None
        if self.env:
            env = dict(os.environ)
            env.update(self.env)
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         env=env)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        self.json_port = self._wait_port_file(f1, deadline)
        self.resp_port = self._wait_port_file(f2, deadline)

    def port_from_file(self, path) -> int:
        """The port in a port file the server was told to write (e.g.
        --tls-port-file in extra_args), waiting for it like the others."""
        return self._wait_port_file(Path(path), time.monotonic() + STARTUP_TIMEOUT_S)

    def _wait_port_file(self, path: Path, deadline: float) -> int:
        while True:
            if self.proc.poll() is not None:
                self._fail_startup(f"exited with status {self.proc.returncode} before writing {path.name}"
                                   f" (command: {' '.join(self.cmd)})")
            try:
                text = path.read_text()
            except FileNotFoundError:
                text = ""
            if text:
                # Written atomically: it is "<port>\n" or it is not there.
                m = re.fullmatch(r"(\d+)\n", text)
                if not m or not (0 < int(m.group(1)) < 65536):
                    self._fail_startup(f"{path.name} holds {text!r}, not '<port>\\n'")
                return int(m.group(1))
            if time.monotonic() > deadline:
                self._fail_startup(f"no {path.name} after {STARTUP_TIMEOUT_S:.0f} s")
            time.sleep(0.02)

    def _start_redis(self):
        # --databases 1: like lsmd, only db 0 exists, so SELECT 1 fails in
        # Redis too ("ERR DB index is out of range").
        for _attempt in range(5):
            port = free_port()
            self.cmd = [REDIS_SERVER, "--port", str(port), "--save", "", "--appendonly", "no",
                        "--bind", "127.0.0.1", "--databases", "1", "--dir", str(self.workdir),
                        "--daemonize", "no", *self.extra_args]
            with open(self.stderr_path, "ab") as err:
                self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err)
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break  # most likely the port was taken meanwhile: try another
                try:
                    with RawConn(self.host, port, timeout=1) as c:
                        # With --requirepass, PING answers NOAUTH: up all the same.
                        if c.call("PING") in ("PONG", "NOAUTH Authentication required."):
                            self.resp_port = port
                            return
                except (OSError, ConnectionClosed):
                    pass
                time.sleep(0.05)
            else:
                self._fail_startup(f"no PONG on port {port} after {STARTUP_TIMEOUT_S:.0f} s")
        self._fail_startup("redis-server exited at startup five times (ports taken?)")

    # ---- shutdown -----------------------------------------------------

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit status (killed on timeout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._kill()
                self.returncode = "timeout"
                return self.returncode
        self.returncode = self.proc.returncode
        return self.returncode

    def cleanup(self):
        self._kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    # ---- clients ------------------------------------------------------

    def redis(self, **kw) -> redis.Redis:
        kw.setdefault("socket_timeout", SOCKET_TIMEOUT_S)
        kw.setdefault("socket_connect_timeout", 10)
        return redis.Redis(host=self.host, port=self.resp_port, **kw)

    def raw(self, timeout: float = SOCKET_TIMEOUT_S) -> RawConn:
        return RawConn(self.host, self.resp_port, timeout=timeout)

    def json(self) -> JsonClient:
        assert self.json_port is not None, "redis-server has no JSON port"
        return JsonClient(self.host, self.json_port)

    def cli(self, *args, stdin: bytes | str | None = None, raw: bool = False,
            timeout: float = 60) -> str:
        """Runs `redis-cli -h HOST -p PORT [--no-raw|--raw] ARGS...` and
        returns its standard output (exit status 0 and empty stderr are
        required). --no-raw (the default here) prints types:
        (integer) 1, "str", (nil), (error) ERR ..."""
        proc = self.cli_proc(*args, stdin=stdin, raw=raw, timeout=timeout)
        assert proc.returncode == 0, (f"redis-cli {args!r} exited {proc.returncode}; "
                                      f"stdout={proc.stdout!r} stderr={proc.stderr!r}")
        assert proc.stderr == b"", f"redis-cli {args!r} wrote to stderr: {proc.stderr!r}"
        return proc.stdout.decode("utf-8", "replace")

    def cli_proc(self, *args, stdin=None, raw=False, timeout=60, extra=()):
        if isinstance(stdin, str):
            stdin = stdin.encode()
        cmd = [REDIS_CLI, "-h", self.host, "-p", str(self.resp_port),
               "--raw" if raw else "--no-raw", *extra, *[str(a) for a in args]]
        return subprocess.run(cmd, input=stdin if stdin is not None else b"",
                              capture_output=True, timeout=timeout)

    def __repr__(self):
        return f"<{self.target} resp={self.resp_port} json={self.json_port}>"


def _finish(server: ServerProcess):
    rc = server.stop()
    stderr = server.stderr_text()
    server.cleanup()
    if rc != 0:
        pytest.fail(f"{server.target} did not exit 0 on SIGTERM (status {rc})\n"
                    f"--- server stderr ---\n{stderr}", pytrace=False)


@pytest.fixture(scope="module")
def server(request):
    """One server per test module, with a fresh data directory. A module may
    set LSMD_SYNC = "always" (default "none")."""
    sync = getattr(request.module, "LSMD_SYNC", "none")
    name = request.module.__name__.rsplit(".", 1)[-1]
    s = ServerProcess(TARGET, sync=sync, name=name)
    yield s
    _finish(s)


@pytest.fixture
def start_server(request):
    """Factory: starts an extra fresh server for this test only."""
    started = []

    def start(sync: str = "none", **kw) -> ServerProcess:
        s = ServerProcess(TARGET, sync=sync,
                          name=re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)[:40], **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        _finish(s)


@pytest.fixture(scope="module")
def r(server) -> redis.Redis:
    """A redis-py client (bytes in, bytes out) on the module's server."""
    client = server.redis()
    yield client
    client.close()


@pytest.fixture
def raw(server):
    c = server.raw()
    yield c
    c.close()


@pytest.fixture
def k(request) -> str:
    """A key prefix unique to this test, so tests sharing a server do not see
    each other's keys."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)
    return f"t:{name}:"


def pairs_to_dict(reply) -> dict:
    """A flat [name, value, name, value, ...] reply as a dict with str names."""
    assert isinstance(reply, list) and len(reply) % 2 == 0, reply
    out = {}
    for name, value in zip(reply[::2], reply[1::2]):
        if isinstance(name, bytes):
            name = name.decode()
        out[str(name)] = value
    return out
