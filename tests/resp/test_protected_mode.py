"""Protected mode seen from a peer that is not on loopback (docs/SECURITY.md).

A network namespace joined to this one by a veth pair, with addresses of our
own (10.231.N.1 here, 10.231.N.2 there, a /30 reachable only between the
two), plays the remote client: lsmd listens on 0.0.0.0, and the client in
the namespace connects to 10.231.N.1. Needs root and `ip netns` (iproute2);
skipped with the reason where they are missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ServerProcess, TARGET, _finish
from test_tls import pki  # noqa: F401 (the certificates fixture)

pytestmark = pytest.mark.lsmd_only("protected mode and the JSON port are lsmd's")

IP = shutil.which("ip") or "/usr/sbin/ip"


def run(*args, check=True):
    return subprocess.run(args, capture_output=True, text=True, timeout=30, check=check)


@pytest.fixture(scope="module")
def netns():
    if os.geteuid() != 0:
        pytest.skip("protected mode test: needs root to create a network namespace")
    if not os.access(IP, os.X_OK):
        pytest.skip("protected mode test: no `ip` (install iproute2)")
    n = os.getpid() % 200 + 20
    name, here, there = f"lsmd-pm-{os.getpid()}", f"lsmdpm{n}a", f"lsmdpm{n}b"
    host, peer = f"10.231.{n}.1", f"10.231.{n}.2"
    made = run(IP, "netns", "add", name, check=False)
    if made.returncode != 0:
        pytest.skip(f"protected mode test: `ip netns add` failed: {made.stderr.strip()}")
    try:
        run(IP, "link", "add", here, "type", "veth", "peer", "name", there)
        run(IP, "link", "set", there, "netns", name)
        run(IP, "addr", "add", f"{host}/30", "dev", here)
        run(IP, "link", "set", here, "up")
        run(IP, "netns", "exec", name, IP, "addr", "add", f"{peer}/30", "dev", there)
        run(IP, "netns", "exec", name, IP, "link", "set", there, "up")
        yield name, host
    finally:
        run(IP, "link", "del", here, check=False)
        run(IP, "netns", "del", name, check=False)


# Runs in the namespace: sends `request` to HOST:PORT and prints what came
# back before the server closed (or 3 s of silence), as JSON.
CLIENT = r"""
import json, socket, sys
host, port, request = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
s = socket.create_connection((host, port), timeout=10)
s.sendall(request)
s.settimeout(3)
data, closed = b"", False
while True:
    try:
        d = s.recv(65536)
    except socket.timeout:
        break
    except ConnectionResetError:
        closed = True
        break
    if not d:
        closed = True
        break
    data += d
print(json.dumps({"data": data.decode("utf-8", "replace"), "closed": closed}))
"""


# The same over TLS, verifying the server against the CA in argv[4] (not its
# name: the test certificate names 127.0.0.1, not the namespace's address).
TLS_CLIENT = CLIENT.replace(
    "s = socket.create_connection((host, port), timeout=10)",
    "import ssl\n"
    "context = ssl.create_default_context(cafile=sys.argv[4])\n"
    "context.check_hostname = False\n"
    "s = context.wrap_socket(socket.create_connection((host, port), timeout=10))")
assert TLS_CLIENT != CLIENT


def remote_tls(netns, port: int, ca, request: str) -> dict:
    name, host = netns
    proc = run(IP, "netns", "exec", name, sys.executable, "-c", TLS_CLIENT, host, str(port),
               request, str(ca))
    return json.loads(proc.stdout)


def remote(netns, port: int, request: str) -> dict:
    name, host = netns
    proc = run(IP, "netns", "exec", name, sys.executable, "-c", CLIENT, host, str(port), request)
    return json.loads(proc.stdout)


@pytest.fixture
def server_on_all_addresses(request):
    started = []

    def start(*extra_args, env=None):
        s = ServerProcess(TARGET, name=f"protected_{len(started)}", extra_args=extra_args,
                          env=env, listen_host="0.0.0.0")
        started.append(s)
        return s

    yield start
    for s in started:
        _finish(s)


def test_without_a_password_remote_clients_are_denied_and_loopback_served(
        netns, server_on_all_addresses):
    s = server_on_all_addresses()
    got = remote(netns, s.resp_port, "PING\r\n")
    assert got["closed"], got
    assert got["data"].startswith("-DENIED lsmd is running in protected mode"), got
    assert "--protected-mode no" in got["data"] and "LSMD_PASSWORD" in got["data"]
    assert got["data"].count("\r\n") == 1  # one error line, nothing more
    got = remote(netns, s.json_port, '{"type":"get","key":"k"}\n')
    assert got["closed"], got
    reply = json.loads(got["data"])
    assert reply["type"] == "error" and reply["code"] == 1004, reply
    assert "protected mode" in reply["text"]
    # Loopback clients are served as ever.
    with s.raw() as c:
        assert c.call("SET", "k", "v") == "OK"
    with s.json() as j:
        assert j.get("k") == (True, "v")
    assert "denied, protected mode" in s.stderr_text()


def test_protected_mode_no_serves_remote_clients(netns, server_on_all_addresses):
    s = server_on_all_addresses("--protected-mode", "no")
    got = remote(netns, s.resp_port, "PING\r\nQUIT\r\n")
    assert got["data"] == "+PONG\r\n+OK\r\n", got
    got = remote(netns, s.json_port, '{"type":"put","key":"k","value":"v"}\n')
    assert json.loads(got["data"])["type"] == "put_ok", got


def test_with_a_password_remote_clients_must_log_in(netns, server_on_all_addresses):
    s = server_on_all_addresses(env={"LSMD_PASSWORD": "pm-secret"})
    got = remote(netns, s.resp_port, "GET k\r\nAUTH pm-secret\r\nSET k v\r\nGET k\r\n")
    assert got["data"] == "-NOAUTH Authentication required.\r\n+OK\r\n+OK\r\n$1\r\nv\r\n", got
    assert not got["closed"]


def test_protected_mode_holds_on_the_tls_ports(netns, server_on_all_addresses, pki, tmp_path):
    s = server_on_all_addresses(
        "--tls-resp-listen", "0.0.0.0:0", "--tls-resp-port-file", tmp_path / "tls-resp.port",
        "--tls-cert-file", pki / "server.crt", "--tls-key-file", pki / "server.key")
    port = s.port_from_file(tmp_path / "tls-resp.port")
    got = remote_tls(netns, port, pki / "ca.crt", "PING\r\n")
    assert got["closed"], got
    assert got["data"].startswith("-DENIED lsmd is running in protected mode"), got
