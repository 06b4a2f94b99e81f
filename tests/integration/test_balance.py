"""Balancing with real processes.

- A fourth replica server joins three that hold a table of 8 partitions x 3 replicas; at
  meta level lively the balancer copies primaries and secondaries to it
  (ADD_SECONDARY_FOR_LB, then REMOVE of the copied one) and swaps primaries onto it, until
  every server holds 6 replicas and 2 primaries (within one). Meanwhile writes go on, no
  partition ever has fewer than 3 members, and what was written before stays readable,
  also from partitions whose primary is now the new server (it learned them).
- A third replica server joins two that hold a table of 8 partitions x 2 replicas, four
  primaries each. It is a member of nothing, so no primary can move to it: primaries reach
  it only by copy_primary (learner added, primary role handed over, old primary
  removed). Replicas and primaries even out, no group ever has fewer than 2 members, and
  the replicas removed from the first two servers are closed, their data moved aside as
  garbage (``*.gar``) and then deleted (small delays configured for the test)."""

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
from pegasus_log.replica.garbage import COLLECTED_FILE, read_collected
from pegasus_log.services.zookeeper import ZooKeeperServer
from pegasus_log.shell.shell.table_stats import parse_scrape
from tests.cluster import ZkCluster, zk_cluster_up
from tests.integration.helpers import eventually, http_get, metrics

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

    def __init__(self, client: Client, table: str, replicas: int = REPLICAS) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.table = table
        self.smallest = replicas
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


def _groups_never_shrank(meta_log: str, app_id: int, replicas: int = REPLICAS) -> tuple[int, int]:
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
            assert size >= replicas, f"partition {index} fell to {size} members: {line}"
        if size >= replicas:
            whole.add(index)
        grown += size == replicas + 1
        removed += "(CT_REMOVE from" in line
    return grown, removed


def _handed_over_then_removed(meta_log: str, app_id: int) -> dict[int, str]:
    """Partitions whose primary role the meta handed over (copy_primary) and whose new
    primary then had the old one removed: index -> the new primary."""
    handed: dict[int, str] = {}  # index -> the primary it was handed to
    done: dict[int, str] = {}
    for line in meta_log.splitlines():
        found = _CONFIG_LINE.search(line)
        if found is None or int(found.group(1)) != app_id:
            continue
        index, primary = int(found.group(2)), found.group(4)
        secondaries = [s.strip(" '") for s in found.group(5).split(",") if s.strip()]
        if "(balancer copy_primary hand-over)" in line:
            handed[index] = primary
        elif index in handed and "(CT_REMOVE from" in line and primary == handed[index]:
            removed = line.rsplit("(CT_REMOVE from ", 1)[1].rstrip(")")
            if removed not in secondaries:
                done[index] = primary
    return done


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
        # The new server got its 6 replicas by copies: learner upgraded, source removed. It
        # holds no primary at first and is a member of nothing, so its first primaries
        # come by copy_primary, whose hand-over is one more write of the grown group.
        handed = _handed_over_then_removed(log_text, app_id)
        assert handed and all(primary == nodes[3] for primary in handed.values()), handed
        assert grown == removed + len(handed)
        assert removed >= PARTITIONS * REPLICAS // 4
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


class GarbageWatcher(threading.Thread):
    """Records every ``*.gar`` directory seen under the given data directories."""

    def __init__(self, dirs: list[Path]) -> None:
        super().__init__(daemon=True)
        self.dirs = dirs
        self.seen: set[str] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for d in self.dirs:
                self.seen.update(f"{d.name}/{p.name}" for p in d.glob("*.gar"))
            time.sleep(0.05)


def _partitions_served(address: str) -> set[tuple[int, int]]:
    """The partitions a replica server's /metrics counts served puts of."""
    status, page = http_get(address, "/metrics")
    assert status == 200, (address, status)
    return set(parse_scrape(page, at_s=0.0).samples.get("replica_put_requests_total", {}))


