"""Real pegasus-log processes on loopback for integration and conformance tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kazoo.client import KazooClient

from pegasus_log.client.aio import AsyncClient
from pegasus_log.client.errors import PegasusError
from pegasus_log.client.sync import Admin
from pegasus_log.meta.state.layout import Layout
from pegasus_log.meta.state.model import AppState
from pegasus_log.meta.state.repository import MetaStateRepository
from pegasus_log.meta.state.zookeeper import ZooKeeperStore, ZooKeeperStoreOptions

# Ports handed out by this process: the kernel may offer a port again as soon as the probe
# socket is closed, and a cluster takes several ports before any server binds them.
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on, never the same one twice in this process."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


@dataclass
class Process:
    name: str
    argv: list[str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pegasus_log.shell.main", *self.argv],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            if sig in (signal.SIGKILL, signal.SIGTERM):
                self.proc.wait(10)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class StaticCluster:
    """A static meta and one replica server hosting the given tables."""

    root: Path
    tables: list[str] = field(default_factory=lambda: ["temp:8"])
    meta_port: int = 0
    replica_port: int = 0
    processes: list[Process] = field(default_factory=list)

    @property
    def meta(self) -> str:
        return f"127.0.0.1:{self.meta_port}"

    @property
    def replica(self) -> str:
        return f"127.0.0.1:{self.replica_port}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.meta_port = self.meta_port or free_port()
        self.replica_port = self.replica_port or free_port()
        table_args = [a for t in self.tables for a in ("--table", t)]
        self.processes = [
            Process(
                "replica",
                [
                    "replica",
                    "--port",
                    str(self.replica_port),
                    "--data-dir",
                    str(self.root / "replica"),
                    *table_args,
                ],
                self.root / "replica.log",
            ),
            Process(
                "meta",
                [
                    "meta",
                    "--static",
                    "--port",
                    str(self.meta_port),
                    "--replica",
                    self.replica,
                    *table_args,
                ],
                self.root / "meta.log",
            ),
        ]
        for p in self.processes:
            p.start()
        self.wait_healthy()

    def wait_healthy(self, timeout_s: float = 30.0) -> None:
        async def probe() -> str | None:
            client = AsyncClient([self.meta], timeout_s=1.0)
            try:
                table = await client.open_table(self.tables[0].split(":")[0])
                await table.get(b"probe", b"probe")
                return None
            except Exception as e:
                return str(e)
            finally:
                await client.close()

        deadline = time.monotonic() + timeout_s
        last: str | None = "not tried"
        while time.monotonic() < deadline:
            for p in self.processes:
                if not p.alive():
                    raise RuntimeError(f"{p.name} exited:\n{p.log_tail()}")
            last = asyncio.run(probe())
            if last is None:
                return
            time.sleep(0.1)
        logs = "\n".join(f"--- {p.name}\n{p.log_tail()}" for p in self.processes)
        raise RuntimeError(f"cluster not healthy: {last}\n{logs}")

    def process(self, name: str) -> Process:
        return next(p for p in self.processes if p.name == name)

    def stop(self) -> None:
        for p in self.processes:
            p.kill(signal.SIGTERM)


@dataclass
class ZkCluster:
    """ZooKeeper-backed metas and replica servers that take their partitions from them."""

    root: Path
    zookeeper: str  # "host:port" of a running ZooKeeper
    metas: int = 2
    replicas: int = 1
    cluster: str = "test"
    # Extra command line options of every replica server.
    replica_args: list[str] = field(default_factory=list)
    meta_args: list[str] = field(default_factory=list)
    meta_ports: list[int] = field(default_factory=list)
    replica_ports: list[int] = field(default_factory=list)
    processes: dict[str, Process] = field(default_factory=dict)

    @property
    def meta_list(self) -> list[str]:
        return [f"127.0.0.1:{p}" for p in self.meta_ports]

    def _meta_process(self, i: int) -> Process:
        name = f"meta{i + 1}"
        return Process(
            name,
            [
                "meta",
                "--port",
                str(self.meta_ports[i]),
                "--zookeeper",
                self.zookeeper,
                "--cluster",
                self.cluster,
                *self.meta_args,
            ],
            self.root / f"{name}.log",
        )

    def _replica_process(self, i: int) -> Process:
        name = f"replica{i + 1}"
        return Process(
            name,
            [
                "replica",
                "--port",
                str(self.replica_ports[i]),
                "--data-dir",
                str(self.root / name),
                "--meta",
                ",".join(self.meta_list),
                *self.replica_args,
            ],
            self.root / f"{name}.log",
        )

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.meta_ports = [free_port() for _ in range(self.metas)]
        self.replica_ports = [free_port() for _ in range(self.replicas)]
        for i in range(self.metas):
            p = self._meta_process(i)
            self.processes[p.name] = p
            p.start()
        for i in range(self.replicas):
            p = self._replica_process(i)
            self.processes[p.name] = p
            p.start()

    def add_replica(self) -> str:
        """Start one more replica server (it registers with the metas); its name."""
        self.replica_ports.append(free_port())
        self.replicas += 1
        p = self._replica_process(self.replicas - 1)
        self.processes[p.name] = p
        p.start()
        return p.name

    def restart(self, name: str) -> None:
        old = self.processes[name]
        old.kill(signal.SIGKILL)
        new = Process(old.name, old.argv, old.log_path)
        self.processes[name] = new
        new.start()

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        self.processes[name].kill(sig)

    def delete_meta_state(self) -> None:
        """Delete the cluster's root from ZooKeeper, as a lost ensemble would (kill the
        metas first)."""
        zk = KazooClient(hosts=self.zookeeper)
        zk.start()
        try:
            zk.delete(Layout.for_cluster(self.cluster).cluster_root, recursive=True)
        finally:
            zk.stop()
            zk.close()

    def leave_a_recovery_cut_short(self, app: AppState) -> None:
        """Write what a meta that died in the middle of a recovery leaves: the apps root
        locked, and ``app`` (fresh partitions) under it, the other tables missing."""
        store = ZooKeeperStore(ZooKeeperStoreOptions(hosts=self.zookeeper))
        store.start()
        try:
            repo = MetaStateRepository(store, Layout.for_cluster(self.cluster))
            repo.initialize()
            repo.lock_apps()
            repo.create_app(app)
        finally:
            store.close()

    def restart_metas(self, *extra_args: str) -> None:
        """Kill every meta and start them again, with ``extra_args`` from now on."""
        self.meta_args += [a for a in extra_args if a not in self.meta_args]
        for i in range(self.metas):
            self.kill(f"meta{i + 1}")
            p = self._meta_process(i)
            self.processes[p.name] = p
            p.start()

    def replica_address(self, name: str) -> str:
        return f"127.0.0.1:{self.replica_ports[int(name.removeprefix('replica')) - 1]}"

    def logs(self) -> str:
        return "\n".join(f"--- {n}\n{p.log_tail()}" for n, p in self.processes.items())

    def stop(self) -> None:
        for p in self.processes.values():
            p.kill(signal.SIGTERM)


@contextmanager
def zk_cluster_up(
    root: Path,
    zookeeper: str,
    *,
    metas: int,
    replicas: int,
    prefix: str,
    timeout_s: float = 30.0,
    replica_args: list[str] | None = None,
    meta_args: list[str] | None = None,
) -> Iterator[ZkCluster]:
    """A ZkCluster under a fresh cluster name, yielded once every replica server has
    registered with the leader meta; stopped on exit."""
    c = ZkCluster(
        root,
        zookeeper,
        metas=metas,
        replicas=replicas,
        cluster=f"{prefix}-{uuid.uuid4().hex[:8]}",
        replica_args=list(replica_args or []),
        meta_args=list(meta_args or []),
    )
    c.start()
    try:
        with Admin(c.meta_list) as admin:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    if len([n for n, ok in admin.list_nodes() if ok]) == replicas:
                        break
                except (PegasusError, OSError):
                    pass
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"{replicas} replica servers not registered:\n{c.logs()}")
                time.sleep(0.1)
        yield c
    finally:
        c.stop()
