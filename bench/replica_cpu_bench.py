"""CPU the replica servers spend per replicated put.

    python bench/replica_cpu_bench.py [--clients 16,64] [--rounds 3] [--seconds 8]
                                      [--partitions 8] [--event-loop uvloop|asyncio]

Starts ZooKeeper, 2 metas and 3 replica servers, creates table ``temp`` (8 partitions, or
``--partitions``, x 3 replicas), then for each round and each client count drives puts
with the Go client (bench/pegasusload; bench/pyload.py without Go) and prints ops/s, p50,
the user and system CPU of the three replica server processes divided by the puts
served, and the replica-to-replica messages per put (two prepares and two acks per
mutation, so this tells how many writes a mutation carries). CPU per put is the figure
to compare between two versions: unlike ops/s, it moves little with other load on the
machine (it still grows somewhat on a busy machine: compare back-to-back runs).
Machine busy % is the share of all cores busy during the run, from /proc/stat. On cpu %
and waiting % are, per replica server (mean of the three), the share of the load run's
wall time its threads spent on a CPU and runnable but waiting for one (the kernel's
schedstat): with three servers and the load tool on two cores, a message that wakes a
server often finds both cores taken.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from kv_bench import (  # noqa: E402
    _go_loader,
    _pegasus_load,
    cpu_ticks,
    peer_messages,
    replicated_temp,
)

from pegasus_log.transport.loops import EVENT_LOOPS  # noqa: E402
from tests.cluster import ZkCluster  # noqa: E402

_TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def _machine_ticks() -> tuple[int, int]:
    """(all, idle + iowait) clock ticks of the machine so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(values), values[3] + values[4]


def sched_ns(pid: int) -> tuple[int, int]:
    """(nanoseconds on a CPU, nanoseconds runnable but waiting for one) of a process's
    threads so far, from /proc/<pid>/task/*/schedstat."""
    on_cpu = waiting = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "schedstat").read_text().split()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        on_cpu += int(fields[0])
        waiting += int(fields[1])
    return on_cpu, waiting


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", default="16,64", help="comma-separated client counts")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--value-size", type=int, default=100)
    p.add_argument("--keys", type=int, default=100000)
    p.add_argument("--partitions", type=int, default=8, help="partitions of table temp")
    p.add_argument(
        "--event-loop", choices=EVENT_LOOPS, default="uvloop", help="the replica servers' loop"
    )
    args = p.parse_args()
    counts = [int(c) for c in args.clients.split(",")]

    tmp = Path(tempfile.mkdtemp(prefix="replica-cpu-bench-"))
    loader = _go_loader(tmp)
    try:
        with replicated_temp(
            tmp, partitions=args.partitions, event_loop=args.event_loop
        ) as cluster:
            _measure(cluster, loader, counts, args)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _measure(
    cluster: ZkCluster, loader: Path | None, counts: list[int], args: argparse.Namespace
) -> None:
    metas = ",".join(cluster.meta_list)
    pids = [cluster.processes[f"replica{i + 1}"].proc.pid for i in range(3)]  # type: ignore[union-attr]
    addresses = [cluster.replica_address(f"replica{i + 1}") for i in range(3)]
    driver = "Go client" if loader else "Python client"
    print(f"puts by the {driver}, {args.value_size}-byte values, {os.cpu_count()} cores")
    print(
        f"{'round':>5} {'clients':>7} {'ops/s':>7} {'p50 ms':>7}"
        f" {'cpu ms/put':>10} {'user':>6} {'sys':>6} {'busy %':>6} {'peer msgs/put':>13}"
        f" {'on cpu %':>8} {'waiting %':>9}"
    )
    for round_no in range(1, args.rounds + 1):
        for clients in counts:
            load = argparse.Namespace(
                clients=clients,
                seconds=args.seconds,
                value_size=args.value_size,
                keys=args.keys,
            )
            messages_before = peer_messages(addresses)
            before = [cpu_ticks(pid) for pid in pids]
            sched_before = [sched_ns(pid) for pid in pids]
            machine_before = _machine_ticks()
            started = time.monotonic()
            result = _pegasus_load(loader, metas, "put", load)
            wall = time.monotonic() - started
            after = [cpu_ticks(pid) for pid in pids]
            sched = [
                (a[0] - b[0], a[1] - b[1])
                for a, b in zip([sched_ns(pid) for pid in pids], sched_before, strict=True)
            ]
            machine_after = _machine_ticks()
            messages = peer_messages(addresses) - messages_before
            puts = max(1, int(result["ops"]))
            user = sum(a[0] - b[0] for a, b in zip(after, before, strict=True))
            system = sum(a[1] - b[1] for a, b in zip(after, before, strict=True))
            per_put = 1000 / _TICKS_PER_S / puts
            total = machine_after[0] - machine_before[0]
            idle = machine_after[1] - machine_before[1]
            busy = 100 * (1 - idle / total) if total else float("nan")
            print(
                f"{round_no:>5} {clients:>7} {result['ops_per_s']:>7.0f}"
                f" {result['p50_ms']:>7.2f} {(user + system) * per_put:>10.3f}"
                f" {user * per_put:>6.3f} {system * per_put:>6.3f} {busy:>6.0f}"
                f" {messages / puts:>13.2f}"
                f" {100 * sum(c for c, _ in sched) / len(sched) / 1e9 / wall:>8.0f}"
                f" {100 * sum(w for _, w in sched) / len(sched) / 1e9 / wall:>9.0f}",
                flush=True,
            )


if __name__ == "__main__":
    sys.exit(main())
