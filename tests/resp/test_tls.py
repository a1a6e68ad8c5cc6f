"""TLS on lsmd's TLS ports (--tls-listen, --tls-resp-listen; docs/SECURITY.md).

A CA, a second (wrong) CA, server certificates (valid, and expired) and a
client certificate are made at test time with python3-cryptography, into a
temporary directory. Clients: redis-cli --tls, openssl s_client, Python's ssl
module, and lsmd --check --check-tls.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from conftest import LSMD_BINARY, REDIS_CLI

pytestmark = pytest.mark.lsmd_only("the suite's redis-server runs without TLS")

OPENSSL = "openssl"
HOST = "127.0.0.1"


# --------------------------------------------------------------------------
# Certificates
# --------------------------------------------------------------------------

def _key():
    return ec.generate_private_key(ec.SECP256R1())


def _write_pair(directory: Path, name: str, cert, key):
    (directory / f"{name}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / f"{name}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


def _ca(directory: Path, name: str):
    key = _key()
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"lsmd test {name}")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    _write_pair(directory, name, cert, key)
    return cert, key


def _leaf(directory: Path, name: str, ca, *, server: bool, expired: bool = False,
          dns_names=("localhost",), ips=(HOST,)):
    ca_cert, ca_key = ca
    key = _key()
    now = datetime.datetime.now(datetime.timezone.utc)
    if expired:
        begin, end = now - datetime.timedelta(days=10), now - datetime.timedelta(days=1)
    else:
        begin, end = now - datetime.timedelta(days=1), now + datetime.timedelta(days=30)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                           "localhost" if server else name)]))
               .issuer_name(ca_cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(begin).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage(
                   [ExtendedKeyUsageOID.SERVER_AUTH if server
                    else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(n) for n in dns_names] +
            [x509.IPAddress(ipaddress.ip_address(a)) for a in ips]), critical=False)
    _write_pair(directory, name, builder.sign(ca_key, hashes.SHA256()), key)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("tls-pki")
    ca = _ca(d, "ca")
    other = _ca(d, "other-ca")
    _leaf(d, "server", ca, server=True)
    _leaf(d, "expired", ca, server=True, expired=True)
    _leaf(d, "wrong-name", ca, server=True, dns_names=("elsewhere.invalid",), ips=())
    _leaf(d, "client", ca, server=False)
    _leaf(d, "other-client", other, server=False)
    # An openssl.cnf as permissive as a system's could be: TLS 1.0 and up,
    # security level 0. Under it, only lsmd's own minimum refuses TLS 1.1
    # (an empty file would leave level 1, which refuses TLS 1.1 by itself).
    (d / "permissive.cnf").write_text(
        "openssl_conf = openssl_init\n"
        "[openssl_init]\nssl_conf = ssl_sect\n"
        "[ssl_sect]\nsystem_default = system_default_sect\n"
        "[system_default_sect]\nMinProtocol = TLSv1\nCipherString = DEFAULT@SECLEVEL=0\n")
    (d / "empty.cnf").write_text("")
    return d


# --------------------------------------------------------------------------
# Servers and clients
# --------------------------------------------------------------------------

class TlsServer:
    def __init__(self, server, json_port: int, resp_port: int):
        self.server = server
        self.json_port = json_port
        self.resp_port = resp_port


def start_tls(start_server, pki: Path, tmp_path: Path, cert: str = "server", extra=(),
              env=None) -> TlsServer:
    ports = tmp_path / f"ports-{time.monotonic_ns()}"
    ports.mkdir()
    args = ["--tls-listen", f"{HOST}:0", "--tls-port-file", ports / "tls.port",
            "--tls-resp-listen", f"{HOST}:0", "--tls-resp-port-file", ports / "tls-resp.port",
            "--tls-cert-file", pki / f"{cert}.crt", "--tls-key-file", pki / f"{cert}.key",
            *extra]
    s = start_server(extra_args=args, env=env)
    return TlsServer(s, s.port_from_file(ports / "tls.port"),
                     s.port_from_file(ports / "tls-resp.port"))


@pytest.fixture(scope="module")
def tls(pki, tmp_path_factory):
    """One TLS server for the tests that do not need a special one."""
    from conftest import ServerProcess, TARGET, _finish
    tmp = tmp_path_factory.mktemp("tls-ports")
    started = []

    def start(**kw):
        s = ServerProcess(TARGET, name="test_tls", **kw)
        started.append(s)
        return s

    yield start_tls(start, pki, tmp)
    for s in started:
        _finish(s)


def redis_cli(port: int, *args, tls_args=(), timeout=20) -> subprocess.CompletedProcess:
    return subprocess.run([REDIS_CLI, "-h", HOST, "-p", str(port), "--tls", *map(str, tls_args),
                           *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def s_client(port: int, *args, send: bytes = b"", env=None,
             timeout=20) -> subprocess.CompletedProcess:
    """openssl s_client; -ign_eof: it reads on after its input ends, until
    the server closes (send a RESP QUIT) or the handshake fails."""
    full_env = None
    if env:
        full_env = dict(os.environ)
        full_env.update(env)
    return subprocess.run([OPENSSL, "s_client", "-connect", f"{HOST}:{port}", "-ign_eof",
                           *map(str, args)], input=send, capture_output=True, timeout=timeout,
                          env=full_env)


def output(proc) -> str:
    out, err = proc.stdout, proc.stderr
    if isinstance(out, bytes):
        out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    return out + err


def lsmd_check(port: int, *args) -> subprocess.CompletedProcess:
    return subprocess.run([str(LSMD_BINARY), "--check", f"{HOST}:{port}", *map(str, args)],
                          capture_output=True, text=True, timeout=20, stdin=subprocess.DEVNULL)


def json_over_tls(port: int, cafile: Path, lines: list[bytes], server_hostname="localhost"):
    context = ssl.create_default_context(cafile=str(cafile))
    with socket.create_connection((HOST, port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=server_hostname) as conn:
            conn.sendall(b"".join(lines))
            f = conn.makefile("rb")
            return [f.readline() for _ in lines]


# --------------------------------------------------------------------------
# Works with a good certificate
# --------------------------------------------------------------------------

def test_redis_cli_over_tls_ping_set_get(tls, pki, k):
    ca = ("--cacert", pki / "ca.crt")
    for args, expected in [(("PING",), "PONG"), (("SET", k + "a", "over-tls"), "OK"),
                           (("GET", k + "a"), "over-tls")]:
        proc = redis_cli(tls.resp_port, *args, tls_args=ca)
        assert proc.returncode == 0 and proc.stdout.strip() == expected, output(proc)
    # The same keys as the plaintext ports.
    with tls.server.json() as j:
        assert j.get(k + "a") == (True, "over-tls")


def test_s_client_resp_over_tls(tls, pki):
    proc = s_client(tls.resp_port, "-CAfile", pki / "ca.crt", "-verify_return_error",
                    send=b"PING\r\nQUIT\r\n")
    text = output(proc)
    assert proc.returncode == 0, text
    assert "Verify return code: 0 (ok)" in text, text
    assert "+PONG\r\n+OK\r\n" in text, text


def test_json_line_over_tls(tls, pki, k):
    replies = json_over_tls(tls.json_port, pki / "ca.crt", [
        b'{"type":"put","key":"%s","value":"v1","msg_id":1}\n' % (k + "j").encode(),
        b'{"type":"get","key":"%s","msg_id":2}\n' % (k + "j").encode()])
    assert b'"put_ok"' in replies[0], replies
    assert b'"get_ok"' in replies[1] and b'"value": "v1"' in replies[1], replies


def test_check_tls_succeeds(tls, pki):
    proc = lsmd_check(tls.json_port, "--check-tls", "--tls-ca-cert-file", pki / "ca.crt")
    assert proc.returncode == 0, output(proc)
    assert "healthy" in proc.stdout


def test_plain_ports_stay_plaintext(tls):
    with tls.server.raw() as c:
        assert c.call("PING") == "PONG"
    proc = lsmd_check(tls.server.json_port)
    assert proc.returncode == 0, output(proc)


# --------------------------------------------------------------------------
# Refused
# --------------------------------------------------------------------------

def test_wrong_ca_is_refused_by_the_client(tls, pki):
    proc = redis_cli(tls.resp_port, "PING", tls_args=("--cacert", pki / "other-ca.crt"))
    assert "PONG" not in proc.stdout, output(proc)
    assert "certificate verify failed" in output(proc), output(proc)
    proc = s_client(tls.resp_port, "-CAfile", pki / "other-ca.crt", "-verify_return_error",
                    send=b"PING\r\nQUIT\r\n")
    assert proc.returncode != 0 and b"+PONG" not in proc.stdout, output(proc)
    assert "unable to get local issuer certificate" in output(proc), output(proc)
    with pytest.raises(ssl.SSLCertVerificationError):
        json_over_tls(tls.json_port, pki / "other-ca.crt", [b'{"type":"stats"}\n'])


def test_check_tls_fails_with_wrong_ca(tls, pki):
    proc = lsmd_check(tls.json_port, "--check-tls", "--tls-ca-cert-file", pki / "other-ca.crt")
    assert proc.returncode == 1, output(proc)
    assert "certificate verify failed" in proc.stderr, output(proc)


def test_check_tls_verifies_the_host_name(start_server, pki, tmp_path):
    # Signed by the right CA, but for another name than 127.0.0.1.
    t = start_tls(start_server, pki, tmp_path, cert="wrong-name")
    proc = lsmd_check(t.json_port, "--check-tls", "--tls-ca-cert-file", pki / "ca.crt")
    assert proc.returncode == 1, output(proc)
    assert "certificate verify failed" in proc.stderr, output(proc)
    proc = s_client(t.resp_port, "-CAfile", pki / "ca.crt", "-verify_return_error",
                    send=b"PING\r\nQUIT\r\n")
    assert proc.returncode == 0 and b"+PONG" in proc.stdout, output(proc)  # the chain is good


def test_expired_server_certificate_is_refused(start_server, pki, tmp_path):
    t = start_tls(start_server, pki, tmp_path, cert="expired")
    proc = redis_cli(t.resp_port, "PING", tls_args=("--cacert", pki / "ca.crt"))
    assert "PONG" not in proc.stdout, output(proc)
    assert "certificate verify failed" in output(proc), output(proc)
    proc = s_client(t.resp_port, "-CAfile", pki / "ca.crt", "-verify_return_error",
                    send=b"PING\r\nQUIT\r\n")
    assert proc.returncode != 0 and b"+PONG" not in proc.stdout, output(proc)
    assert "certificate has expired" in output(proc), output(proc)
    assert "has expired" in t.server.stderr_text()  # lsmd warned at start


@pytest.mark.parametrize("port_kind,request_bytes,answer", [
    ("resp", b"PING\r\n", b"PONG"),
    ("json", b'{"type":"stats","msg_id":1}\n', b"stats_ok"),
])
def test_plaintext_client_on_tls_port_is_closed(tls, port_kind, request_bytes, answer):
    port = tls.resp_port if port_kind == "resp" else tls.json_port
    with socket.create_connection((HOST, port), timeout=10) as c:
        c.sendall(request_bytes)
        c.settimeout(5)
        data, closed = b"", False
        while True:
            try:
                d = c.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
            except socket.timeout:
                break
            if not d:
                closed = True
                break
            data += d
    assert closed, "the TLS port kept a plaintext client open"
    assert answer not in data, data


def test_tls_1_1_is_refused_by_lsmd(start_server, pki, tmp_path):
    permissive = {"OPENSSL_CONF": str(pki / "permissive.cnf")}
    t = start_tls(start_server, pki, tmp_path, env=permissive)
    old = s_client(t.resp_port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile",
                   pki / "ca.crt", send=b"PING\r\nQUIT\r\n", env=permissive)
    assert old.returncode != 0 and b"+PONG" not in old.stdout, output(old)
    # The server's answer, not the client's own refusal: a protocol_version
    # alert.
    assert "alert protocol version" in output(old), output(old)
    # The same client, server and configuration speak TLS 1.2.
    new = s_client(t.resp_port, "-tls1_2", "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile",
                   pki / "ca.crt", "-verify_return_error", send=b"PING\r\nQUIT\r\n",
                   env=permissive)
    assert new.returncode == 0 and b"+PONG" in new.stdout, output(new)


def test_tls_1_1_is_refused_with_an_empty_openssl_conf(start_server, pki, tmp_path):
    empty = {"OPENSSL_CONF": str(pki / "empty.cnf")}
    t = start_tls(start_server, pki, tmp_path, env=empty)
    old = s_client(t.resp_port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0", "-CAfile",
                   pki / "ca.crt", send=b"PING\r\nQUIT\r\n", env=empty)
    assert old.returncode != 0 and b"+PONG" not in old.stdout, output(old)


def test_missing_client_certificate_is_refused_when_required(start_server, pki, tmp_path):
    t = start_tls(start_server, pki, tmp_path,
                  extra=("--tls-ca-cert-file", pki / "ca.crt", "--tls-auth-clients", "yes"))
    ca = ("--cacert", pki / "ca.crt")
    proc = redis_cli(t.resp_port, "PING", tls_args=ca)
    assert "PONG" not in proc.stdout, output(proc)
    proc = s_client(t.resp_port, "-CAfile", pki / "ca.crt", send=b"PING\r\nQUIT\r\n")
    assert b"+PONG" not in proc.stdout, output(proc)
    assert "certificate required" in output(proc), output(proc)
    # A certificate from another CA is refused too.
    proc = redis_cli(t.resp_port, "PING", tls_args=(
        *ca, "--cert", pki / "other-client.crt", "--key", pki / "other-client.key"))
    assert "PONG" not in proc.stdout, output(proc)
    # With the CA's client certificate: served, on both TLS ports.
    proc = redis_cli(t.resp_port, "PING", tls_args=(
        *ca, "--cert", pki / "client.crt", "--key", pki / "client.key"))
    assert proc.returncode == 0 and proc.stdout.strip() == "PONG", output(proc)
    check = ("--check-tls", "--tls-ca-cert-file", pki / "ca.crt")
    proc = lsmd_check(t.json_port, *check)
    assert proc.returncode == 1, output(proc)
    proc = lsmd_check(t.json_port, *check, "--tls-cert-file", pki / "client.crt",
                      "--tls-key-file", pki / "client.key")
    assert proc.returncode == 0, output(proc)


def test_optional_client_certificate(start_server, pki, tmp_path):
    t = start_tls(start_server, pki, tmp_path,
                  extra=("--tls-ca-cert-file", pki / "ca.crt", "--tls-auth-clients", "optional"))
    ca = ("--cacert", pki / "ca.crt")
    proc = redis_cli(t.resp_port, "PING", tls_args=ca)
    assert proc.returncode == 0 and proc.stdout.strip() == "PONG", output(proc)
    proc = redis_cli(t.resp_port, "PING", tls_args=(
        *ca, "--cert", pki / "other-client.crt", "--key", pki / "other-client.key"))
    assert "PONG" not in proc.stdout, output(proc)


def test_stalled_handshake_is_closed(start_server, pki, tmp_path):
    t = start_tls(start_server, pki, tmp_path, extra=("--tls-handshake-timeout", "1"))
    for port in (t.resp_port, t.json_port):
        with socket.create_connection((HOST, port), timeout=10) as c:
            began = time.monotonic()
            c.settimeout(8)
            try:
                data = c.recv(1024)
            except ConnectionResetError:
                data = b""
            elapsed = time.monotonic() - began
        assert data == b"", data
        assert 0.8 <= elapsed < 4, f"closed after {elapsed:.2f} s, not about 1 s"
    assert "--tls-handshake-timeout" in t.server.stderr_text()
    proc = redis_cli(t.resp_port, "PING", tls_args=("--cacert", pki / "ca.crt"))
    assert proc.returncode == 0 and proc.stdout.strip() == "PONG", output(proc)


# --------------------------------------------------------------------------
# Start errors
# --------------------------------------------------------------------------

@pytest.mark.parametrize("args,names", [
    (["--tls-listen", f"{HOST}:0"], "--tls-cert-file"),
    (["--tls-resp-listen", f"{HOST}:0", "--tls-cert-file", "{pki}/server.crt"],
     "--tls-key-file"),
    (["--tls-listen", f"{HOST}:0", "--tls-cert-file", "{pki}/missing.crt",
      "--tls-key-file", "{pki}/server.key"], "--tls-cert-file"),
    (["--tls-listen", f"{HOST}:0", "--tls-cert-file", "{pki}/server.crt",
      "--tls-key-file", "{pki}/client.key"], "--tls-key-file"),
    (["--tls-listen", f"{HOST}:0", "--tls-cert-file", "{pki}/server.crt",
      "--tls-key-file", "{pki}/server.key", "--tls-ca-cert-file", "{pki}/server.key"],
     "--tls-ca-cert-file"),
    (["--tls-listen", f"{HOST}:0", "--tls-cert-file", "{pki}/server.crt",
      "--tls-key-file", "{pki}/server.key", "--tls-auth-clients", "yes"], "--tls-auth-clients"),
    (["--tls-listen", f"{HOST}:0", "--tls-cert-file", "{pki}/server.crt",
      "--tls-key-file", "{pki}/server.key", "--tls-auth-clients", "maybe"],
     "--tls-auth-clients"),
    (["--tls-listen", f"{HOST}:0", "--tls-cert-file", "{pki}/server.crt",
      "--tls-key-file", "{pki}/server.key", "--tls-handshake-timeout", "0"],
     "--tls-handshake-timeout"),
    (["--tls-cert-file", "{pki}/server.crt", "--tls-key-file", "{pki}/server.key"],
     "--tls-cert-file"),
    (["--tls-port-file", "x"], "--tls-port-file"),
])
def test_bad_tls_settings_stop_the_start(pki, tmp_path, args, names):
    args = [a.format(pki=pki) for a in args]
    proc = subprocess.run([str(LSMD_BINARY), "--listen", f"{HOST}:0", "--data-dir",
                           str(tmp_path / "data"), *args], capture_output=True, text=True,
                          timeout=20, stdin=subprocess.DEVNULL)
    assert proc.returncode == 2, output(proc)
    assert names in proc.stderr, proc.stderr
