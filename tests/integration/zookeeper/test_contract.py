"""The store and repository contracts against the in-memory twin and a real ZooKeeper."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from pegasus_log.meta.state.memory import MemoryStore
from pegasus_log.meta.state.store import MetaStateStore
from pegasus_log.meta.state.zookeeper import ZooKeeperStore, ZooKeeperStoreOptions
from pegasus_log.services.zookeeper import ZooKeeperServer
from tests.unit.meta_state.contract import RepositoryContract, StoreContract

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def zookeeper_store(zookeeper: ZooKeeperServer) -> Iterator[ZooKeeperStore]:
    store = ZooKeeperStore(ZooKeeperStoreOptions(hosts=zookeeper.address))
    store.start()
    yield store
    store.close()


@pytest.fixture(params=["memory", "zookeeper"])
def store(request: pytest.FixtureRequest) -> MetaStateStore:
    if request.param == "memory":
        return MemoryStore()
    zk: ZooKeeperStore = request.getfixturevalue("zookeeper_store")
    return zk


@pytest.fixture
def base(store: MetaStateStore) -> str:
    path = f"/test-{uuid.uuid4().hex[:12]}"
    store.create(path, b"")
    return path


class TestStore(StoreContract):
    pass


class TestRepository(RepositoryContract):
    pass
