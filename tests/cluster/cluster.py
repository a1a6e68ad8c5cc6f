#!/usr/bin/python3
"""A sharded lsmd cluster on loopback without containers: N lsmd processes
(RESP on) and one nutcracker (twemproxy) in front of them, from a generated
configuration. Used by the tests in this directory as a library, and by
people through scripts/cluster.sh (this file's command line):

    scripts/cluster.sh start 3        # prints the proxy's address
    scripts/cluster.sh status
    scripts/cluster.sh add-node       # a 4th node, not in the ring yet
    scripts/cluster.sh switch FILE    # restart the proxy on FILE, same port
    scripts/cluster.sh kill-node lsmd2 / restart-node lsmd2
    scripts/cluster.sh stop [--purge]

Every port is picked free on 127.0.0.1. The state (ports, pids, logs, data,
nutcracker.yml) is in --dir (default $LSMD_CLUSTER_DIR, else
${TMPDIR:-/tmp}/lsmd-cluster). The node names lsmd1..lsmdN are what the
ketama ring hashes ("host:port:weight name" lines), so a node keeps its keys
when its port changes. See docs/CLUSTER.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 15.0

# The proxy settings this project ships (docs/CLUSTER.md explains each; the
# same values are in docker/nutcracker/nutcracker.yml).
PROXY_DEFAULTS = {
    "hash": "fnv1a_64",
    "distribution": "ketama",
    "hash_tag": "{}",
    "redis": True,
    # A dead node's keys fail until it is back; they never move elsewhere,
    # so no read can see a value older than an acknowledged write.
    "auto_eject_hosts": False,
    # Milliseconds a request waits for its node before the client gets an
    # error (the write's outcome is then unknown, not "not done").
    "timeout": 2000,
    # Only read with auto_eject_hosts: true: eject after 3 failures in a row,
    # retry an ejected node after 30 s.
    "server_retry_timeout": 30000,
    "server_failure_limit": 3,
    # One connection per node keeps each client's pipelined requests to a
    # node in order (read-your-writes); more would spread them over several.
    "server_connections": 1,
    "preconnect": True,
    "backlog": 1024,
}


def find_lsmd(explicit: str | None = None) -> str:
    for c in (explicit, os.environ.get("LSMD_BINARY")):
        if c:
            p = Path(c)
            p = p if p.is_absolute() else (REPO_ROOT / p if (REPO_ROOT / p).exists() else p.resolve())
            return str(p)
    for rel in ("build/release/server/lsmd", "build/test/server/lsmd"):
        if (REPO_ROOT / rel).is_file():
            return str(REPO_ROOT / rel)
    found = shutil.which("lsmd")
    if found:
        return found
    raise SystemExit("no lsmd binary: set LSMD_BINARY, or build it (scripts/run.sh builds build/release)")


def find_nutcracker() -> str:
    for c in (os.environ.get("NUTCRACKER"), shutil.which("nutcracker"), "/usr/sbin/nutcracker"):
        if c and os.access(c, os.X_OK):
            return c
    raise SystemExit("no nutcracker binary: apt-get install nutcracker (or set NUTCRACKER)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def resp_call(port: int, *args: str, timeout: float = 2.0):
    """One RESP command on a fresh connection; the reply's first line."""
    payload = b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args)
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(payload)
        data = b""
        while not data.endswith(b"\r\n"):
            d = s.recv(4096)
            if not d:
                break
            data += d
    return data.split(b"\r\n", 1)[0].decode("utf-8", "replace")


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def pid_is(pid: int, binary: str) -> bool:
    """True when pid runs binary (not a reused pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv0 = f.read().split(b"\0", 1)[0].decode(errors="replace")
    except OSError:
        return False
    return os.path.basename(argv0) == os.path.basename(binary)


class Proc:
    """A child process known by pid (and Popen when this process started it)."""

    def __init__(self):
        self.popen: subprocess.Popen | None = None
        self.pid: int | None = None
        self.binary = ""
        self.returncode = None

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return pid_alive(self.pid) and pid_is(self.pid, self.binary)

    def send(self, sig) -> None:
        if self.alive():
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def wait(self, timeout: float) -> bool:
        """True once the process is gone (reaped if it is ours)."""
        if self.popen is not None:
            try:
                self.returncode = self.popen.wait(timeout=timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return True
            time.sleep(0.05)
        return not self.alive()

    def stop(self, timeout: float = STOP_TIMEOUT_S, sig=signal.SIGTERM):
        """sig (SIGTERM), then SIGKILL after timeout. Returns the exit status
        when known ("killed" when it had to be SIGKILLed)."""
        if not self.alive():
            if self.popen is not None:
                self.returncode = self.popen.poll()
            return self.returncode
        self.send(sig)
        if self.wait(timeout):
            return self.returncode
        self.send(signal.SIGKILL)
        self.wait(5)
        self.returncode = "killed"
        return self.returncode

    def kill(self):
        self.send(signal.SIGKILL)
        self.wait(10)


@dataclass
class Node:
    name: str
    dir: Path
    binary: str
    sync: str = "none"
    resp_port: int | None = None
    json_port: int | None = None
    extra_args: list = field(default_factory=list)
    proc: Proc = field(default_factory=Proc)

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def log_path(self) -> Path:
        return self.dir / "lsmd.log"

    def server_line(self, weight: int = 1) -> str:
        return f"{HOST}:{self.resp_port}:{weight} {self.name}"

    def start(self):
        """Starts lsmd on its data dir; on its old ports if it had them."""
        self.dir.mkdir(parents=True, exist_ok=True)
        last_error = ""
        for _attempt in range(10):
            f1, f2 = self.dir / "json.port", self.dir / "resp.port"
            for f in (f1, f2):
                f.unlink(missing_ok=True)
            cmd = [self.binary,
                   "--listen", f"{HOST}:{self.json_port or 0}", "--port-file", str(f1),
                   "--resp-listen", f"{HOST}:{self.resp_port or 0}", "--resp-port-file", str(f2),
                   "--data-dir", str(self.data_dir), "--sync", self.sync, *self.extra_args]
            with open(self.log_path, "ab") as log:
                log.write(f"--- {time.strftime('%F %T')} {' '.join(cmd)}\n".encode())
                log.flush()
                popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
            self.proc = Proc()
            self.proc.popen, self.proc.pid, self.proc.binary = popen, popen.pid, self.binary
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            ports = {}
            while time.monotonic() < deadline and popen.poll() is None and len(ports) < 2:
                for key, f in (("json", f1), ("resp", f2)):
                    if key not in ports:
                        try:
                            m = re.fullmatch(r"(\d+)\n", f.read_text())
                        except FileNotFoundError:
                            m = None
                        if m:
                            ports[key] = int(m.group(1))
                time.sleep(0.02)
            if len(ports) == 2:
                self.json_port, self.resp_port = ports["json"], ports["resp"]
                return self
            self.proc.kill()
            last_error = self.log_path.read_text(errors="replace")[-2000:]
            if self.resp_port is None:
                break  # port 0 does not collide: a real failure
            time.sleep(0.5)  # the old port may be taken for a moment: retry
        raise RuntimeError(f"{self.name} did not start; log tail:\n{last_error}")

    def stop(self):
        return self.proc.stop()

    def kill(self):
        self.proc.kill()

    def alive(self) -> bool:
        return self.proc.alive()

    def redis(self, **kw):
        import redis
        kw.setdefault("socket_timeout", 30)
        kw.setdefault("socket_connect_timeout", 10)
        return redis.Redis(host=HOST, port=self.resp_port, **kw)

    def state(self) -> dict:
        return {"name": self.name, "dir": str(self.dir), "sync": self.sync,
                "resp_port": self.resp_port, "json_port": self.json_port, "pid": self.proc.pid,
                "extra_args": self.extra_args}


def render_config(listen_port: int, servers: list[str], options: dict | None = None,
                  pool: str = "lsmd") -> str:
    """A nutcracker YAML configuration for one pool."""
    opts = dict(PROXY_DEFAULTS)
    opts.update(options or {})
    lines = ["# Generated by tests/cluster/cluster.py; see docs/CLUSTER.md for each setting.",
             f"{pool}:", f"  listen: {HOST}:{listen_port}"]
    for k, v in opts.items():
        if v is None or v == "":
            continue  # e.g. hash_tag "" means none: nutcracker rejects an empty one
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, str) and not re.fullmatch(r"[A-Za-z0-9_]+", v):
            v = json.dumps(v)
        lines.append(f"  {k}: {v}")
    lines.append("  servers:")
    lines += [f"   - {s}" for s in servers]
    return "\n".join(lines) + "\n"


class Proxy:
    """nutcracker on a loopback port, its stats port on loopback too."""

    def __init__(self, dir: Path, binary: str | None = None):
        self.dir = dir
        self.binary = binary or find_nutcracker()
        self.port: int | None = None
        self.stats_port: int | None = None
        self.config: Path | None = None
        self.proc = Proc()

    @property
    def log_path(self) -> Path:
        return self.dir / "nutcracker.log"

    def start(self, config: Path, port: int | None = None, fixed_port: bool = False):
        """Starts nutcracker on config, whose listen port must be `port` (or
        is rewritten to a free one unless fixed_port)."""
        last = ""
        for _attempt in range(10):
            port = port or free_port()
            text = config.read_text()
            text = re.sub(r"(?m)^(\s*listen:\s*)\S+$", rf"\g<1>{HOST}:{port}", text, count=1)
            config.write_text(text)
            self.stats_port = free_port()
            cmd = [self.binary, "-c", str(config), "-s", str(self.stats_port), "-a", HOST,
                   "-o", str(self.log_path), "-p", str(self.dir / "nutcracker.pid"), "-v", "5",
                   "-i", "1000"]  # stats aggregated every second (default 30 s)
            with open(self.dir / "nutcracker.stderr", "ab") as err:
                popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                         start_new_session=True)
            self.proc = Proc()
            self.proc.popen, self.proc.pid, self.proc.binary = popen, popen.pid, self.binary
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while time.monotonic() < deadline and popen.poll() is None:
                try:
                    if resp_call(port, "PING", timeout=1) == "+PONG":
                        self.port, self.config = port, config
                        return self
                except OSError:
                    pass
                time.sleep(0.05)
            self.proc.kill()
            last = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            if not fixed_port:
                port = None  # most likely taken meanwhile: another one
            else:
                time.sleep(0.3)
        raise RuntimeError(f"nutcracker did not start on {config}; log tail:\n{last}")

    def stop(self):
        """nutcracker has no SIGTERM handler (as PID 1 of a container it would
        ignore SIGTERM); SIGINT is its way to stop: it exits 1. Returns 0 for
        that, the status otherwise."""
        was_running = self.proc.alive()
        code = self.proc.stop(sig=signal.SIGINT)
        return 0 if was_running and code in (1, None) else code

    def restart(self, config: Path):
        """The switch: the same port, another configuration. Clients see
        their connections closed and reconnect (a few ms without a proxy)."""
        port = self.port
        self.stop()
        return self.start(config, port=port, fixed_port=True)

    def redis(self, **kw):
        import redis
        kw.setdefault("socket_timeout", 30)
        kw.setdefault("socket_connect_timeout", 10)
        return redis.Redis(host=HOST, port=self.port, **kw)

    def stats(self) -> dict:
        """nutcracker's stats JSON (sent whole on connect, then closed)."""
        with socket.create_connection((HOST, self.stats_port), timeout=5) as s:
            data = b""
            while True:
                d = s.recv(65536)
                if not d:
                    break
                data += d
        return json.loads(data)


