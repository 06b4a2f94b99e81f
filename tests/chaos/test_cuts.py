"""A primary cut off from the metas by a network partition, while clients and its own
secondaries still reach it: the meta replaces it once its beacons stop, and from then
on the old primary (whose lease lapsed first) answers neither reads nor writes sent
straight to it, though it is running and reachable. Once the cut mends it rejoins."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pegasus_log.client.sync import Client
from pegasus_log.rpc import messages as m
from pegasus_log.services.zookeeper import ZooKeeperServer
from pegasus_log.storage.schema import encode_key
from tests.chaos.nemesis import Fault, FaultKind, Nemesis, fault_injection_cluster
from tests.cluster import ZkCluster
from tests.integration.helpers import (
    REPLICATED_PARTITIONS,
    assert_refuses_write,
    eventually,
    keys_of_partition,
    member_everywhere,
    new_replicated_table,
    raw_reply,
    raw_request,
    server_of,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    with fault_injection_cluster(tmp_path_factory.mktemp("cuts"), zookeeper.address, "cuts") as c:
        yield c


def test_primary_cut_off_from_the_metas_is_replaced_and_serves_nothing(
    cluster: ZkCluster, zookeeper: ZooKeeperServer
) -> None:
    name = new_replicated_table(cluster)
    nemesis = Nemesis(cluster, zookeeper)
    with Client(cluster.meta_list, timeout_s=3.0) as client:
        route = client.route(name)
        old_primary, app_id = str(route.primaries[0]), route.app_id
        victim = server_of(cluster, old_primary)
        table = client.open_table(name)
        keys = keys_of_partition(0, 2, REPLICATED_PARTITIONS)
        table.set(keys[0], b"s", b"before")
        nemesis.inject(Fault(FaultKind.CUT_REPLICA_FROM_METAS, (victim,), 0, 0))
        cut_at = time.monotonic()
        try:
            eventually(
                "a new primary takes over",
                lambda: str(client.route(name).primaries[0]) != old_primary,
            )
            print(f"new primary {time.monotonic() - cut_at:.1f} s after the cut")

            def write_after() -> bool:
                table.set(keys[0], b"s", b"after")
                return True

            eventually("a write through the new primary", write_after)
            # Still cut off, still running, reachable by this client: it must not serve.
            get = raw_reply(
                raw_request(
                    old_primary,
                    m.RRDB_GET,
                    encode_key(keys[0], b"s"),
                    keys[0],
                    app_id,
                    REPLICATED_PARTITIONS,
                )
            )
            assert get.error_name != "ERR_OK", "the cut-off primary answered a read"
            assert_refuses_write(old_primary, keys[1], app_id, REPLICATED_PARTITIONS)
        finally:
            nemesis.heal()
        eventually(
            "the cut-off server back in every group",
            lambda: member_everywhere(client, name, old_primary),
            timeout_s=60,
        )
        assert table.get(keys[0], b"s") == b"after"
        assert table.get(keys[1], b"s") is None
        exited = [n for n, p in cluster.processes.items() if not p.alive()]
        assert not exited, f"servers exited: {exited}"
