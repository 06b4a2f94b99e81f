from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pegasus_log.services.zookeeper import ZooKeeperServer
from tests.cluster import StaticCluster


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaticCluster]:
    """One static meta and one replica server, shared by the whole session."""
    root: Path = tmp_path_factory.mktemp("cluster")
    c = StaticCluster(root, tables=["temp:8", "other:4"])
    c.start()
    yield c
    c.stop()


@pytest.fixture(scope="session")
def onebox_meta(cluster: StaticCluster) -> str:
    return cluster.meta


@pytest.fixture(scope="session")
def zookeeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooKeeperServer]:
    """A standalone ZooKeeper on a free loopback port; ``.address`` is its "host:port"."""
    server = ZooKeeperServer(tmp_path_factory.mktemp("zookeeper"))
    server.start()
    yield server
    server.stop()