class Cluster:
    """N lsmd nodes and nutcracker, all on 127.0.0.1 ports picked free."""

    def __init__(self, dir: Path, lsmd: str | None = None, sync: str = "none",
                 proxy_options: dict | None = None):
        self.dir = Path(dir)
        self.binary = find_lsmd(lsmd)
        self.sync = sync
        self.proxy_options = dict(proxy_options or {})
        self.nodes: list[Node] = []
        self.ring_names: list[str] = []  # the nodes in the proxy's current config
        self.proxy = Proxy(self.dir)

    # -- building -------------------------------------------------------

    def node(self, name: str) -> Node:
        for n in self.nodes:
            if n.name == name:
                return n
        raise KeyError(f"no node {name} (nodes: {[n.name for n in self.nodes]})")

    def new_node(self, start: bool = True) -> Node:
        name = f"lsmd{len(self.nodes) + 1}"
        n = Node(name=name, dir=self.dir / name, binary=self.binary, sync=self.sync)
        self.nodes.append(n)
        if start:
            n.start()
        return n

    def server_lines(self, names: list[str] | None = None) -> list[str]:
        return [self.node(n).server_line() for n in (names or self.ring_names)]

    def write_config(self, path: Path, names: list[str], options: dict | None = None) -> Path:
        opts = dict(self.proxy_options)
        opts.update(options or {})
        path.write_text(render_config(self.proxy.port or 0, self.server_lines(names), opts))
        return path

    @property
    def config_path(self) -> Path:
        return self.dir / "nutcracker.yml"

    def start(self, n: int, proxy_port: int | None = None):
        self.dir.mkdir(parents=True, exist_ok=True)
        try:
            for _ in range(n):
                self.new_node()
            self.ring_names = [x.name for x in self.nodes]
            self.write_config(self.config_path, self.ring_names)
            self.proxy.start(self.config_path, port=proxy_port, fixed_port=proxy_port is not None)
        except BaseException:
            self.stop()
            raise
        self.save()
        return self

    def add_node(self) -> tuple[Node, Path]:
        """Starts one more node, outside the ring; writes the next config
        (current ring + the new node) beside the current one."""
        n = self.new_node()
        # The current list under a name of its own too: `switch` overwrites
        # nutcracker.yml, and the reshard's delete phase needs the old list.
        cur = self.dir / f"nutcracker-{len(self.ring_names)}.yml"
        if not cur.exists():
            shutil.copyfile(self.config_path, cur)
        nxt = self.dir / f"nutcracker-{len(self.ring_names) + 1}.yml"
        self.write_config(nxt, self.ring_names + [n.name])
        self.save()
        return n, nxt

    @property
    def current_config_copy(self) -> Path:
        return self.dir / f"nutcracker-{len(self.ring_names)}.yml"

    def switch(self, config: Path):
        """Restarts the proxy on config (same port); config becomes current."""
        config = Path(config).resolve()
        names = re.findall(r"(?m)^\s*-\s*\S+:\d+:\d+\s+(\S+)\s*$", config.read_text())
        if config != self.config_path.resolve():
            prev = self.dir / "nutcracker.prev.yml"
            shutil.copyfile(self.config_path, prev)
            shutil.copyfile(config, self.config_path)
        self.proxy.restart(self.config_path)
        self.ring_names = names
        self.save()

    def stop(self) -> dict:
        """Stops the proxy and every node (SIGTERM); their exit statuses."""
        out = {"nutcracker": self.proxy.stop()}
        for n in self.nodes:
            out[n.name] = n.stop()
        self.save()
        return out

    # -- clients --------------------------------------------------------

    def redis(self, **kw):
        return self.proxy.redis(**kw)

    def ring(self, names: list[str] | None = None):
        """The tool's ring for the proxy's current (or the given) nodes."""
        mod = load_reshard_module()
        servers = [mod.parse_server_line(s) for s in self.server_lines(names)]
        return mod.Ring(servers, self.proxy_options.get("hash_tag", PROXY_DEFAULTS["hash_tag"]))

    # -- state, for the command line ----------------------------------

    def save(self):
        state = {"binary": self.binary, "sync": self.sync, "proxy_options": self.proxy_options,
                 "ring": self.ring_names, "nodes": [n.state() for n in self.nodes],
                 "proxy": {"port": self.proxy.port, "stats_port": self.proxy.stats_port,
                           "pid": self.proxy.proc.pid, "binary": self.proxy.binary,
                           "config": str(self.config_path)}}
        tmp = self.dir / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2) + "\n")
        tmp.replace(self.dir / "state.json")

    @classmethod
    def load(cls, dir: Path) -> "Cluster":
        path = Path(dir) / "state.json"
        if not path.exists():
            raise SystemExit(f"no cluster in {dir} (no state.json): start one first")
        st = json.loads(path.read_text())
        c = cls(Path(dir), lsmd=st["binary"], sync=st["sync"], proxy_options=st["proxy_options"])
        for ns in st["nodes"]:
            n = Node(name=ns["name"], dir=Path(ns["dir"]), binary=st["binary"], sync=ns["sync"],
                     resp_port=ns["resp_port"], json_port=ns["json_port"],
                     extra_args=ns.get("extra_args", []))
            n.proc.pid, n.proc.binary = ns["pid"], st["binary"]
            c.nodes.append(n)
        c.ring_names = st["ring"]
        p = st["proxy"]
        c.proxy = Proxy(Path(dir), binary=p["binary"])
        c.proxy.port, c.proxy.stats_port, c.proxy.config = p["port"], p["stats_port"], Path(p["config"])
        c.proxy.proc.pid, c.proxy.proc.binary = p["pid"], p["binary"]
        return c


