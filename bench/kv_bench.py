"""Get and put: pegasus-log beside etcd, same machine, same run.

    python bench/kv_bench.py [--clients 16] [--seconds 10] [--value-size 100] [--replicas 3]

``--replicas 1`` (default): one replica server beside a single-member etcd.
``--replicas 3``: a table of three replicas on three replica servers (ZooKeeper meta,
PacificA, fsync'd mutation log) beside a three-member etcd.

Starts a pegasus-log replica server (table temp, 8 partitions) with its static meta, and a
1-member etcd (Debian etcd-server). pegasus-log is driven by bench/pegasusload (the Apache
Pegasus Go client) when the Go client module is available, else by bench/pyload.py; etcd
by etcd's own benchmark tool. Prints throughput and p50/p99 side by side with ratios, and
the replica server's peak RSS. Nothing is asserted: these are figures to record in
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from etcd_peer import ensure_installed, etcd_cluster, run_load, versions  # noqa: E402

from tests.cluster import StaticCluster  # noqa: E402


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> tuple[int, int]:
    """(user, system) clock ticks of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]), int(fields[12])


def _children_cpu_ms() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return 1000 * (usage.ru_utime + usage.ru_stime)


def cpu_ms(
    pids: list[int], run: Callable[[], dict[str, Any]]
) -> tuple[dict[str, Any], float, float]:
    """``run()``'s result, the CPU (user + system) ``pids`` spent meanwhile, and the CPU of
    the child processes ``run()`` started and waited for (the load tool), both in ms."""
    before = [sum(cpu_ticks(pid)) for pid in pids]
    children_before = _children_cpu_ms()
    result = run()
    after = [sum(cpu_ticks(pid)) for pid in pids]
    load_tool = _children_cpu_ms() - children_before
    return result, 1000 * (sum(after) - sum(before)) / _TICKS_PER_S, load_tool


def _go_loader(tmp: Path) -> Path | None:
    out = tmp / "pegasusload"
    proc = subprocess.run(
        ["go", "build", "-o", str(out), "."],
        cwd=REPO / "bench" / "pegasusload",
        capture_output=True,
        text=True,
    )
    return out if proc.returncode == 0 else None


def _pegasus_load(
    loader: Path | None, meta: str, op: str, args: argparse.Namespace
) -> dict[str, Any]:
    common = [
        "--meta",
        meta,
        "--op",
        op,
        "--clients",
        str(args.clients),
        "--seconds",
        str(args.seconds),
        "--value-size",
        str(args.value_size),
        "--keys",
        str(args.keys),
    ]
    if loader is not None:
        argv = [
            str(loader),
            *(a.replace("--", "-", 1) if a.startswith("--") else a for a in common),
        ]
    else:
        argv = [sys.executable, str(REPO / "bench" / "pyload.py"), *common]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def _single(
    tmp: Path, loader: Path | None, args: argparse.Namespace
) -> tuple[dict[str, Any], float]:
    cluster = StaticCluster(tmp / "pegasus", tables=["temp:8"])
    cluster.start()
    try:
        replica_pid = cluster.process("replica").proc.pid  # type: ignore[union-attr]
        # put runs first: it writes every key that get then reads.
        ours = {op: _pegasus_load(loader, cluster.meta, op, args) for op in ("put", "get")}
        return ours, _peak_rss_mib(replica_pid)
    finally:
        cluster.stop()


@contextmanager
def replicated_temp(tmp: Path) -> Iterator[Any]:
    """ZooKeeper, 2 metas and 3 replica servers (a ``tests.cluster.ZkCluster``) with table
    temp of 8 partitions x 3 replicas; everything stopped on exit."""
    from pegasus_log.client.sync import Admin
    from pegasus_log.services.zookeeper import ZooKeeperServer
    from tests.cluster import zk_cluster_up

    zk = ZooKeeperServer(tmp / "zookeeper")
    zk.start()
    try:
        with zk_cluster_up(
            tmp / "pegasus", zk.address, metas=2, replicas=3, prefix="bench", timeout_s=60
        ) as cluster:
            with Admin(cluster.meta_list) as admin:
                admin.create_table("temp", partition_count=8, replica_count=3)
            yield cluster
    finally:
        zk.stop()


