"""``pegasus-log onebox``: a whole cluster on loopback, as upstream's ``run.sh start_onebox``.

ZooKeeper (port 22181, as upstream's onebox), meta servers from port 34601 and replica
servers from port 34801, so the official clients' default configuration reaches it; then
table ``temp`` (8 partitions). Each node has a folder under the onebox directory with its
pid file, log and data.
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
from pathlib import Path

from pegasus_log.frozen import frozen
from pegasus_log.services.zookeeper import ZooKeeperServer, ZooKeeperServerError
from pegasus_log.shell.main import DEFAULT_META_PORT, DEFAULT_REPLICA_PORT

ZOOKEEPER_PORT = 22181
CLUSTER_NAME = "onebox"
# Seconds the cluster gets to come up, and a node to go down after SIGTERM before SIGKILL.
_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 10.0
# Table temp has three replicas per partition, as upstream's onebox (fewer when the
# onebox has fewer replica servers).
TEMP_REPLICA_COUNT = 3


@frozen
class Node:
    name: str
    port: int
    argv: tuple[str, ...]


@frozen
class Layout:
    root: Path
    metas: int
    replicas: int

    @property
    def zookeeper(self) -> str:
        return f"127.0.0.1:{ZOOKEEPER_PORT}"

    @property
    def meta_list(self) -> str:
        return ",".join(f"127.0.0.1:{DEFAULT_META_PORT + i}" for i in range(self.metas))

    def nodes(self) -> list[Node]:
        metas = [
            Node(
                f"meta{i + 1}",
                DEFAULT_META_PORT + i,
                (
                    "meta",
                    "--port",
                    str(DEFAULT_META_PORT + i),
                    "--zookeeper",
                    self.zookeeper,
                    "--cluster",
                    CLUSTER_NAME,
                ),
            )
            for i in range(self.metas)
        ]
        replicas = [
            Node(
                f"replica{i + 1}",
                DEFAULT_REPLICA_PORT + i,
                (
                    "replica",
                    "--port",
                    str(DEFAULT_REPLICA_PORT + i),
                    "--data-dir",
                    str(self.root / f"replica{i + 1}" / "data"),
                    "--meta",
                    self.meta_list,
                ),
            )
            for i in range(self.replicas)
        ]
        return metas + replicas

    def zookeeper_server(self) -> ZooKeeperServer:
        return ZooKeeperServer(self.root / "zookeeper", port=ZOOKEEPER_PORT)


def _layout_of(root: Path, metas: int | None = None, replicas: int | None = None) -> Layout:
    """The layout given on the command line, else the one recorded at start."""
    saved = root / "layout"
    if metas is None or replicas is None:
        try:
            m, r = saved.read_text().split()
            return Layout(root, int(m), int(r))
        except (OSError, ValueError):
            return Layout(root, metas or 2, replicas or 3)
    return Layout(root, metas, replicas)


def _pid_of(root: Path, name: str) -> int | None:
    try:
        pid = int((root / name / "pid").read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
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


async def _wait_leading(meta: str, timeout_s: float) -> None:
    from pegasus_log.client.admin import AsyncAdmin

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        admin = AsyncAdmin([meta], timeout_s=1.0)
        try:
            await admin.cluster_info()
            return
        except Exception:
            await asyncio.sleep(0.1)
        finally:
            await admin.close()


async def _create_temp(layout: Layout, partitions: int, timeout_s: float) -> str | None:
    """None once every replica server registered and table temp serves, else the error."""
    from pegasus_log.client.admin import AsyncAdmin
    from pegasus_log.client.aio import AsyncClient

    metas = layout.meta_list.split(",")
    deadline = time.monotonic() + timeout_s
    last = "not tried"
    while time.monotonic() < deadline:
        admin = AsyncAdmin(metas, timeout_s=2.0)
        client = AsyncClient(metas, timeout_s=2.0)
        try:
            alive = [n for n, ok in await admin.list_nodes() if ok]
            if len(alive) < layout.replicas:
                last = f"{len(alive)} of {layout.replicas} replica servers registered"
            else:
                await admin.create_table(
                    "temp",
                    partition_count=partitions,
                    replica_count=min(TEMP_REPLICA_COUNT, layout.replicas),
                    success_if_exist=True,
                )
                table = await client.open_table("temp")
                await table.get(b"onebox", b"health")
                route = await client.route("temp")
                want = min(TEMP_REPLICA_COUNT, layout.replicas)
                short = [i for i in range(route.partition_count) if len(route.members(i)) < want]
                if not short:
                    return None
                last = f"partitions {short} of temp still forming their groups"
        except Exception as e:  # any failure means "not yet"
            last = str(e)
        finally:
            await admin.close()
            await client.close()
        await asyncio.sleep(0.2)
    return last


def start(layout: Layout, partitions: int) -> int:
    root = layout.root
    root.mkdir(parents=True, exist_ok=True)
    (root / "layout").write_text(f"{layout.metas} {layout.replicas}")
    began = time.monotonic()
    try:
        layout.zookeeper_server().start()
    except ZooKeeperServerError as e:
        print(f"ZooKeeper did not start: {e}", file=sys.stderr)
        return 1
    print(f"zookeeper  on {layout.zookeeper}")
    for node in layout.nodes():
        pid = _pid_of(root, node.name)
        if pid is not None:
            print(f"{node.name:<10} already running (pid {pid})")
            continue
        pid = _spawn(root, node)
        print(f"{node.name:<10} on 127.0.0.1:{node.port} (pid {pid})")
        if node.name == "meta1":
            # meta1 leads, as in upstream's onebox: clients configured with the default
            # meta address alone (pypegasus3 cannot follow a forward) reach the leader.
            asyncio.run(_wait_leading(f"127.0.0.1:{node.port}", _START_TIMEOUT_S))
    problem = asyncio.run(_create_temp(layout, partitions, _START_TIMEOUT_S))
    if problem is not None:
        print(f"onebox did not become healthy: {problem}; see {root}/*/log", file=sys.stderr)
        return 1
    print(
        f"onebox is up in {time.monotonic() - began:.1f} s: table temp ({partitions} "
        f"partitions). Meta servers: {layout.meta_list}"
    )
    print(f"shell: pegasus-log shell --meta {layout.meta_list}")
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


def stop(layout: Layout) -> int:
    for node in reversed(layout.nodes()):
        if _stop_node(layout.root, node.name):
            print(f"stopped {node.name}")
    zk = layout.zookeeper_server()
    if zk.pid() is not None:
        zk.stop()
        print("stopped zookeeper")
    return 0


def list_nodes(layout: Layout) -> int:
    print(f"{'node':<10} {'port':>6} {'pid':>8} {'rss MiB':>8}")
    zk = layout.zookeeper_server()
    zk_pid = zk.pid()
    rows = [("zookeeper", ZOOKEEPER_PORT, zk_pid)]
    rows += [(n.name, n.port, _pid_of(layout.root, n.name)) for n in layout.nodes()]
    total = 0.0
    for name, port, pid in rows:
        rss = _rss_mib(pid) if pid else 0.0
        total += rss
        print(f"{name:<10} {port:>6} {pid or '-':>8} {rss:>8.1f}")
    print(f"{'total':<10} {'':>6} {'':>8} {total:>8.1f}")
    return 0


def run_onebox(args: argparse.Namespace) -> int:
    root = Path(args.data_dir).resolve()
    if args.action == "start":
        return start(_layout_of(root, args.metas, args.replicas), args.partitions)
    layout = _layout_of(root)
    if args.action == "stop":
        return stop(layout)
    if args.action == "list":
        return list_nodes(layout)
    if args.action == "clean":
        stop(layout)
        shutil.rmtree(root, ignore_errors=True)
        print(f"removed {root}")
        return 0
    names = {n.name: n for n in layout.nodes()}
    if args.node not in names:
        print(f"name a node: one of {', '.join(names)}", file=sys.stderr)
        return 2
    if args.action == "kill":
        pid = _pid_of(root, args.node)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            print(f"killed {args.node} (pid {pid})")
        return 0
    _stop_node(root, args.node)
    pid = _spawn(root, names[args.node])
    print(f"restarted {args.node} (pid {pid})")
    return 0
