"""``pegasus-log onebox``: a whole cluster on loopback, as upstream's ``run.sh start_onebox``.

For now a onebox is one static meta server (port 34601) and one replica server (port
34801) hosting table ``temp``; the ZooKeeper-backed metas and three replicas come with the
meta-server and replication work. Each node has a folder under the onebox directory with
its pid file, log and data.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from pegasus_log.shell.main import DEFAULT_META_PORT, DEFAULT_REPLICA_PORT

# Seconds a node gets to come up, and to go down after SIGTERM before SIGKILL.
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    port: int
    argv: tuple[str, ...]


def _nodes(root: Path, partitions: int) -> list[Node]:
    table = f"temp:{partitions}"
    replica = Node(
        "replica1",
        DEFAULT_REPLICA_PORT,
        (
            "replica",
            "--port",
            str(DEFAULT_REPLICA_PORT),
            "--data-dir",
            str(root / "replica1" / "data"),
            "--table",
            table,
        ),
    )
    meta = Node(
        "meta1",
        DEFAULT_META_PORT,
        (
            "meta",
            "--static",
            "--port",
            str(DEFAULT_META_PORT),
            "--replica",
            f"127.0.0.1:{DEFAULT_REPLICA_PORT}",
            "--table",
            table,
        ),
    )
    return [replica, meta]


def _pid_of(root: Path, name: str) -> int | None:
    try:
        pid = int((root / name / "pid").read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except OSError:
        return None
    return pid


def _rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _spawn(root: Path, node: Node) -> int:
    folder = root / node.name
    folder.mkdir(parents=True, exist_ok=True)
    log = open(folder / "log", "ab")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen(
        [sys.executable, "-m", "pegasus_log.shell.main", *node.argv],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    log.close()
    (folder / "pid").write_text(str(proc.pid))
    return proc.pid


async def _healthy(timeout_s: float) -> str | None:
    """None when table temp answers through the meta, else the last error."""
    from pegasus_log.client.aio import AsyncClient

    deadline = time.monotonic() + timeout_s
    last = "not tried"
    while time.monotonic() < deadline:
        client = AsyncClient([f"127.0.0.1:{DEFAULT_META_PORT}"], timeout_s=1.0)
        try:
            table = await client.open_table("temp")
            await table.get(b"onebox", b"health")
            return None
        except Exception as e:
            last = str(e)
        finally:
            await client.close()
        await asyncio.sleep(0.2)
    return last


def start(root: Path, partitions: int) -> int:
    root.mkdir(parents=True, exist_ok=True)
    for node in _nodes(root, partitions):
        pid = _pid_of(root, node.name)
        if pid is not None:
            print(f"{node.name} already running (pid {pid})")
            continue
        pid = _spawn(root, node)
        print(f"started {node.name} on 127.0.0.1:{node.port} (pid {pid})")
    problem = asyncio.run(_healthy(_START_TIMEOUT_S))
    if problem is not None:
        print(f"onebox did not become healthy: {problem}; see {root}/*/log", file=sys.stderr)
        return 1
    print(
        f"onebox is up. meta server: 127.0.0.1:{DEFAULT_META_PORT}, table temp "
        f"({partitions} partitions)."
    )
    print("connect with the Go client or pypegasus3 using meta 127.0.0.1:34601.")
    return 0


def _stop_node(root: Path, name: str) -> bool:
    pid = _pid_of(root, name)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    while time.monotonic() < deadline and _pid_of(root, name) is not None:
        time.sleep(0.05)
    if _pid_of(root, name) is not None:
        os.kill(pid, signal.SIGKILL)
    (root / name / "pid").unlink(missing_ok=True)
    return True


def stop(root: Path) -> int:
    for node in reversed(_nodes(root, 8)):
        if _stop_node(root, node.name):
            print(f"stopped {node.name}")
    return 0


def list_nodes(root: Path) -> int:
    print(f"{'node':<10} {'port':>6} {'pid':>8} {'rss MiB':>8}")
    total = 0.0
    for node in _nodes(root, 8):
        pid = _pid_of(root, node.name)
        rss = _rss_mib(pid) if pid else 0.0
        total += rss
        print(f"{node.name:<10} {node.port:>6} {pid or '-':>8} {rss:>8.1f}")
    print(f"{'total':<10} {'':>6} {'':>8} {total:>8.1f}")
    return 0


def run_onebox(args: argparse.Namespace) -> int:
    root = Path(args.data_dir).resolve()
    if args.action == "start":
        return start(root, args.partitions)
    if args.action == "stop":
        return stop(root)
    if args.action == "list":
        return list_nodes(root)
    if args.action == "clean":
        stop(root)
        shutil.rmtree(root, ignore_errors=True)
        print(f"removed {root}")
        return 0
    names = {n.name: n for n in _nodes(root, args.partitions)}
    if args.node not in names:
        print(f"name a node: one of {', '.join(names)}", file=sys.stderr)
        return 2
    if args.action == "kill":
        pid = _pid_of(root, args.node)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        return 0
    _stop_node(root, args.node)
    _spawn(root, names[args.node])
    return 0