def _replicated(
    tmp: Path, loader: Path | None, args: argparse.Namespace
) -> tuple[dict[str, Any], float]:
    with replicated_temp(tmp) as cluster:
        metas = ",".join(cluster.meta_list)
        pids = [cluster.processes[f"replica{i + 1}"].proc.pid for i in range(3)]
        put, cpu, load_tool = cpu_ms(pids, lambda: _pegasus_load(loader, metas, "put", args))
        put["cpu_ms_per_put"] = cpu / max(1, put["ops"])
        put["load_tool_ms_per_put"] = load_tool / max(1, put["ops"])
        ours = {"put": put, "get": _pegasus_load(loader, metas, "get", args)}
        peak = max(_peak_rss_mib(cluster.processes[f"replica{i + 1}"].proc.pid) for i in range(3))
        return ours, peak


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--value-size", type=int, default=100)
    p.add_argument("--keys", type=int, default=10000)
    p.add_argument(
        "--replicas",
        type=int,
        default=1,
        choices=[1, 3],
        help="1: one server vs. a 1-member etcd; 3: a 3-replica table on 3 replica "
        "servers (ZooKeeper meta) vs. a 3-member etcd",
    )
    args = p.parse_args()

    ensure_installed()
    tmp = Path(tempfile.mkdtemp(prefix="kv-bench-"))
    loader = _go_loader(tmp)
    driver = "Go client (bench/pegasusload)" if loader else "Python client (bench/pyload.py)"
    rows: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
    if args.replicas == 1:
        ours, peak = _single(tmp, loader, args)
    else:
        ours, peak = _replicated(tmp, loader, args)
    with etcd_cluster(members=args.replicas, base_dir=str(tmp)) as etcd:
        put, cpu, load_tool = cpu_ms(
            [proc.pid for proc in etcd.processes],
            lambda: run_load(
                etcd,
                op="put",
                clients=args.clients,
                value_size=args.value_size,
                duration_s=args.seconds,
            ),
        )
        # run_load runs a warm-up first: its puts count too
        put["cpu_ms_per_put"] = cpu / max(1, put["ops"] + put["warmup_ops"])
        put["load_tool_ms_per_put"] = load_tool / max(1, put["ops"] + put["warmup_ops"])
        theirs = {
            "put": put,
            "get": run_load(
                etcd,
                op="get_serializable",
                clients=args.clients,
                value_size=args.value_size,
                duration_s=args.seconds,
            ),
        }
    for op in ("put", "get"):
        rows.append((op, ours[op], theirs[op]))
    shutil.rmtree(tmp, ignore_errors=True)

    v = versions()
    print(f"pegasus-log driven by the {driver}; etcd {v['etcd']} driven by {v['load_tool']}")
    print(
        f"{args.clients} clients, {args.value_size}-byte values, ~{args.seconds:.0f} s per run,"
        f" {os.cpu_count()} cores"
    )
    print(
        f"{'op':<5} {'pegasus-log ops/s':>17} {'etcd ops/s':>11} {'ratio':>6}"
        f" {'p50 ms (ours/etcd)':>19} {'p99 ms (ours/etcd)':>19}"
    )
    for op, a, b in rows:
        ratio = a["ops_per_s"] / b["ops_per_s"] if b["ops_per_s"] else float("nan")
        print(
            f"{op:<5} {a['ops_per_s']:>17.0f} {b['ops_per_s']:>11.0f} {ratio:>6.2f}"
            f" {a['p50_ms']:>9.2f}/{b['p50_ms']:<9.2f} {a['p99_ms']:>9.2f}/{b['p99_ms']:<9.2f}"
        )
    if args.replicas == 1:
        print(
            "etcd get = serializable range; etcd put fsyncs its WAL (group commit);"
            " pegasus-log put (static single node) = RocksDB WAL write without fsync"
        )
    else:
        print(
            "etcd get = serializable range; both sides fsync every write on every member"
            " (group commit); pegasus-log reads go to the primary"
        )
    if "cpu_ms_per_put" in ours["put"]:
        print(
            f"server CPU per put (user + system): pegasus-log {ours['put']['cpu_ms_per_put']:.3f}"
            f" ms over its 3 replica servers, etcd {theirs['put']['cpu_ms_per_put']:.3f} ms"
            f" over its {args.replicas} member(s)"
        )
        print(
            f"load tool CPU per put: pegasus-log's {ours['put']['load_tool_ms_per_put']:.3f} ms,"
            f" etcd's {theirs['put']['load_tool_ms_per_put']:.3f} ms (they share the cores)"
        )
    print(f"replica server peak RSS: {peak:.0f} MiB (table temp, 8 partitions)")
    errors = sum(r[1].get("errors", 0) for r in rows)
    if errors:
        print(f"pegasus-log load saw {errors} errors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