_RESHARD = None


def load_reshard_module():
    """scripts/lsmd-reshard as a module (it has no .py suffix)."""
    global _RESHARD
    if _RESHARD is None:
        import importlib.machinery
        import importlib.util
        path = str(REPO_ROOT / "scripts" / "lsmd-reshard")
        loader = importlib.machinery.SourceFileLoader("lsmd_reshard", path)
        spec = importlib.util.spec_from_loader("lsmd_reshard", loader)
        mod = importlib.util.module_from_spec(spec)
        sys.modules["lsmd_reshard"] = mod
        loader.exec_module(mod)
        _RESHARD = mod
    return _RESHARD


# --------------------------------------------------------------------------
# Command line (scripts/cluster.sh).
# --------------------------------------------------------------------------

def _default_dir() -> Path:
    return Path(os.environ.get("LSMD_CLUSTER_DIR")
                or Path(os.environ.get("TMPDIR", "/tmp")) / "lsmd-cluster")


def _print_status(c: Cluster):
    up = "up" if c.proxy.proc.alive() else "DOWN"
    print(f"proxy     {HOST}:{c.proxy.port}  {up}  (stats {HOST}:{c.proxy.stats_port}, "
          f"config {c.config_path})")
    for n in c.nodes:
        state = "up" if n.alive() else "DOWN"
        ring = "in the ring" if n.name in c.ring_names else "not in the ring"
        print(f"{n.name:<9} {HOST}:{n.resp_port}  {state}  (JSON port {n.json_port}, {ring}, "
              f"data {n.data_dir})")


