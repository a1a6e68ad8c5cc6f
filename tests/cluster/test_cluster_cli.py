"""scripts/cluster.sh, the way docs/CLUSTER.md tells people to use it: start
3 nodes, use the proxy with redis-cli, grow to 4 with `add-node` and
`lsmd-reshard move --switch-command`, crash and restart a node, stop."""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import cluster as cl
from conftest import LSMD, PYTHON, RESHARD, node_keys

CLUSTER_SH = str(cl.REPO_ROOT / "scripts" / "cluster.sh")
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


def sh(d, *args, check=True):
    env = dict(os.environ, LSMD_BINARY=LSMD)
    p = subprocess.run([CLUSTER_SH, "--dir", str(d), *args], capture_output=True, text=True,
                       timeout=120, env=env)
    if check:
        assert p.returncode == 0, (args, p.returncode, p.stdout, p.stderr)
    return p


def cli(port, *args):
    p = subprocess.run([REDIS_CLI, "-h", cl.HOST, "-p", str(port), *args], capture_output=True,
                       text=True, timeout=30)
    return p.stdout.strip()


def test_cluster_sh_lifecycle():
    d = Path(tempfile.mkdtemp(prefix="lsmd-cluster-cli-"))
    ok = False
    try:
        out = sh(d, "start", "3").stdout
        port = int(re.search(r"^proxy\s+127\.0\.0\.1:(\d+)\s+up", out, re.M).group(1))
        assert len(re.findall(r"^lsmd\d\s+127\.0\.0\.1:\d+\s+up", out, re.M)) == 3
        assert sh(d, "start", "3", check=False).returncode == 1  # already running
        env = dict(line.split("=", 1) for line in sh(d, "env").stdout.splitlines())
        assert env["LSMD_PROXY"] == f"127.0.0.1:{port}"

        assert cli(port, "SET", "hello", "world") == "OK"
        assert cli(port, "GET", "hello") == "world"
        c = cl.Cluster.load(d)
        keys = {f"cli:{i}".encode(): str(i).encode() for i in range(3000)}
        px = c.redis()
        assert px.mset(keys)

        # Grow to 4 nodes, the one-command way.
        nxt = sh(d, "add-node").stdout.strip()
        c = cl.Cluster.load(d)
        cur = c.current_config_copy
        assert cur.exists() and Path(nxt).exists()
        p = subprocess.run([PYTHON, RESHARD, "move", str(cur), nxt, "--proxy", env["LSMD_PROXY"],
                            "--switch-command", f"{CLUSTER_SH} --dir {d} switch {nxt}", "--quiet"],
                           capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, LSMD_BINARY=LSMD))
        assert p.returncode == 0, (p.stdout, p.stderr)
        assert "delete: keys to move:" in p.stdout
        c = cl.Cluster.load(d)
        assert c.ring_names == ["lsmd1", "lsmd2", "lsmd3", "lsmd4"]
        ring = c.ring()
        for n in c.nodes:
            assert all(ring.owner(k).name == n.name for k in node_keys(n))
        assert node_keys(c.node("lsmd4"))
        assert c.redis().mget(list(keys)) == list(keys.values())
        assert cli(port, "GET", "hello") == "world"

        # A crash: that node's keys fail, the rest work; restart: all back.
        mine = next(k for k in keys if ring.owner(k).name == "lsmd2")
        other = next(k for k in keys if ring.owner(k).name != "lsmd2")
        sh(d, "kill-node", "lsmd2")
        assert sh(d, "status", check=False).returncode == 1
        assert "Connection refused" in cli(port, "GET", mine.decode())
        assert cli(port, "GET", other.decode()) == keys[other].decode()
        sh(d, "restart-node", "lsmd2")
        assert cli(port, "GET", mine.decode()) == keys[mine].decode()
        assert sh(d, "status").returncode == 0

        # stop, then start again: the same cluster, on its data and ports.
        sh(d, "stop")
        assert sh(d, "status", check=False).returncode == 1
        out = sh(d, "start").stdout
        assert f"127.0.0.1:{port}  up" in out
        assert cli(port, "GET", "hello") == "world"
        assert c.redis().mget(list(keys)) == list(keys.values())

        pids = [n.proc.pid for n in cl.Cluster.load(d).nodes] + [cl.Cluster.load(d).proxy.proc.pid]
        sh(d, "stop", "--purge")
        assert not d.exists()
        assert not any(cl.pid_alive(pid) for pid in pids)
        ok = True
    finally:
        if not ok and (d / "state.json").exists():
            sh(d, "stop", check=False)
