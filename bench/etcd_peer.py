"""etcd as the peer in our benchmarks: a loopback etcd cluster and etcd's own load tool.

Benchmarks print pegasus-log's figures beside etcd's, measured in the same run on the same
machine, as ratios; nothing here asserts on time.

Install once (idempotent, fast when done): ``bash scripts/install_etcd.sh``. It installs
Debian ``etcd-server`` / ``etcd-client`` and builds etcd's load generator
``go.etcd.io/etcd/v3/tools/benchmark`` (version pinned in ``bench/etcd_benchmark/go.mod``)
into ``$PEGASUS_LOG_CACHE/bin`` (default ``~/.cache/pegasus-log/bin``).
``ensure_installed()`` runs that script from Python.

API (import as ``from bench.etcd_peer import ...`` from the repo root, or put ``bench/`` on
``sys.path``)::

    with etcd_cluster(members=3) as cluster:          # 1 or 3 members, waits until healthy
        r = run_load(cluster, op="put", clients=16, value_size=256, duration_s=10)
        # r == {"op": "put", "clients": 16, "ops_per_s": ..., "p50_ms": ..., "p99_ms": ...,
        #       plus "ops", "seconds", "members", "value_size"}
    # on leaving the block every member is stopped and its data dir removed

    ops: "put"              durable write of value_size bytes, random keys (key_size bytes)
         "get"              linearizable range of one key (etcd's default read; ReadIndex)
         "get_serializable" serializable range of one key (local read, may be stale)

    start_cluster(members=..., base_dir=None, quiet=False) -> EtcdCluster
    stop_cluster(cluster)          # idempotent; also run at interpreter exit
    versions() -> {"etcd": "3.4.23", "load_tool": "go.etcd.io/etcd/v3/tools/benchmark@v3.6.8"}
    EtcdCluster.endpoints          # ("127.0.0.1:port", ...) client endpoints

``duration_s`` is approximate: etcd's tool runs a fixed number of requests, so ``run_load``
first runs a short warm-up to measure the rate, then asks for ``rate * duration_s``
requests; the real run time is returned as ``seconds``. The load tool runs on this machine,
as our own load generator does; clients share ``conns`` gRPC connections (default 1) and
spread over all members (etcd's client default) unless ``target_leader=True``.

Durability: etcd fsyncs its write-ahead log before a member acknowledges a raft entry
(one fdatasync per raft ``Ready`` batch, so concurrent writes share it: group commit), and
a put is answered only after a quorum has it on disk. We pass no ``--unsafe-no-fsync``, so
these are durable writes, comparable with pegasus-log's fsyncing plog. The bbolt backend is
committed every 100 ms (etcd's default ``--backend-batch-interval``), off the write path.
Data dirs default to the system temp dir; pass ``base_dir`` to put them on the same disk
as pegasus-log's data for a fair comparison.

Server flags are etcd's defaults except what a loopback cluster needs: name, data dir,
client and peer URLs on 127.0.0.1 with free ports, the initial cluster and a unique token.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Op = Literal["put", "get", "get_serializable"]

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTALL_SCRIPT = REPO_ROOT / "scripts" / "install_etcd.sh"

# How long a new cluster may take to elect a leader and answer /health. etcd's default
# election timeout is 1 s; 30 s leaves room for a slow, loaded CI machine.
HEALTHY_TIMEOUT_S = 30.0
# SIGTERM lets etcd close its WAL; after this, SIGKILL.
STOP_TIMEOUT_S = 10.0
# Free ports are picked by binding port 0, then released: another process may take one
# before etcd binds it. Start again with new ports this many times.
START_ATTEMPTS_MAX = 3
# Warm-up requests per client before the timed run: enough to fill gRPC connections and
# etcd's caches, and to estimate the rate for sizing the timed run.
WARMUP_REQUESTS_PER_CLIENT = 100
WARMUP_REQUESTS_MIN = 1000
# The load tool retries forever against a dead endpoint; give up after this.
LOAD_TIMEOUT_SLACK_S = 60.0
# Key space for put: random keys in [0, 1M) (the tool's default space is 1 key).
PUT_KEY_SPACE_SIZE = 1_000_000
GET_KEY = "pegasus-log-bench-get"


class EtcdError(RuntimeError):
    """etcd or its load tool could not be installed, started or run."""


def cache_bin_dir() -> Path:
    """Where scripts/install_etcd.sh puts binaries (outside the repo)."""
    cache = os.environ.get("PEGASUS_LOG_CACHE")
    if cache:
        return Path(cache) / "bin"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "pegasus-log" / "bin"


def load_tool_path() -> Path:
    return cache_bin_dir() / "etcd-benchmark"


def ensure_installed() -> None:
    """Run scripts/install_etcd.sh (a no-op taking milliseconds when already done)."""
    result = subprocess.run(["bash", str(INSTALL_SCRIPT)], capture_output=True, text=True)
    if result.returncode != 0:
        raise EtcdError(f"{INSTALL_SCRIPT} failed:\n{result.stdout}{result.stderr}")


def _require(path: Path | None, what: str) -> Path:
    if path is None or not path.exists():
        raise EtcdError(f"{what} not found; run: bash {INSTALL_SCRIPT}")
    return path


def _which(name: str) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found else None


def versions() -> dict[str, str]:
    """Versions of the etcd server binary and of the load tool (module@version)."""
    etcd = _require(_which("etcd"), "etcd")
    out = subprocess.run([str(etcd), "--version"], capture_output=True, text=True).stdout
    match = re.search(r"etcd Version:\s*(\S+)", out)
    tool_version = load_tool_path().with_suffix(".version")
    return {
        "etcd": match.group(1) if match else "unknown",
        "load_tool": tool_version.read_text().strip() if tool_version.exists() else "missing",
    }


@dataclass(frozen=True, slots=True)
class EtcdMember:
    name: str
    client_port: int
    peer_port: int
    data_dir: Path

    @property
    def client_url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://127.0.0.1:{self.peer_port}"


@dataclass(slots=True)
class EtcdCluster:
    members: tuple[EtcdMember, ...]
    base_dir: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    stopped: bool = False

    @property
    def endpoints(self) -> tuple[str, ...]:
        """Client endpoints as host:port, the form etcd's tools take."""
        return tuple(f"127.0.0.1:{m.client_port}" for m in self.members)

    def log_tail(self, lines: int = 20) -> str:
        parts = []
        for m in self.members:
            log = m.data_dir.parent / f"{m.name}.log"
            if log.exists():
                tail = log.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {log}\n" + "\n".join(tail))
        return "\n".join(parts)


