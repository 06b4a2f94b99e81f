"""Mutation log garbage collection and checkpoint learning with real processes: three
replica servers with small log segments and aggressive local checkpoints and GC, so that
a primary's log stops reaching back to what a dead replica has."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pegasus_log.client.sync import Admin, Client, Table
from pegasus_log.services.zookeeper import ZooKeeperServer
from pegasus_log.storage.engine import PartitionStore
from pegasus_log.storage.schema import encode_key
from tests.cluster import ZkCluster, zk_cluster_up
from tests.integration.helpers import (
    eventually,
    eventually_done,
    fully_replicated,
    metrics,
    server_of,
)

pytestmark = pytest.mark.integration

# 2 MiB segments (the smallest: two 1 MiB blocks), a local checkpoint and a GC round
# every second, no reserve: the log is collected as soon as storage is durable.
REPLICA_ARGS = [
    "--log-segment-mb",
    "2",
    "--checkpoint-interval-s",
    "1",
    "--log-gc-interval-s",
    "1",
    "--log-reserve-mb",
    "0",
]
VALUE_BYTES = 40 << 10
# Writes after the secondary died: ~8 MiB of log (four segments) and more mutations than
# a primary's prepare list keeps (110), so neither the cache nor the log can serve it.
WRITES_AFTER_KILL = 200
WAIT_S = 60.0


@pytest.fixture(scope="module")
def cluster(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    with zk_cluster_up(
        tmp_path_factory.mktemp("ckptlearn"),
        zookeeper.address,
        metas=2,
        replicas=3,
        prefix="ckpt",
        replica_args=REPLICA_ARGS,
    ) as c:
        yield c


def _value(i: int) -> bytes:
    return (b"%08d" % i) * (VALUE_BYTES // 8)


def _write(table: Table, i: int) -> None:
    """Write key i until acknowledged: a write refused while a primary moves (the lively
    meta's balancer) or a member is replaced is simply sent again."""
    eventually_done(f"k{i} acknowledged", lambda: table.set(b"k%d" % i, b"s", _value(i)), 30.0)


def _read(table: Table, i: int) -> bytes | None:
    """Key i's value, asking again while the partition is between primaries."""
    return eventually(f"k{i} read", lambda: (table.get(b"k%d" % i, b"s"),), 30.0)[0]


def _new_table(cluster: ZkCluster) -> tuple[str, int]:
    name = "ck_" + uuid.uuid4().hex[:8]
    with Admin(cluster.meta_list) as admin:
        app_id = admin.create_table(name, partition_count=1, replica_count=3)
    with Client(cluster.meta_list) as client:
        eventually("three members", lambda: fully_replicated(client, name), WAIT_S)
    return name, app_id


def _segments(cluster: ZkCluster, server: str) -> list[Path]:
    return sorted((cluster.root / server / "plog").glob("log.*"))


def _first_segment_index(cluster: ZkCluster, server: str) -> int:
    return min(int(p.name.split(".")[1]) for p in _segments(cluster, server))


def _log_bytes(cluster: ZkCluster, server: str) -> int:
    return sum(p.stat().st_size for p in _segments(cluster, server))


def _read_store(cluster: ZkCluster, server: str, app_id: int, keys: list[int]) -> list[int]:
    """The keys whose value is missing or wrong in the server's RocksDB (server stopped)."""
    store = PartitionStore(
        cluster.root / server / f"{app_id}.0.pegasus",
        clock=time.time,
        cluster_id=1,
        partition_index=0,
        partition_count=1,
    )
    try:
        return [i for i in keys if store.get(encode_key(b"k%d" % i, b"s")).value != _value(i)]
    finally:
        store.close()


def test_a_replica_behind_the_collected_log_learns_from_a_checkpoint(cluster: ZkCluster) -> None:
    name, app_id = _new_table(cluster)
    with Admin(cluster.meta_list) as admin, Client(cluster.meta_list, timeout_s=5.0) as client:
        primary_address = str(client.route(name).primaries[0])
        primary = server_of(cluster, primary_address)
        victim = next(f"replica{i + 1}" for i in range(3) if f"replica{i + 1}" != primary)
        victim_address = cluster.replica_address(victim)
        table = client.open_table(name)
        acked: list[int] = []
        for i in range(10):
            _write(table, i)
            acked.append(i)
        cluster.kill(victim)
        # every record the dead replica holds is in this segment of the primary or before
        current_at_kill = max(int(p.name.split(".")[1]) for p in _segments(cluster, primary))
        # writes stall until the meta drops the dead secondary, then go on
        eventually_done("writes continue", lambda: table.set(b"k10", b"s", _value(10)), WAIT_S)
        acked.append(10)
        for i in range(11, 11 + WRITES_AFTER_KILL):
            _write(table, i)
            acked.append(i)
        eventually(
            "the primary's log no longer holds the segments the dead replica needs",
            lambda: _first_segment_index(cluster, primary) > current_at_kill,
            WAIT_S,
        )
        cluster.restart(victim)
        eventually("the replica is back", lambda: (victim_address, True) in admin.list_nodes())

        def rejoined() -> bool:
            members = [str(x) for x in client.route(name).members(0)]
            return victim_address in members and len(members) == 3

        eventually(
            "it learned and rejoined as a secondary",
            rejoined,
            WAIT_S,
        )
        m = metrics(victim_address)
        print({k: v for k, v in m.items() if k.startswith("learn")})
        assert m["learn_lt_app_responses"] >= 1, "it did not learn from a checkpoint"
        assert m["learn_copy_files"] >= 1 and m["learn_copy_file_bytes"] > 0
        assert m["learn_successful_count"] >= 1
        shelf = cluster.root / primary / "learn_checkpoints"
        eventually(
            "the primary deleted the checkpoint the learner released",
            lambda: not any(shelf.iterdir()),
        )
        # a few writes through it as a secondary, then a group check (1 s) for the commit
        # point to reach it, and it holds every acknowledged write in its own storage
        for i in range(500, 520):
            _write(table, i)
            acked.append(i)
        time.sleep(2.5)
        cluster.kill(victim, signal.SIGTERM)
        missing = _read_store(cluster, victim, app_id, acked)
        assert missing == [], f"{len(missing)} acknowledged writes missing on the learner"
        cluster.restart(victim)
        eventually(
            "it rejoins again",
            rejoined,
            WAIT_S,
        )


def test_the_log_shrinks_and_every_write_survives_a_restart_of_all_servers(
    cluster: ZkCluster,
) -> None:
    name, _ = _new_table(cluster)
    servers = [f"replica{i + 1}" for i in range(3)]
    with Client(cluster.meta_list, timeout_s=5.0) as client:
        table = client.open_table(name)
        peak = dict.fromkeys(servers, 0)
        for i in range(WRITES_AFTER_KILL):
            _write(table, i)
            if i % 20 == 0:
                for s in servers:
                    peak[s] = max(peak[s], _log_bytes(cluster, s))
        written = WRITES_AFTER_KILL * VALUE_BYTES
        eventually(
            "every server's log shrank well below what was written",
            lambda: all(_log_bytes(cluster, s) < written // 2 for s in servers),
            WAIT_S,
        )
        print({s: (peak[s], _log_bytes(cluster, s)) for s in servers})
        assert all(_first_segment_index(cluster, s) > 1 for s in servers)
    for s in servers:
        cluster.kill(s)
    for s in servers:
        cluster.restart(s)
    with Client(cluster.meta_list, timeout_s=5.0) as client:
        table = client.open_table(name)
        eventually("the table serves again", lambda: table.get(b"k0", b"s") == _value(0), 120.0)
        lost = [i for i in range(WRITES_AFTER_KILL) if _read(table, i) != _value(i)]
        assert lost == [], f"{len(lost)} acknowledged writes lost"
        eventually("three members again", lambda: fully_replicated(client, name), WAIT_S)


def test_plog_gc_disabled_for_a_replica_keeps_its_records(cluster: ZkCluster) -> None:
    """Upstream's replica.disable-plog-gc on one server: its log keeps every segment
    since the table's first write while the other servers' logs move on; enabled again,
    it catches up."""
    name, app_id = _new_table(cluster)
    kept, other = "replica1", "replica2"
    kept_address = cluster.replica_address(kept)
    with Admin(cluster.meta_list) as admin, Client(cluster.meta_list, timeout_s=5.0) as client:
        out = admin.remote_command(kept_address, "replica.disable-plog-gc", [f"{app_id}.0"])
        lines = out.splitlines()
        assert lines[0] == "1 processed, 0 not found", out
        assert lines[1].startswith(f"    {app_id}.0@{kept_address}@") and lines[1].endswith(
            " : disabled"
        ), out
        table = client.open_table(name)
        _write(table, 0)
        # the segment each server's log appended the table's first write to (a segment
        # is started by the append that does not fit the one before)
        first = {
            s: max(int(p.name.split(".")[1]) for p in _segments(cluster, s)) for s in (kept, other)
        }
        for i in range(1, WRITES_AFTER_KILL):
            _write(table, i)
        eventually(
            "the other server's log moved past the segment the table began in",
            lambda: _first_segment_index(cluster, other) > first[other],
            WAIT_S,
        )
        time.sleep(3.0)  # more GC rounds, every second
        assert _first_segment_index(cluster, kept) <= first[kept]
        status = admin.remote_command(
            kept_address, "replica.query-plog-gc-enabled-status", [str(app_id)]
        )
        assert status.endswith(" : disabled"), status
        enabled = admin.remote_command(kept_address, "replica.enable-plog-gc", [f"{app_id}.0"])
        assert enabled.endswith(" : enabled"), enabled
        eventually(
            "the kept log moved on once enabled",
            lambda: _first_segment_index(cluster, kept) > first[kept],
            WAIT_S,
        )