def test_primaries_copied_where_none_can_move_and_removed_replicas_collected(
    zookeeper: ZooKeeperServer, tmp_path: Path
) -> None:
    replicas_per_partition = 2
    gc_args = ["--gc-close-delay-s", "1", "--gc-remove-delay-s", "3"]
    with (
        zk_cluster_up(
            tmp_path,
            zookeeper.address,
            metas=1,
            replicas=2,
            prefix="balcp",
            replica_args=gc_args,
        ) as cluster,
        Admin(cluster.meta_list) as admin,
        Client(cluster.meta_list, timeout_s=3.0) as client,
    ):
        name = "balcp_" + uuid.uuid4().hex[:8]
        admin.create_table(name, partition_count=PARTITIONS, replica_count=replicas_per_partition)
        eventually(
            "every partition has two members",
            lambda: all(
                len(client.route(name).members(i)) == replicas_per_partition
                for i in range(PARTITIONS)
            ),
        )
        table = client.open_table(name)
        before = [b"before-%d" % i for i in range(200)]
        for key in before:
            table.set(key, b"s", key)
        app_id = client.route(name).app_id

        new = cluster.add_replica()
        eventually(
            "three replica servers registered",
            lambda: len([n for n, ok in admin.list_nodes() if ok]) == 3,
        )
        nodes = [cluster.replica_address(f"replica{i + 1}") for i in range(3)]
        assert nodes[2] == cluster.replica_address(new)
        replicas, primaries, _largest = _counts(client, name, nodes)
        assert replicas == [PARTITIONS, PARTITIONS, 0]
        assert primaries[2] == 0 and max(primaries) - min(primaries) > 1

        served_before = [_partitions_served(nodes[k]) for k in (0, 1)]
        watcher = Watcher(client, name, replicas=replicas_per_partition)
        watcher.start()
        garbage = GarbageWatcher([tmp_path / "replica1", tmp_path / "replica2"])
        garbage.start()

        def even() -> bool:
            replicas, primaries, largest = _counts(client, name, nodes)
            return (
                max(replicas) - min(replicas) <= 1
                and max(primaries) - min(primaries) <= 1
                and largest == replicas_per_partition
            )

        admin.set_meta_level("lively")
        try:
            eventually("replicas and primaries even out", even, timeout_s=BALANCE_WAIT_S)
        finally:
            admin.set_meta_level("steady")
        watcher.stop.set()
        watcher.join(timeout=10)
        replicas, primaries, _largest = _counts(client, name, nodes)
        print(f"balanced: replicas {replicas}, primaries {primaries}")
        assert watcher.polls > 10
        assert watcher.smallest >= replicas_per_partition, "a group fell below 2 members"

        meta_log = cluster.processes["meta1"].log_path.read_text()
        grown, removed = _groups_never_shrank(meta_log, app_id, replicas=replicas_per_partition)
        # The new server's first primaries came by copy_primary: handed over, then the old
        # primary removed by the new one.
        assert "balancer: copy_primary" in meta_log
        handed = _handed_over_then_removed(meta_log, app_id)
        assert handed and all(primary == nodes[2] for primary in handed.values()), handed
        # Each copy grew its group once (the learner upgraded) and removed one member; a
        # copy_primary's hand-over is one more write of the grown group.
        assert grown == removed + len(handed) and removed >= len(handed)
        assert primaries[2] >= 2 and replicas[2] >= 5

        for key in before:
            assert table.get(key, b"s") == key
        table.set(b"after", b"s", b"ok")
        assert table.get(b"after", b"s") == b"ok"

        # The first two servers' removed replicas: closed, moved aside, then deleted.
        route = client.route(name)
        lost = {
            k: [i for i in range(PARTITIONS) if nodes[k] not in [str(m) for m in route.members(i)]]
            for k in (0, 1)
        }
        assert sum(len(v) for v in lost.values()) == 2 * PARTITIONS - replicas[0] - replicas[1]

        def collected() -> bool:
            for k, indexes in lost.items():
                data = tmp_path / f"replica{k + 1}"
                if any((data / f"{app_id}.{i}.pegasus").exists() for i in indexes):
                    return False
                if list(data.glob("*.gar")):
                    return False
                gauges = metrics(nodes[k])
                if gauges.get("total_replicas") != PARTITIONS - len(indexes):
                    return False
                if gauges.get("removed_garbage_replicas", 0) < len(indexes):
                    return False
            return True

        eventually("removed replicas collected", collected, timeout_s=60.0)
        for k, indexes in lost.items():
            # remembered on disk, so a restarted server still lets the log drop their records
            listed = read_collected(tmp_path / f"replica{k + 1}" / COLLECTED_FILE)
            assert sorted(listed) == [(app_id, i) for i in sorted(indexes)], listed
            assert all(decree > 0 for decree in listed.values()), listed
        garbage.stop.set()
        garbage.join(timeout=10)
        # A collected replica's request counters left its server's /metrics; the handed
        # over primaries had served puts there, so some were on the page before.
        gone = {(k, (app_id, i)) for k, indexes in lost.items() for i in indexes}
        assert {(k, g) for k in (0, 1) for g in served_before[k]} & gone
        for k in (0, 1):
            assert not {(k, g) for g in _partitions_served(nodes[k])} & gone
        for k, indexes in lost.items():
            gauges = metrics(nodes[k])
            assert gauges["moved_garbage_replicas"] == len(indexes)
            assert gauges["inactive_replicas"] == 0
            for i in indexes:
                assert any(
                    s.startswith(f"replica{k + 1}/{app_id}.{i}.pegasus.") for s in garbage.seen
                ), (k, i, sorted(garbage.seen))
            # what the server still holds is untouched
            kept = [i for i in range(PARTITIONS) if i not in indexes]
            data = tmp_path / f"replica{k + 1}"
            assert all((data / f"{app_id}.{i}.pegasus").is_dir() for i in kept)