_live_clusters: list[EtcdCluster] = []


def _free_ports(count: int) -> list[int]:
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _member_command(
    etcd: Path, member: EtcdMember, *, initial_cluster: str, token: str
) -> list[str]:
    return [
        str(etcd),
        f"--name={member.name}",
        f"--data-dir={member.data_dir}",
        f"--listen-client-urls={member.client_url}",
        f"--advertise-client-urls={member.client_url}",
        f"--listen-peer-urls={member.peer_url}",
        f"--initial-advertise-peer-urls={member.peer_url}",
        f"--initial-cluster={initial_cluster}",
        "--initial-cluster-state=new",
        f"--initial-cluster-token={token}",
    ]


def _healthy(member: EtcdMember) -> bool:
    try:
        with urllib.request.urlopen(f"{member.client_url}/health", timeout=1.0) as resp:
            body: dict[str, Any] = json.loads(resp.read())
    except (OSError, ValueError):  # refused, 503 before a leader exists, half-written body
        return False
    return str(body.get("health")) == "true"


def _wait_healthy(cluster: EtcdCluster) -> None:
    deadline = time.monotonic() + HEALTHY_TIMEOUT_S
    pending = list(cluster.members)
    while pending:
        for proc, member in zip(cluster.processes, cluster.members, strict=True):
            if proc.poll() is not None:
                raise EtcdError(
                    f"etcd member {member.name} exited with {proc.returncode}\n"
                    + cluster.log_tail()
                )
        pending = [m for m in pending if not _healthy(m)]
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(m.name for m in pending)
            raise EtcdError(
                f"etcd members not healthy after {HEALTHY_TIMEOUT_S} s: {names}\n"
                + cluster.log_tail()
            )
        time.sleep(0.1)


