"""Manual compaction on a real cluster (ZooKeeper, a meta, three replica servers):
RPC_CM_START_MANUAL_COMPACT writes the table's envs, every replica compacts its RocksDB
and drops its expired records, the meta's progress reaches 100 from the replicas' config
syncs, each replica server's ``replica.query-compact`` remote command reports it, and a
restarted server does not compact again (the finish time is in its store).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from pegasus_log.client.errors import PegasusError
from pegasus_log.client.sync import Admin, Client
from pegasus_log.replica.store_dirs import PartitionDirs, latest_checkpoint_decree
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.frame import read_result
from pegasus_log.services.zookeeper import ZooKeeperServer
from pegasus_log.shell.shell.table_stats import parse_scrape
from pegasus_log.storage.keyhash import partition_hash
from pegasus_log.storage.schema import encode_key
from tests.cluster import ZkCluster, zk_cluster_up
from tests.integration.helpers import (
    eventually,
    fully_replicated,
    http_get,
    keys_of_partition,
    metrics,
    raw_reply,
    raw_request,
)

pytestmark = pytest.mark.integration
PARTITIONS = 4
KEPT = 120
EXPIRING = 80
# Replica servers sync with the meta every few seconds; a liveness bound, not a claim.
WAIT_S = 60.0


@pytest.fixture(scope="module")
def cluster(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    root: Path = tmp_path_factory.mktemp("manual-compaction")
    with zk_cluster_up(root, zookeeper.address, metas=1, replicas=3, prefix="mcomp") as c:
        yield c


def _keys(address: str, app_id: int) -> dict[int, float]:
    """Partition index -> RocksDB's estimated keys of the replica ``address`` holds."""
    status, page = http_get(address, "/metrics")
    assert status == 200
    samples = parse_scrape(page, at_s=0.0).samples.get("replica_rdb_estimated_keys", {})
    return {index: value for (table, index), value in samples.items() if table == app_id}


def test_every_replica_compacts_once_and_drops_expired_records(cluster: ZkCluster) -> None:
    servers = [cluster.replica_address(f"replica{i}") for i in (1, 2, 3)]
    with Admin(cluster.meta_list) as admin, Client(cluster.meta_list) as client:
        admin.create_table("compacted", partition_count=PARTITIONS, replica_count=3)
        eventually("fully replicated", partial(fully_replicated, client, "compacted", 3))
        app_id = client.route("compacted").app_id
        with pytest.raises(PegasusError) as nothing:
            admin.query_manual_compact("compacted")
        assert nothing.value.code.name == "ERR_INVALID_STATE"
        table = client.open_table("compacted")
        for i in range(KEPT):
            table.set(b"kept-%d" % i, b"s", b"v")
        for i in range(EXPIRING):
            table.set(b"gone-%d" % i, b"s", b"v", ttl_seconds=1)
        time.sleep(2.0)  # the TTL passes: invisible now, still in RocksDB
        assert table.get(b"gone-0", b"s") is None
        before = sum(sum(_keys(s, app_id).values()) for s in servers)
        assert before == 3 * (KEPT + EXPIRING), before

        admin.start_manual_compact("compacted", bottommost=True)
        assert eventually(
            "every replica finished",
            lambda: admin.query_manual_compact("compacted") == 100,
            WAIT_S,
        )
        for s in servers:
            assert metrics(s)["manual_compact_finished_count"] == PARTITIONS, s
        # upstream's per-replica remote command, as its manual compaction script reads it
        out = admin.remote_command(servers[0], "replica.query-compact", [str(app_id)])
        lines = out.splitlines()
        assert lines[0] == f"{PARTITIONS} processed, 0 not found", out
        for index, line in enumerate(lines[1:]):
            head, _, state = line.strip().partition(" : ")
            assert head.startswith(f"{app_id}.{index}@{servers[0]}@"), line
            fields = json.loads(state)
            assert fields["recent_enqueue_at"] == fields["recent_start_at"] == "-", line
            assert fields["last_finish"] != "-" and int(fields["last_used_ms"]) > 0, line
        envs = admin.remote_command(servers[0], "replica.query-app-envs", [f"{app_id}.0"])
        assert "manual_compact.once.bottommost_level_compaction=force" in envs, envs

        # each replica dropped the expired records; the kept ones read back
        after = sum(sum(_keys(s, app_id).values()) for s in servers)
        assert after == 3 * KEPT, after
        assert all(table.get(b"kept-%d" % i, b"s") == b"v" for i in range(KEPT))

        # upstream's script then checkpoints the compacted stores: a checkpoint at once,
        # though the next periodic one is 100 s away
        dirs = [PartitionDirs(cluster.root / "replica1", app_id, i) for i in range(PARTITIONS)]
        durable = [latest_checkpoint_decree(d) for d in dirs]
        for i in range(KEPT, KEPT + 40):
            table.set(b"kept-%d" % i, b"s", b"v")  # every partition applies more
        out = admin.remote_command(servers[0], "replica.trigger-checkpoint", [str(app_id)])
        assert out.startswith(f"{PARTITIONS} processed, 0 not found\n"), out
        assert out.count(" : triggered") == PARTITIONS, out
        eventually(
            "every partition checkpointed past its last",
            lambda: all(
                latest_checkpoint_decree(d) > b for d, b in zip(dirs, durable, strict=True)
            ),
            WAIT_S,
        )

        # restarted, a server finds the finish time in its stores: no second compaction
        cluster.restart("replica2")
        eventually("fully replicated again", partial(fully_replicated, client, "compacted", 3))
        time.sleep(3.0)  # config syncs with the envs still set
        assert metrics(servers[1])["manual_compact_finished_count"] == 0
        assert metrics(servers[1])["rdb_manual_compact_running_tasks"] == 0
        # it still reports the compaction done (its finish is after the trigger), and the
        # table's progress stays whole
        assert eventually(
            "progress still 100",
            lambda: admin.query_manual_compact("compacted") == 100,
            WAIT_S,
        )


