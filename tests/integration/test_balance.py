"""Balancing with real processes: a fourth replica server joins three that hold a table
of 8 partitions x 3 replicas; at meta level lively the balancer copies secondaries to it
(ADD_SECONDARY_FOR_LB, then REMOVE of the copied one) and swaps primaries onto it, until
every server holds 6 replicas and 2 primaries (within one). Meanwhile writes go on, no
partition ever has fewer than 3 members, and what was written before stays readable,
also from partitions whose primary is now the new server (it learned them)."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pegasus_log.client.errors import PegasusError
from pegasus_log.client.sync import Admin, Client
from pegasus_log.services.zookeeper import ZooKeeperServer
from tests.cluster import ZkCluster, zk_cluster_up
from tests.integration.test_meta import eventually

pytestmark = pytest.mark.integration
PARTITIONS = 8
REPLICAS = 3
# Six copies and a few primary swaps, each a learning round of a small partition; two
# copies run at once (MetaOptions.balance_copies_max).
BALANCE_WAIT_S = 120.0


@pytest.fixture(scope="module")
def cluster(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    root: Path = tmp_path_factory.mktemp("balance")
    with zk_cluster_up(root, zookeeper.address, metas=1, replicas=3, prefix="bal") as c:
        yield c


class Watcher(threading.Thread):
    """Polls the meta's routing: the smallest group any partition had, and whether a read
    of the routing ever failed outright."""

    def __init__(self, client: Client, table: str) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.table = table
        self.smallest = REPLICAS
        self.polls = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                route = self.client.route(self.table)
            except PegasusError:
                continue
            sizes = [len(route.members(i)) for i in range(route.partition_count)]
            self.smallest = min(self.smallest, *sizes)
            self.polls += 1
            time.sleep(0.05)


class Writer(threading.Thread):
    def __init__(self, client: Client, table: str) -> None:
        super().__init__(daemon=True)
        self.table = client.open_table(table)
        self.acked: list[tuple[bytes, float]] = []
        self.failed = 0
        self.stop = threading.Event()

    def run(self) -> None:
        i = 0
        while not self.stop.is_set() and i < 200_000:
            key = b"during-%d" % i
            i += 1
            try:
                self.table.set(key, b"s", key)
            except PegasusError:
                self.failed += 1
                time.sleep(0.05)
                continue
            self.acked.append((key, time.monotonic()))
            time.sleep(0.005)


_CONFIG_LINE = re.compile(
    r"partition (\d+)\.(\d+) -> ballot (\d+) primary (\S+) secondaries \[(.*?)\]"
)


def _groups_never_shrank(meta_log: str, app_id: int) -> tuple[int, int]:
    """Every configuration the meta wrote for the table, from its log: once a partition
    had its full group, none had fewer members. Returns how many writes had one member
    more than the replica count (a copy's learner upgraded) and how many were REMOVEs."""
    whole: set[int] = set()
    grown = removed = 0
    for line in meta_log.splitlines():
        found = _CONFIG_LINE.search(line)
        if found is None or int(found.group(1)) != app_id:
            continue
        index = int(found.group(2))
        secondaries = [s for s in found.group(5).split(",") if s.strip()]
        size = (found.group(4) != "None") + len(secondaries)
        if index in whole:
            assert size >= REPLICAS, f"partition {index} fell to {size} members: {line}"
        if size >= REPLICAS:
            whole.add(index)
        grown += size == REPLICAS + 1
        removed += "(CT_REMOVE from" in line
    return grown, removed


def _counts(client: Client, table: str, nodes: list[str]) -> tuple[list[int], list[int], int]:
    """Replicas per server, primaries per server, and the largest group."""
    route = client.route(table)
    replicas = [0] * len(nodes)
    primaries = [0] * len(nodes)
    largest = 0
    for i in range(route.partition_count):
        group = [str(m) for m in route.members(i)]
        largest = max(largest, len(group))
        for k, node in enumerate(nodes):
            replicas[k] += node in group
            primaries[k] += node == str(route.primaries[i])
    return replicas, primaries, largest


def test_a_new_server_gets_its_share_of_replicas_and_primaries(cluster: ZkCluster) -> None:
    name = "bal_" + uuid.uuid4().hex[:8]
    with Admin(cluster.meta_list) as admin, Client(cluster.meta_list, timeout_s=3.0) as client:
        admin.create_table(name, partition_count=PARTITIONS, replica_count=REPLICAS)
        eventually(
            "every partition has three members",
            lambda: all(len(client.route(name).members(i)) == REPLICAS for i in range(PARTITIONS)),
        )
        table = client.open_table(name)
        before = [b"before-%d" % i for i in range(300)]
        for k in before:
            table.set(k, b"s", k)

        watcher = Watcher(client, name)
        watcher.start()
        writer = Writer(client, name)
        writer.start()
        new = cluster.add_replica()
        eventually(
            "four replica servers registered",
            lambda: len([n for n, ok in admin.list_nodes() if ok]) == 4,
        )
        nodes = [cluster.replica_address(f"replica{i + 1}") for i in range(4)]
        assert nodes[3] == cluster.replica_address(new)
        replicas, _primaries, _largest = _counts(client, name, nodes)
        assert replicas == [PARTITIONS] * 3 + [0]  # steady: nothing moves

        def even() -> bool:
            replicas, primaries, largest = _counts(client, name, nodes)
            return (
                max(replicas) - min(replicas) <= 1
                and max(primaries) - min(primaries) <= 1
                and largest == REPLICAS
            )

        started = time.monotonic()
        admin.set_meta_level("lively")
        try:
            eventually("replicas and primaries even out", even, timeout_s=BALANCE_WAIT_S)
        finally:
            admin.set_meta_level("steady")
        took = time.monotonic() - started
        replicas, primaries, _largest = _counts(client, name, nodes)
        time.sleep(0.5)
        writer.stop.set()
        writer.join(timeout=10)
        watcher.stop.set()
        watcher.join(timeout=10)
        print(
            f"balanced in {took:.1f} s: replicas {replicas}, primaries {primaries}; "
            f"{len(writer.acked)} writes acknowledged, {writer.failed} failed"
        )

        assert watcher.polls > 10
        assert watcher.smallest >= REPLICAS, "a partition fell below its replica count"
        app_id = client.route(name).app_id
        log_text = cluster.processes["meta1"].log_path.read_text()
        grown, removed = _groups_never_shrank(log_text, app_id)
        # The new server got its 6 replicas by copies: learner upgraded, source removed.
        assert grown == removed >= PARTITIONS * REPLICAS // 4
        assert replicas[3] == PARTITIONS * REPLICAS // 4 and primaries[3] >= 1
        # Writes went on while replicas moved, and every acknowledged one is there.
        assert any(started < t < started + took for _k, t in writer.acked)
        assert len(writer.acked) > 10 * max(writer.failed, 1)
        for k in before:
            assert table.get(k, b"s") == k
        for k, _t in writer.acked:
            assert table.get(k, b"s") == k
        table.set(b"after", b"s", b"ok")
        assert table.get(b"after", b"s") == b"ok"
        info = admin.cluster_info()
        assert json.loads(info["balance_operation_count"])["total"] == 0