def _start_once(etcd: Path, *, members: int, base_dir: Path, attempt: int) -> EtcdCluster:
    ports = _free_ports(2 * members)
    root = Path(tempfile.mkdtemp(prefix="etcd-peer-", dir=base_dir))
    cluster_members = tuple(
        EtcdMember(
            name=f"m{i}",
            client_port=ports[2 * i],
            peer_port=ports[2 * i + 1],
            data_dir=root / f"m{i}.etcd",
        )
        for i in range(members)
    )
    cluster = EtcdCluster(members=cluster_members, base_dir=root)
    _live_clusters.append(cluster)
    initial_cluster = ",".join(f"{m.name}={m.peer_url}" for m in cluster_members)
    token = f"pegasus-log-bench-{os.getpid()}-{root.name}-{attempt}"
    for member in cluster_members:
        command = _member_command(etcd, member, initial_cluster=initial_cluster, token=token)
        with open(root / f"{member.name}.log", "wb") as log:
            cluster.processes.append(
                subprocess.Popen(
                    command,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # a ^C in the terminal reaches us, not etcd
                )
            )
    try:
        _wait_healthy(cluster)
    except BaseException:
        stop_cluster(cluster)
        raise
    return cluster


def start_cluster(
    *, members: int = 3, base_dir: str | Path | None = None, quiet: bool = False
) -> EtcdCluster:
    """Start a fresh `members`-member etcd cluster on loopback; return once all are healthy.

    Data dirs go in a new folder under `base_dir` (default: the system temp dir), removed
    by stop_cluster. Prints one line with versions and endpoints unless `quiet`.
    """
    if members not in (1, 3, 5):
        raise ValueError(f"members must be 1, 3 or 5, not {members}")
    etcd = _require(_which("etcd"), "etcd")
    parent = Path(base_dir) if base_dir is not None else Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, START_ATTEMPTS_MAX + 1):
        try:
            cluster = _start_once(etcd, members=members, base_dir=parent, attempt=attempt)
        except EtcdError:
            if attempt == START_ATTEMPTS_MAX:
                raise
            continue
        if not quiet:
            v = versions()
            print(
                f"etcd {v['etcd']}: {members} member(s) at {','.join(cluster.endpoints)}, "
                f"data in {cluster.base_dir}; load tool {v['load_tool']}",
                flush=True,
            )
        return cluster
    raise AssertionError("unreachable")


def stop_cluster(cluster: EtcdCluster) -> None:
    """Stop every member (SIGTERM, then SIGKILL) and remove the data dirs. Idempotent."""
    if cluster.stopped:
        return
    for proc in cluster.processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for proc in cluster.processes:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    shutil.rmtree(cluster.base_dir, ignore_errors=True)
    cluster.stopped = True
    if cluster in _live_clusters:
        _live_clusters.remove(cluster)


@atexit.register
def _stop_live_clusters() -> None:
    for cluster in list(_live_clusters):
        stop_cluster(cluster)


@contextlib.contextmanager
def etcd_cluster(
    *, members: int = 3, base_dir: str | Path | None = None, quiet: bool = False
) -> Iterator[EtcdCluster]:
    """start_cluster(...) as a context manager that always stops the cluster."""
    cluster = start_cluster(members=members, base_dir=base_dir, quiet=quiet)
    try:
        yield cluster
    finally:
        stop_cluster(cluster)


@dataclass(frozen=True, slots=True)
class _Report:
    seconds: float
    ops_per_s: float
    p50_ms: float
    p99_ms: float


_FLOAT = r"([0-9.eE+-]+)"


def _parse_report(text: str) -> _Report:
    """Parse the summary that etcd's benchmark tool prints (pkg/report, --precise)."""
    if "Error distribution:" in text:
        errors = text.split("Error distribution:", 1)[1].strip()
        raise EtcdError(f"load tool saw errors:\n{errors}")

    def find(pattern: str) -> float:
        match = re.search(pattern, text)
        if match is None:
            raise EtcdError(f"no {pattern!r} in load tool output:\n{text[-2000:]}")
        return float(match.group(1))

    return _Report(
        seconds=find(rf"Total:\s+{_FLOAT} secs"),
        ops_per_s=find(rf"Requests/sec:\s+{_FLOAT}"),
        p50_ms=find(rf"\n\s*50% in {_FLOAT} secs") * 1000.0,
        p99_ms=find(rf"\n\s*99% in {_FLOAT} secs") * 1000.0,
    )


