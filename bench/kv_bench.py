"""Get and put: pegasus-log beside etcd, same machine, same run.

    python bench/kv_bench.py [--clients 16[,64,...]] [--seconds 10] [--value-size 100]
                             [--replicas 3] [--rounds 3] [--partitions 8]
                             [--event-loop uvloop|asyncio] [--etcd-conns 1]
                             [--etcd-target-leader]

``--replicas 1`` (default): one replica server beside a single-member etcd.
``--replicas 3``: a table of three replicas on three replica servers (ZooKeeper meta,
PacificA, fsync'd mutation log) beside a three-member etcd.

Starts pegasus-log (table temp, 8 partitions unless ``--partitions`` says otherwise) and
etcd (Debian etcd-server) and keeps both up while they take turns: each round runs put
then get on one side, then on the other, the first side alternating from round to round
(``--rounds N``; more than one round also prints the median ratio). ``--clients`` may list
several concurrencies: each runs its rounds in turn on the same two clusters, and the run
ends with each side's saturated throughput, its best median over the concurrencies (a
side's capacity, at whichever concurrency it peaks), and their ratio. pegasus-log is driven
by bench/pegasusload (the Apache Pegasus Go client) when the Go client module is
available, else by bench/pyload.py; etcd by etcd's own benchmark tool. Prints throughput,
p50/p99 and the servers' CPU per put side by side with ratios, the load tools' CPU per
put, and the replica servers' peak RSS. Nothing is asserted: these are figures to record in
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
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from etcd_peer import ensure_installed, etcd_cluster, run_load, versions  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from pegasus_log.replica.runtime import PEER  # noqa: E402
from pegasus_log.transport.loops import EVENT_LOOPS  # noqa: E402
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
    """bench/pegasusload built into ``tmp`` (against PEGASUS_GO_CLIENT_DIR's go-client
    checkout when that is set), or None when it cannot be built."""
    from tests.conformance.go_referee import with_local_go_client

    out = tmp / "pegasusload"
    proc = subprocess.run(
        ["go", "build", "-o", str(out), "."],
        cwd=with_local_go_client(REPO / "bench" / "pegasusload", tmp),
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


@contextmanager
def _single(tmp: Path) -> Iterator[tuple[str, list[int], list[int], list[str]]]:
    """One static replica server with table temp (8 partitions): (meta, [the replica
    server's pid], every process's pid, [] (no replica-to-replica traffic))."""
    cluster = StaticCluster(tmp / "pegasus", tables=["temp:8"])
    cluster.start()
    try:
        every = [p.proc.pid for p in cluster.processes if p.proc is not None]
        yield cluster.meta, [cluster.process("replica").proc.pid], every, []  # type: ignore[union-attr]
    finally:
        cluster.stop()


@contextmanager
def replicated_temp(
    tmp: Path,
    zk_pids: list[int] | None = None,
    *,
    partitions: int = 8,
    event_loop: str = "uvloop",
) -> Iterator[Any]:
    """ZooKeeper, 2 metas and 3 replica servers (a ``tests.cluster.ZkCluster``) with table
    temp of ``partitions`` (8, as upstream's onebox makes it) x 3 replicas, the replica
    servers on ``event_loop``; everything stopped on exit. ZooKeeper's pid is appended to
    ``zk_pids`` when given."""
    from pegasus_log.client.sync import Admin
    from pegasus_log.services.zookeeper import ZooKeeperServer
    from tests.cluster import zk_cluster_up

    zk = ZooKeeperServer(tmp / "zookeeper")
    zk.start()
    zk_pid = zk.pid()
    if zk_pids is not None and zk_pid is not None:
        zk_pids.append(zk_pid)
    try:
        with zk_cluster_up(
            tmp / "pegasus",
            zk.address,
            metas=2,
            replicas=3,
            prefix="bench",
            timeout_s=60,
            replica_args=["--event-loop", event_loop],
        ) as cluster:
            with Admin(cluster.meta_list) as admin:
                admin.create_table("temp", partition_count=partitions, replica_count=3)
            yield cluster
    finally:
        zk.stop()


@contextmanager
def _replicated(
    tmp: Path, partitions: int, event_loop: str
) -> Iterator[tuple[str, list[int], list[int], list[str]]]:
    """``replicated_temp``: (its metas, the three replica servers' pids, every process's
    pid: ZooKeeper, metas and replica servers, the replica servers' addresses)."""
    every: list[int] = []
    with replicated_temp(tmp, every, partitions=partitions, event_loop=event_loop) as cluster:
        pids = [cluster.processes[f"replica{i + 1}"].proc.pid for i in range(3)]
        every += [p.proc.pid for p in cluster.processes.values() if p.proc is not None]
        addresses = [cluster.replica_address(f"replica{i + 1}") for i in range(3)]
        yield ",".join(cluster.meta_list), pids, every, addresses


def _with_cpu(pids: list[int], run: Callable[[], dict[str, Any]]) -> Any:
    """``run()``'s result with the servers' and the load tool's CPU per operation (an etcd
    run's warm-up operations, ``warmup_ops``, counted in)."""
    result, servers, load_tool = cpu_ms(pids, run)
    ops = max(1, result["ops"] + result.get("warmup_ops", 0))
    result["cpu_ms_per_put"] = servers / ops
    result["load_tool_ms_per_put"] = load_tool / ops
    return result


def peer_messages(addresses: list[str]) -> int:
    """Replica-to-replica messages (prepares, acks, group checks) the servers received so
    far, from their /metrics (``rpc_requests_total`` of ``RPC_PEGASUS_LOG_PEER``)."""
    total = 0
    for address in addresses:
        with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as resp:
            text = resp.read().decode()
        for family in text_string_to_metric_families(text):
            total += sum(
                int(sample.value)
                for sample in family.samples
                if sample.name == "rpc_requests_total" and sample.labels.get("rpc") == PEER.name
            )
    return total


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


Rounds = list[dict[str, tuple[dict[str, Any], dict[str, Any]]]]
"""Per round, per op: (pegasus-log's result, etcd's result)."""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--clients",
        default="16",
        help="client concurrency, or several separated by commas (run one after the other)",
    )
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
    p.add_argument(
        "--partitions",
        type=int,
        default=8,
        help="with --replicas 3: partitions of table temp (8, as upstream's onebox)",
    )
    p.add_argument(
        "--event-loop",
        choices=EVENT_LOOPS,
        default="uvloop",
        help="with --replicas 3: the replica servers' event loop",
    )
    p.add_argument(
        "--etcd-conns",
        type=int,
        default=1,
        help="gRPC connections etcd's load tool spreads its clients over (default 1)",
    )
    p.add_argument(
        "--etcd-target-leader",
        action="store_true",
        help="etcd's load tool sends every request to the leader (as our client sends"
        " each write to its partition's primary) instead of spreading over the members",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="rounds of put and get on each side, taking turns; more than one also"
        " prints the median ratio",
    )
    args = p.parse_args()

    ensure_installed()
    tmp = Path(tempfile.mkdtemp(prefix="kv-bench-"))
    loader = _go_loader(tmp)
    driver = "Go client (bench/pegasusload)" if loader else "Python client (bench/pyload.py)"
    # Both sides stay up for the whole run and take turns, the first turn alternating
    # from round to round, so that a slow phase of the machine falls on both sides.
    ours_cluster = (
        _single(tmp) if args.replicas == 1 else _replicated(tmp, args.partitions, args.event_loop)
    )
    concurrencies = [int(c) for c in str(args.clients).split(",")]
    by_clients: dict[int, Rounds] = {}
    # CPU the side at rest spent while the other side ran, and those runs' wall time (ms)
    idle = {"ours": [0.0, 0.0], "etcd": [0.0, 0.0]}
    with (
        ours_cluster as (metas, pids, every, addresses),
        etcd_cluster(members=args.replicas, base_dir=str(tmp)) as etcd,
    ):
        etcd_pids = [proc.pid for proc in etcd.processes]

        def at_rest(
            side: str, side_pids: list[int], run: Callable[[], dict[str, Any]]
        ) -> dict[str, Any]:
            started = time.monotonic()
            result, cpu, _ = cpu_ms(side_pids, run)
            idle[side][0] += cpu
            idle[side][1] += 1000 * (time.monotonic() - started)
            return result

        def ours(op: str) -> dict[str, Any]:
            run = partial(_pegasus_load, loader, metas, op, args)
            if op != "put":
                return at_rest("etcd", etcd_pids, run)
            before = peer_messages(addresses)
            result: dict[str, Any] = at_rest("etcd", etcd_pids, partial(_with_cpu, pids, run))
            messages = peer_messages(addresses) - before
            if messages:
                # two prepares and two acks per mutation (and a few group checks)
                result["writes_per_mutation"] = 4 * result["ops"] / messages
            return result

        def theirs(op: str) -> dict[str, Any]:
            run = partial(
                run_load,
                etcd,
                op="put" if op == "put" else "get_serializable",
                clients=args.clients,
                value_size=args.value_size,
                duration_s=args.seconds,
                conns=args.etcd_conns,
                target_leader=args.etcd_target_leader,
            )
            # run_load runs a warm-up first: its puts count too (in "warmup_ops")
            return at_rest(
                "ours", every, partial(_with_cpu, etcd_pids, run) if op == "put" else run
            )

        for clients in concurrencies:
            args.clients = clients
            rounds: Rounds = []
            for round_no in range(args.rounds):
                results: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
                # put first: it writes every key that get then reads
                for op in ("put", "get"):
                    if round_no % 2 == 0:
                        a = ours(op)
                        b = theirs(op)
                    else:
                        b = theirs(op)
                        a = ours(op)
                    results[op] = (a, b)
                rounds.append(results)
            by_clients[clients] = rounds
        peak = max(_peak_rss_mib(pid) for pid in pids)
    shutil.rmtree(tmp, ignore_errors=True)
    for clients, rounds in by_clients.items():
        args.clients = clients
        _report(args, driver, rounds, peak)
        print()
    if len(by_clients) > 1:
        _saturated(by_clients)
    print(
        "CPU of the side at rest while the other ran (share of one core): pegasus-log"
        f" {100 * idle['ours'][0] / max(1.0, idle['ours'][1]):.1f}% (ZooKeeper, metas,"
        f" replica servers), etcd {100 * idle['etcd'][0] / max(1.0, idle['etcd'][1]):.1f}%"
    )
    return 0


def _saturated(by_clients: dict[int, Rounds]) -> None:
    """Each side's best median throughput over the concurrencies run, per op."""
    print("saturated throughput (each side's best median ops/s over the concurrencies run):")
    for op in ("put", "get"):
        ours = {c: _median([r[op][0]["ops_per_s"] for r in rs]) for c, rs in by_clients.items()}
        etcd = {c: _median([r[op][1]["ops_per_s"] for r in rs]) for c, rs in by_clients.items()}
        best_ours, best_etcd = max(ours, key=ours.__getitem__), max(etcd, key=etcd.__getitem__)
        line = ", ".join(f"{c}: {ours[c]:.0f}/{etcd[c]:.0f}" for c in by_clients)
        print(
            f"  {op}: pegasus-log {ours[best_ours]:.0f} (at {best_ours} clients), etcd"
            f" {etcd[best_etcd]:.0f} (at {best_etcd} clients), ratio"
            f" {ours[best_ours] / etcd[best_etcd]:.2f}; medians by clients, ours/etcd: {line}"
        )


def _report(
    args: argparse.Namespace,
    driver: str,
    rounds: Rounds,
    peak: float,
) -> None:
    v = versions()
    print(f"pegasus-log driven by the {driver}; etcd {v['etcd']} driven by {v['load_tool']}")
    print(
        f"{args.clients} clients, {args.value_size}-byte values, ~{args.seconds:.0f} s per run,"
        f" {os.cpu_count()} cores, {len(rounds)} round(s), the sides taking turns; etcd's"
        f" tool on {args.etcd_conns} connection(s)"
        + (", every request to the leader" if args.etcd_target_leader else "")
    )
    print(
        f"{'round':>5} {'op':<5} {'pegasus-log ops/s':>17} {'etcd ops/s':>11} {'ratio':>6}"
        f" {'p50 ms (ours/etcd)':>19} {'p99 ms (ours/etcd)':>19} {'CPU/put ms (ours/etcd)':>23}"
    )
    ratios: dict[str, list[float]] = {"put": [], "get": []}
    for round_no, results in enumerate(rounds, start=1):
        for op, (a, b) in results.items():
            ratio = a["ops_per_s"] / b["ops_per_s"] if b["ops_per_s"] else float("nan")
            ratios[op].append(ratio)
            cpu = (
                f"{a['cpu_ms_per_put']:.3f}/{b['cpu_ms_per_put']:.3f}"
                if "cpu_ms_per_put" in a
                else ""
            )
            print(
                f"{round_no:>5} {op:<5} {a['ops_per_s']:>17.0f} {b['ops_per_s']:>11.0f}"
                f" {ratio:>6.2f} {a['p50_ms']:>9.2f}/{b['p50_ms']:<9.2f}"
                f" {a['p99_ms']:>9.2f}/{b['p99_ms']:<9.2f} {cpu:>23}"
            )
    if len(rounds) > 1:
        print(f"median ratio: put {_median(ratios['put']):.2f}, get {_median(ratios['get']):.2f}")
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
    servers = "its replica server" if args.replicas == 1 else "its 3 replica servers"
    puts = [results["put"] for results in rounds]
    print(
        "server CPU per put (user + system), median: pegasus-log"
        f" {_median([a['cpu_ms_per_put'] for a, _ in puts]):.3f} ms over {servers}, etcd"
        f" {_median([b['cpu_ms_per_put'] for _, b in puts]):.3f} ms over its"
        f" {args.replicas} member(s)"
    )
    print(
        "load tool CPU per put, median: pegasus-log's"
        f" {_median([a['load_tool_ms_per_put'] for a, _ in puts]):.3f} ms, etcd's"
        f" {_median([b['load_tool_ms_per_put'] for _, b in puts]):.3f} ms (they share the cores)"
    )
    per_mutation = [a["writes_per_mutation"] for a, _ in puts if "writes_per_mutation" in a]
    if per_mutation:
        print(
            f"pegasus-log writes per mutation, median: {_median(per_mutation):.2f} (four peer"
            " messages per mutation, from the replica servers' /metrics)"
        )
    parts = 8 if args.replicas == 1 else args.partitions
    print(f"replica server peak RSS: {peak:.0f} MiB (table temp, {parts} partitions)")
    errors = sum(a.get("errors", 0) for results in rounds for a, _ in results.values())
    if errors:
        print(f"pegasus-log load saw {errors} errors")


if __name__ == "__main__":
    sys.exit(main())
