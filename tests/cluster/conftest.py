"""Fixtures for the cluster suite: real lsmd processes behind a real
nutcracker (Debian's twemproxy 0.5), every port free on 127.0.0.1.

Environment:
  LSMD_BINARY   the lsmd binary (default build/test/server/lsmd; relative
                paths from the repository root)
  NUTCRACKER    the nutcracker binary (default: on PATH, else /usr/sbin)
  LSMD_CLUSTER_KEEP=1  keep each test's directory (logs, data, configs)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import cluster as cl  # noqa: E402

os.environ.setdefault("LSMD_BINARY", "build/test/server/lsmd")
LSMD = cl.find_lsmd()
RESHARD = str(cl.REPO_ROOT / "scripts" / "lsmd-reshard")
PYTHON = "/usr/bin/python3"


def pytest_sessionstart(session):
    if not (os.path.isfile(LSMD) and os.access(LSMD, os.X_OK)):
        pytest.exit(f"LSMD_BINARY {LSMD} is not an executable file (build lsmd first)", returncode=2)
    helptext = subprocess.run([LSMD, "--help"], capture_output=True, text=True, timeout=10).stdout
    if "--resp-listen" not in helptext:
        pytest.exit(f"{LSMD} has no --resp-listen: the RESP listener is not built in", returncode=2)
    cl.find_nutcracker()


def pytest_report_header(config):
    return f"cluster suite: lsmd {LSMD}, nutcracker {cl.find_nutcracker()}"


@pytest.fixture(scope="session")
def reshard_mod():
    return cl.load_reshard_module()


def _finish(c: cl.Cluster, failed: bool):
    codes = c.stop()
    bad = {k: v for k, v in codes.items() if v not in (0, None)}
    keep = failed or bad or os.environ.get("LSMD_CLUSTER_KEEP") == "1"
    if not keep:
        shutil.rmtree(c.dir, ignore_errors=True)
    else:
        print(f"\n[cluster kept in {c.dir}]")
    if bad and not failed:
        logs = "\n".join(f"--- {n.name}:\n{n.log_path.read_text(errors='replace')[-3000:]}"
                         for n in c.nodes if n.log_path.exists())
        pytest.fail(f"processes did not exit 0 on SIGTERM: {bad}\n{logs}", pytrace=False)


@pytest.fixture
def make_cluster(request):
    """Factory: make_cluster(n, sync="none", proxy_options={}) -> a started
    Cluster; everything it started is stopped after the test."""
    made: list[cl.Cluster] = []

    def make(n: int = 3, sync: str = "none", proxy_options: dict | None = None) -> cl.Cluster:
        name = re.sub(r"[^A-Za-z0-9_]+", "_", request.node.name)[:40]
        d = Path(tempfile.mkdtemp(prefix=f"lsmd-cluster-{name}-"))
        c = cl.Cluster(d, lsmd=LSMD, sync=sync, proxy_options=proxy_options)
        made.append(c)
        return c.start(n)

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for c in made:
        _finish(c, failed)


@pytest.fixture(scope="module")
def cluster3(request):
    """Three nodes (sync none) behind nutcracker, shared by a module."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    d = Path(tempfile.mkdtemp(prefix=f"lsmd-cluster-{name}-"))
    c = cl.Cluster(d, lsmd=LSMD, sync="none").start(3)
    yield c
    _finish(c, False)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def run_reshard(*args, check=True, timeout=300, **kw) -> subprocess.CompletedProcess:
    """Runs scripts/lsmd-reshard; its stderr (progress) is kept for asserts."""
    p = subprocess.run([PYTHON, RESHARD, *[str(a) for a in args]], capture_output=True, text=True,
                       timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"lsmd-reshard {args} exited {p.returncode}\nstdout:\n{p.stdout}\n"
                             f"stderr:\n{p.stderr[-4000:]}")
    return p


def node_keys(node: cl.Node) -> set[bytes]:
    """Every key on a node, asked of the node directly (SCAN)."""
    r = node.redis()
    try:
        return set(r.scan_iter(count=1000))
    finally:
        r.close()


def write_through(r, items: dict, batch: int = 1000):
    """SETs through the proxy, pipelined (no MULTI: nutcracker has none)."""
    items = list(items.items())
    for i in range(0, len(items), batch):
        p = r.pipeline(transaction=False)
        for k, v in items[i:i + batch]:
            p.set(k, v)
        assert all(p.execute()), "a SET through the proxy was not acknowledged"


def read_through(r, keys: list, batch: int = 1000) -> list:
    out = []
    for i in range(0, len(keys), batch):
        p = r.pipeline(transaction=False)
        for k in keys[i:i + batch]:
            p.get(k)
        out.extend(p.execute())
    return out
