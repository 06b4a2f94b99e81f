"""Hotkey detection on a real cluster (ZooKeeper, a meta, a replica server analysing
every second): reads and writes of one hash key among many, the shell's
``detect_hotkey`` started on the partition's primary, and the key it then reports;
upstream's answers to a busy start, a stop and an unknown partition."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pegasus_log.client.sync import Admin, Client
from pegasus_log.services.zookeeper import ZooKeeperServer
from pegasus_log.storage.keyhash import partition_hash
from tests.cluster import ZkCluster, zk_cluster_up
from tests.integration.helpers import eventually
from tests.integration.shell_driver import one_shot

pytestmark = pytest.mark.integration
PARTITIONS = 4
# Two analyses a second apart; the load must run through both. A liveness bound.
WAIT_S = 30.0


@pytest.fixture(scope="module")
def cluster(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    root: Path = tmp_path_factory.mktemp("hotkey")
    with zk_cluster_up(
        root,
        zookeeper.address,
        metas=1,
        replicas=1,
        prefix="hotkey",
        replica_args=["--hotkey-analyse-interval-s", "1"],
    ) as c:
        yield c


def _load(client: Client, table: str, hot: bytes, stop: threading.Event, *, write: bool) -> None:
    t = client.open_table(table)
    i = 0
    while not stop.is_set():
        i += 1
        key = hot if i % 4 == 0 else b"user-%d" % (i % 500)
        if write:
            t.set(key, b"s", b"v")
        else:
            t.get(key, b"s")


@pytest.mark.parametrize("kind", ["read", "write"])
def test_the_hot_hash_key_is_found(cluster: ZkCluster, tmp_path: Path, kind: str) -> None:
    meta = ",".join(cluster.meta_list)
    server = cluster.replica_address("replica1")
    hot = b"celebrity-" + kind.encode()
    table = f"hot_{kind}"
    with Admin(cluster.meta_list) as admin, Client(cluster.meta_list) as client:
        admin.create_table(table, partition_count=PARTITIONS, replica_count=1)
        route = eventually("routable", lambda: client.route(table), 30.0)
        index = partition_hash(hot, b"s") % PARTITIONS
        assert str(route.primaries[index]) == server
        where = f"-a {route.app_id} -p {index} -t {kind} -d {server}"
        home = tmp_path / "home"
        home.mkdir()
        query = one_shot(meta, f"detect_hotkey {where} -c query", home)
        assert "error_hint:ERR_BUSY Can't get hotkey now, now state: STOPPED" in query.stderr

        stop = threading.Event()
        load = threading.Thread(
            target=_load, args=(client, table, hot, stop), kwargs={"write": kind == "write"}
        )
        load.start()
        try:
            started = one_shot(meta, f"detect_hotkey {where} -c start", home)
            assert started.returncode == 0, started.stderr
            assert started.stdout.strip() == (
                f"Hotkey detection is starting, using 'detect_hotkey -a {route.app_id} -p "
                f"{index} -t {kind} -c query -d {server}' to get the result later"
            )
            again = one_shot(meta, f"detect_hotkey {where} -c start", home)
            assert "error_hint:ERR_BUSY still detecting" in again.stderr, again.stderr

            def found() -> str | None:
                out = one_shot(meta, f"detect_hotkey {where} -c query", home).stdout
                return out if "result:" in out else None

            result = eventually("the hotkey found", found, WAIT_S)
        finally:
            stop.set()
            load.join(timeout=30)
        assert (
            result.strip() == f"Find {kind} hotkey in {route.app_id}.{index} result:{hot.decode()}"
        )
        stopped = one_shot(meta, f"detect_hotkey {where} -c stop", home)
        assert stopped.stdout.strip() == "Hotkey detection is stopped now"
        missing = one_shot(meta, f"detect_hotkey -a 999 -p 0 -t {kind} -c query -d {server}", home)
        assert "error_hint:ERR_OBJECT_NOT_FOUND not find the replica 999.0" in missing.stderr
        elsewhere = one_shot(
            meta, f"detect_hotkey {where[: where.index('-d')]}-c query -d 127.0.0.1:1", home
        )
        assert "invalid host:port '127.0.0.1:1', can't find it in the cluster" in elsewhere.stderr
