"""Linearizability under faults: concurrent clients do get / set / check_and_set on a
few keys of a 3-replica table while the primary's server is killed with SIGKILL and
restarted, then another primary is paused (SIGSTOP) past its lease and resumed. The
recorded history, closed by one read per key, goes through the porcupine checker
(tools/lincheck): it must be linearizable, which also means no acknowledged write was
lost (the closing reads must be explained by the acknowledged writes)."""

from __future__ import annotations

import asyncio
import random
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pegasus_log.client.sync import Client
from pegasus_log.lincheck.checker import Verdict, check_history
from pegasus_log.lincheck.history import Operation, Outcome, summarize, write_history
from pegasus_log.lincheck.workload import WorkloadOptions, run_workload
from pegasus_log.services.zookeeper import ZooKeeperServer
from pegasus_log.storage.keyhash import partition_hash
from tests.cluster import ZkCluster, zk_cluster_up
from tests.integration.helpers import (
    REPLICATED_PARTITIONS,
    eventually,
    member_everywhere,
    new_replicated_table,
    server_of,
)
from tests.unit.lincheck_binary import lincheck_binary

pytestmark = pytest.mark.integration

SEED = 20261126
WARMUP_S = 3.0
# Load kept on between a fault's effect and the next step.
SETTLE_S = 2.0


@pytest.fixture(scope="module")
def cluster(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    with zk_cluster_up(
        tmp_path_factory.mktemp("linearizability"),
        zookeeper.address,
        metas=2,
        replicas=3,
        prefix="lin",
    ) as c:
        yield c


def _one_key_per_partition() -> tuple[bytes, ...]:
    keys: dict[int, bytes] = {}
    for i in range(1000):
        k = b"lin-%d" % i
        keys.setdefault(partition_hash(k, b"s") % REPLICATED_PARTITIONS, k)
        if len(keys) == REPLICATED_PARTITIONS:
            break
    return tuple(keys[i] for i in range(REPLICATED_PARTITIONS))


@dataclass(frozen=True)
class Fault:
    what: str
    server: str
    at_ns: int


class Workload(threading.Thread):
    """The recorded workload on its own event loop, until ``stop`` is set."""

    def __init__(self, metas: list[str], table: str, options: WorkloadOptions) -> None:
        super().__init__(daemon=True)
        self.metas, self.table, self.options = metas, table, options
        self.stop = threading.Event()
        self.ops: list[Operation] | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.ops = asyncio.run(
                run_workload(
                    self.metas,
                    self.table,
                    options=self.options,
                    rng=random.Random(SEED),
                    should_stop=self.stop.is_set,
                )
            )
        except BaseException as e:  # handed to the test thread
            self.error = e


def _primary_of(client: Client, table: str, index: int) -> str:
    return str(client.route(table).primaries[index])


def _inject_faults(cluster: ZkCluster, client: Client, table: str) -> list[Fault]:
    faults = []
    # SIGKILL of the server holding partition 0's primary, then its restart.
    old = _primary_of(client, table, 0)
    victim = server_of(cluster, old)
    cluster.kill(victim)
    faults.append(Fault("kill -9", victim, time.monotonic_ns()))
    eventually(
        "a new primary after the kill",
        lambda: (
            client.route(table).primaries[0].is_invalid is False
            and _primary_of(client, table, 0) != old
        ),
    )
    time.sleep(SETTLE_S)
    cluster.restart(victim)
    faults.append(Fault("restart", victim, time.monotonic_ns()))
    eventually(
        "the restarted server rejoins every group",
        lambda: member_everywhere(client, table, old),
    )
    # SIGSTOP of partition 0's (new) primary until the meta replaces it, then SIGCONT.
    old = _primary_of(client, table, 0)
    victim = server_of(cluster, old)
    cluster.kill(victim, signal.SIGSTOP)
    faults.append(Fault("SIGSTOP", victim, time.monotonic_ns()))
    try:
        eventually(
            "a new primary after the pause",
            lambda: (
                client.route(table).primaries[0].is_invalid is False
                and _primary_of(client, table, 0) != old
            ),
        )
        time.sleep(SETTLE_S / 2)
    finally:
        cluster.kill(victim, signal.SIGCONT)
    faults.append(Fault("SIGCONT", victim, time.monotonic_ns()))
    time.sleep(SETTLE_S)
    return faults


def test_history_under_kill_and_pause_is_linearizable(cluster: ZkCluster, tmp_path: Path) -> None:
    binary = lincheck_binary()
    table = new_replicated_table(cluster)
    options = WorkloadOptions(clients=6, keys=_one_key_per_partition())
    workload = Workload(cluster.meta_list, table, options)
    started = time.monotonic()
    workload.start()
    try:
        time.sleep(WARMUP_S)
        with Client(cluster.meta_list, timeout_s=3.0) as client:
            faults = _inject_faults(cluster, client, table)
    finally:
        workload.stop.set()
        workload.join(60)
    assert not workload.is_alive(), "the workload did not stop"
    if workload.error is not None:
        raise workload.error
    ops = workload.ops
    assert ops is not None
    history = tmp_path / "history.jsonl"
    write_history(history, ops)
    summary = summarize(ops)
    print(
        f"\nworkload {time.monotonic() - started:.1f} s: {summary.ops} operations "
        f"{summary.by_kind}, outcomes {summary.by_outcome}, "
        f"{summary.acknowledged_writes} acknowledged writes; history {history}"
    )
    origin = min(o.invoke_ns for o in ops)
    for f in faults:
        print(f"fault at {(f.at_ns - origin) / 1e6:.0f} ms: {f.what} {f.server}")

    # The run must have exercised what it claims: load on every key, acknowledged
    # writes before the first fault and after the last one.
    ok = [o for o in ops if o.outcome == Outcome.OK]
    assert {o.key for o in ok} == {k.decode() for k in options.keys}
    acked_returns = [o.return_ns for o in ok if o.acknowledged_write and o.return_ns is not None]
    acked = [o for o in ok if o.acknowledged_write and o.return_ns is not None]
    assert any(t < faults[0].at_ns for t in acked_returns), "no write before the faults"
    assert any(o.invoke_ns > faults[-1].at_ns for o in acked), "no write after the faults"
    # The closing reads (the extra client, after all others stopped) pin down each key's
    # final value: the checker then also rules out a lost acknowledged write.
    closing = {o.key for o in ok if o.client == options.clients}
    assert closing == {k.decode() for k in options.keys}

    check_started = time.monotonic()
    report = check_history(history, binary=binary)
    print(report.output)
    print(f"check took {time.monotonic() - check_started:.2f} s (checker and its start)")
    if report.verdict != Verdict.LINEARIZABLE:
        html = tmp_path / "history.html"
        check_history(history, binary=binary, html=html)
        pytest.fail(
            f"{report.verdict.name}: history {history}, visualization {html}\n{report.output}",
            pytrace=False,
        )