def cli(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="cluster.sh",
                                 description="A local lsmd cluster behind nutcracker (docs/CLUSTER.md).")
    ap.add_argument("--dir", type=Path, default=_default_dir(),
                    help="state, logs and data (default $LSMD_CLUSTER_DIR or $TMPDIR/lsmd-cluster)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("start", help="start N nodes and the proxy")
    p.add_argument("n", type=int, nargs="?", default=3)
    p.add_argument("--sync", choices=("always", "none"), default="always")
    p.add_argument("--proxy-port", type=int, help="the proxy's port (default: a free one)")
    p.add_argument("--lsmd", help="the lsmd binary (default $LSMD_BINARY, build/, PATH)")
    p = sub.add_parser("stop", help="stop the proxy and every node (SIGTERM)")
    p.add_argument("--purge", action="store_true", help="then delete the directory, data included")
    sub.add_parser("status", help="addresses and liveness")
    sub.add_parser("add-node", help="start one more node, outside the ring; write the next config")
    p = sub.add_parser("switch", help="restart the proxy on another config (same port)")
    p.add_argument("config", type=Path)
    for name in ("kill-node", "stop-node", "restart-node"):
        p = sub.add_parser(name, help={"kill-node": "SIGKILL a node (simulates a crash)",
                                       "stop-node": "SIGTERM a node",
                                       "restart-node": "start a stopped node on its data and ports"}[name])
        p.add_argument("name")
    sub.add_parser("env", help="print shell variables: LSMD_PROXY, LSMD_CONFIG, LSMD_NODES")
    args = ap.parse_args(argv)
    d: Path = args.dir

    if args.cmd == "start":
        if (d / "state.json").exists():
            old = Cluster.load(d)
            if old.proxy.proc.alive() or any(n.alive() for n in old.nodes):
                print(f"a cluster is already running in {d}: `cluster.sh stop` first", file=sys.stderr)
                return 1
            # A stopped cluster: start it again as it was (its data, ports and
            # server list); `stop --purge` first for a new one.
            print(f"{d} holds a stopped cluster of {len(old.nodes)} nodes: starting it again "
                  "on its data (`stop --purge` first for a new one)", file=sys.stderr)
            for n in old.nodes:
                n.start()
            old.proxy.start(old.config_path, port=old.proxy.port, fixed_port=True)
            old.save()
            _print_status(old)
            return 0
        if args.n < 1:
            print("start needs N >= 1", file=sys.stderr)
            return 2
        c = Cluster(d, lsmd=args.lsmd, sync=args.sync)
        c.start(args.n, proxy_port=args.proxy_port)
        print(f"lsmd cluster of {args.n} nodes (lsmd {c.binary}, sync={args.sync}) in {d}",
              file=sys.stderr)
        _print_status(c)
        print(f"redis-cli -p {c.proxy.port}    # talk to the cluster through the proxy",
              file=sys.stderr)
        return 0
    c = Cluster.load(d)
    if args.cmd == "stop":
        codes = c.stop()
        bad = {k: v for k, v in codes.items() if v not in (0, None)}
        print("stopped" + (f"; exit statuses {bad}" if bad else ""), file=sys.stderr)
        if args.purge:
            shutil.rmtree(d, ignore_errors=True)
            print(f"deleted {d}", file=sys.stderr)
        return 0
    if args.cmd == "status":
        _print_status(c)
        return 0 if c.proxy.proc.alive() and all(c.node(n).alive() for n in c.ring_names) else 1
    if args.cmd == "env":
        print(f"LSMD_PROXY={HOST}:{c.proxy.port}")
        print(f"LSMD_CONFIG={c.config_path}")
        print("LSMD_NODES=" + ",".join(f"{n.name}={HOST}:{n.resp_port}" for n in c.nodes))
        return 0
    if args.cmd == "add-node":
        cur = c.current_config_copy
        n, nxt = c.add_node()
        print(f"{n.name} started on {HOST}:{n.resp_port}, not in the ring yet", file=sys.stderr)
        print(f"current list: {cur}\nnext list:    {nxt}", file=sys.stderr)
        print("then: scripts/lsmd-reshard move", cur, nxt, f"--proxy {HOST}:{c.proxy.port}",
              f"--switch-command 'scripts/cluster.sh --dir {c.dir} switch {nxt}'", file=sys.stderr)
        print(nxt)
        return 0
    if args.cmd == "switch":
        c.switch(args.config)
        print(f"proxy restarted on {HOST}:{c.proxy.port} with {args.config} "
              f"(ring: {', '.join(c.ring_names)})", file=sys.stderr)
        return 0
    n = c.node(args.name)
    if args.cmd == "kill-node":
        n.kill()
    elif args.cmd == "stop-node":
        n.stop()
    else:
        if n.alive():
            print(f"{n.name} is running", file=sys.stderr)
            return 1
        n.start()
    c.save()
    _print_status(c)
    return 0


if __name__ == "__main__":
    sys.exit(cli())