def _load_command(
    cluster: EtcdCluster,
    *,
    op: Op,
    clients: int,
    conns: int,
    total: int,
    value_size: int,
    key_size: int,
    target_leader: bool,
) -> list[str]:
    tool = _require(load_tool_path(), "etcd load tool")
    command = [
        str(tool),
        f"--endpoints={','.join(cluster.endpoints)}",
        f"--clients={clients}",
        f"--conns={conns}",
        "--dial-timeout=5s",
        "--precise",
    ]
    if target_leader:
        command.append("--target-leader")
    if op == "put":
        return [
            *command,
            "put",
            f"--total={total}",
            f"--key-size={key_size}",
            f"--val-size={value_size}",
            f"--key-space-size={PUT_KEY_SPACE_SIZE}",
        ]
    consistency = "l" if op == "get" else "s"
    return [*command, "range", GET_KEY, f"--consistency={consistency}", f"--total={total}"]


def _run_tool(command: list[str], *, timeout_s: float) -> _Report:
    # The tool prints its summary on stdout, a progress bar and gRPC logs on stderr.
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise EtcdError(f"load tool did not finish in {timeout_s:.0f} s: {command}") from None
    except BaseException:  # ^C, SystemExit: the tool would retry forever on a stopped cluster
        proc.kill()
        proc.communicate()
        raise
    text = stdout.decode(errors="replace")
    if proc.returncode != 0:
        raise EtcdError(
            f"load tool exited {proc.returncode}: {command}\n"
            + text[-2000:]
            + stderr.decode(errors="replace")[-2000:]
        )
    return _parse_report(text)


def _put_get_key(cluster: EtcdCluster, *, value_size: int) -> None:
    etcdctl = _require(_which("etcdctl"), "etcdctl")
    result = subprocess.run(
        [str(etcdctl), f"--endpoints={','.join(cluster.endpoints)}", "put", GET_KEY],
        input=b"v" * value_size,  # etcdctl reads the value from stdin when none is given
        capture_output=True,
        env={**os.environ, "ETCDCTL_API": "3"},
        timeout=30,
    )
    if result.returncode != 0:
        raise EtcdError(f"etcdctl put failed: {result.stderr.decode(errors='replace')}")


def run_load(
    cluster: EtcdCluster,
    *,
    op: Op,
    clients: int,
    value_size: int = 256,
    duration_s: float = 10.0,
    key_size: int = 16,
    conns: int = 1,
    target_leader: bool = False,
) -> dict[str, Any]:
    """Drive `op` with `clients` concurrent clients for about `duration_s` seconds.

    Returns {"op", "clients", "ops_per_s", "p50_ms", "p99_ms"} plus "ops", "warmup_ops"
    (requests of the warm-up run before it), "seconds" (real run time), "members",
    "value_size". Raises EtcdError if any request failed.
    """
    if op not in ("put", "get", "get_serializable"):
        raise ValueError(f"unknown op {op!r}")
    if clients < 1 or conns < 1 or value_size < 0 or key_size < 1 or duration_s <= 0:
        raise ValueError("clients, conns, key_size >= 1; value_size >= 0; duration_s > 0")
    if op != "put":
        _put_get_key(cluster, value_size=value_size)

    def command(total: int) -> list[str]:
        return _load_command(
            cluster,
            op=op,
            clients=clients,
            conns=conns,
            total=total,
            value_size=value_size,
            key_size=key_size,
            target_leader=target_leader,
        )

    warmup_total = max(WARMUP_REQUESTS_MIN, WARMUP_REQUESTS_PER_CLIENT * clients)
    warmup = _run_tool(command(warmup_total), timeout_s=LOAD_TIMEOUT_SLACK_S)
    total = max(clients, math.ceil(warmup.ops_per_s * duration_s))
    report = _run_tool(command(total), timeout_s=5 * duration_s + LOAD_TIMEOUT_SLACK_S)
    return {
        "op": op,
        "clients": clients,
        "ops_per_s": report.ops_per_s,
        "p50_ms": report.p50_ms,
        "p99_ms": report.p99_ms,
        "ops": total,
        "warmup_ops": warmup_total,
        "seconds": report.seconds,
        "members": len(cluster.members),
        "value_size": value_size,
    }