def test_refusals_of_a_missing_and_a_disabled_table(cluster: ZkCluster) -> None:
    with Admin(cluster.meta_list) as admin:
        with pytest.raises(PegasusError) as missing:
            admin.start_manual_compact("no_such_table")
        assert missing.value.code.name == "ERR_APP_NOT_EXIST"
        admin.create_table("uncompacted", partition_count=2, replica_count=3)
        admin.set_app_envs("uncompacted", {"manual_compact.disabled": "true"})
        with pytest.raises(PegasusError) as disabled:
            admin.start_manual_compact("uncompacted")
        assert disabled.value.code.name == "ERR_OPERATION_DISABLED"
        with pytest.raises(PegasusError) as invalid:
            admin.start_manual_compact("no_such_table", target_level=-2)
        assert invalid.value.code.name == "ERR_APP_NOT_EXIST"  # the table is looked up first


def test_user_specified_compaction_deletes_on_every_replica(cluster: ZkCluster) -> None:
    """Upstream's ``user_specified_compaction`` env: a manual compaction of a table with a
    rule deleting hash keys that start with ``drop-`` removes them from every replica's
    RocksDB (the secondaries read through backup requests); the rest read back."""
    servers = [cluster.replica_address(f"replica{i}") for i in (1, 2, 3)]
    rule = {"pattern": "drop-", "match_type": "SMT_MATCH_PREFIX"}
    ops = [
        {
            "type": "COT_DELETE",
            "params": "",
            "rules": [{"type": "FRT_HASHKEY_PATTERN", "params": json.dumps(rule)}],
        }
    ]
    with Admin(cluster.meta_list) as admin, Client(cluster.meta_list) as client:
        admin.create_table("ruled", partition_count=PARTITIONS, replica_count=3)
        eventually("fully replicated", partial(fully_replicated, client, "ruled", 3))
        app_id = client.route("ruled").app_id
        table = client.open_table("ruled")
        for i in range(KEPT):
            table.set(b"keep-%d" % i, b"s", b"v")
            table.set(b"drop-%d" % i, b"s", b"v")
        # A secondary applies a write once the next prepare tells it the write committed:
        # one more write per partition, so that every drop is applied before the sweep.
        for index in range(PARTITIONS):
            table.set(keys_of_partition(index, 1, PARTITIONS)[0], b"s", b"tail")
        admin.set_app_envs("ruled", {"user_specified_compaction": json.dumps({"ops": ops})})
        admin.start_manual_compact("ruled", bottommost=True)
        assert eventually(
            "every replica finished", lambda: admin.query_manual_compact("ruled") == 100, WAIT_S
        )
        assert all(table.get(b"keep-%d" % i, b"s") == b"v" for i in range(KEPT))
        route = client.route("ruled")

        def stored(address: str, key: bytes) -> int:
            get = raw_request(
                address,
                m.RRDB_GET,
                encode_key(key, b"s"),
                key,
                app_id,
                PARTITIONS,
                backup_request=True,
            )
            return int(read_result(m.RRDB_GET, raw_reply(get).reader).error)

        for i in range(0, KEPT, 7):
            index = partition_hash(b"drop-%d" % i, b"s") % PARTITIONS
            for member in map(str, route.members(index)):
                assert stored(member, b"drop-%d" % i) == 1, (member, i)  # kNotFound
                assert stored(member, b"keep-%d" % i) == 0  # every server hosts every partition
        for s in servers:  # RocksDB's estimate, which may be one or two off
            assert sum(_keys(s, app_id).values()) < KEPT + 10, s
