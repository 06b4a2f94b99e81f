from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pegasus_log.client.sync import Admin
from pegasus_log.services.zookeeper import ZooKeeperServer
from tests.cluster import StaticCluster, ZkCluster


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaticCluster]:
    """One static meta and one replica server, shared by the whole session."""
    root: Path = tmp_path_factory.mktemp("cluster")
    c = StaticCluster(root, tables=["temp:8", "other:4"])
    c.start()
    yield c
    c.stop()


@pytest.fixture(scope="session")
def zk_onebox(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    """Meta addresses ("a,b") of a ZooKeeper-backed cluster of 2 metas and 3 replica
    servers with table temp (8 partitions): what the real clients are tested against."""
    c = ZkCluster(
        tmp_path_factory.mktemp("onebox"),
        zookeeper.address,
        metas=2,
        replicas=3,
        cluster="conformance",
    )
    c.start()
    try:
        with Admin(c.meta_list) as admin:
            deadline = time.monotonic() + 30
            while len([n for n, ok in admin.list_nodes() if ok]) < 3:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"replica servers did not register:\n{c.logs()}")
                time.sleep(0.1)
            admin.create_table("temp", partition_count=8, replica_count=3, success_if_exist=True)
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="session")
def onebox_meta(zk_onebox: ZkCluster) -> str:
    return ",".join(zk_onebox.meta_list)


@pytest.fixture(scope="session")
def zookeeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooKeeperServer]:
    """A standalone ZooKeeper on a free loopback port; ``.address`` is its "host:port"."""
    server = ZooKeeperServer(tmp_path_factory.mktemp("zookeeper"))
    server.start()
    yield server
    server.stop()
