"""A connected store while its ZooKeeper dies, freezes, comes back, or expires the session:
operations fail with retriable errors meanwhile, and nothing written before is lost."""

from __future__ import annotations

import dataclasses
import os
import queue
import signal
import socket
import time
from collections.abc import Iterator

import pytest
from kazoo.client import KazooClient

from pegasus_log.meta.state.layout import Layout
from pegasus_log.meta.state.model import AppState, PartitionConfig
from pegasus_log.meta.state.repository import MetaStateRepository
from pegasus_log.meta.state.store import (
    Create,
    SessionEvent,
    StoreUnavailable,
)
from pegasus_log.meta.state.zookeeper import ZooKeeperStore, ZooKeeperStoreOptions
from pegasus_log.services.zookeeper import ZooKeeperServer

pytestmark = pytest.mark.integration


def _options(hosts: str) -> ZooKeeperStoreOptions:
    """Short bounds, so that an outage shows within a second."""
    return ZooKeeperStoreOptions(
        hosts=hosts, session_timeout_s=6.0, operation_timeout_s=1.0, retry_deadline_s=0.5
    )


EVENT_WAIT_S = 15.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZooKeeperServer]:
    """A server of this module's own: these tests kill it."""
    zk = ZooKeeperServer(tmp_path_factory.mktemp("zk-outage"))
    zk.start()
    yield zk
    zk.kill()


class Watched:
    def __init__(self, server: ZooKeeperServer) -> None:
        self.events: queue.Queue[SessionEvent] = queue.Queue()
        self.store = ZooKeeperStore(_options(server.address))
        self.store.add_session_listener(self.events.put)
        self.store.start()
        assert self.next_event() is SessionEvent.CONNECTED

    def next_event(self) -> SessionEvent:
        return self.events.get(timeout=EVENT_WAIT_S)


@pytest.fixture
def watched(server: ZooKeeperServer) -> Iterator[Watched]:
    w = Watched(server)
    yield w
    w.store.close()


def _fill(repo: MetaStateRepository) -> None:
    repo.initialize()
    repo.create_app(AppState(app_id=1, app_name="temp", partition_count=8))
    for i in range(8):
        config = PartitionConfig(1, i, ballot=1, primary=f"127.0.0.1:{34801 + i % 3}")
        repo.update_partition(config, 0)


def test_operations_fail_retriably_while_down_and_nothing_is_lost(
    server: ZooKeeperServer, watched: Watched
) -> None:
    store = watched.store
    repo = MetaStateRepository(store, Layout.for_cluster("outage"))
    _fill(repo)
    before = repo.load_all()

    server.kill()
    assert watched.next_event() is SessionEvent.SUSPENDED
    layout = repo.layout
    attempts = [
        lambda: store.read(layout.app_path(1)),
        lambda: store.children(layout.apps_root),
        lambda: store.exists("/nothing"),
        lambda: store.create("/during-outage", b""),
        lambda: store.write(layout.app_path(1), b"{}"),
        lambda: store.commit([Create("/t1", b""), Create("/t2", b"")]),
        lambda: repo.update_partition(PartitionConfig(1, 0, ballot=2), 1),
        repo.load_all,
    ]
    for attempt in attempts:
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as down:
            attempt()
        assert down.value.retriable
        assert not down.value.maybe_applied  # never sent while disconnected
        assert time.monotonic() - started < 5.0

    server.start()
    assert watched.next_event() is SessionEvent.CONNECTED  # the session survived
    assert repo.load_all() == before
    assert not store.exists("/during-outage")
    assert repo.update_partition(PartitionConfig(1, 0, ballot=2), 1) == 2
    assert watched.events.empty()


def test_write_to_a_frozen_server_may_have_been_applied(
    server: ZooKeeperServer, watched: Watched
) -> None:
    store = watched.store
    store.create("/frozen", b"before")
    pid = server.pid()
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        with pytest.raises(StoreUnavailable) as unknown:
            store.write("/frozen", b"after", version=0)
        assert unknown.value.retriable and unknown.value.maybe_applied
    finally:
        os.kill(pid, signal.SIGCONT)
    # Back: the write either happened or not; the read tells, and the store works again.
    deadline = time.monotonic() + EVENT_WAIT_S
    while True:
        try:
            node = store.read("/frozen")
            break
        except StoreUnavailable:
            assert time.monotonic() < deadline
    assert (node.data, node.version) in [(b"before", 0), (b"after", 1)]


def test_session_expiry_is_lost_then_connected(server: ZooKeeperServer, watched: Watched) -> None:
    store = watched.store
    repo = MetaStateRepository(store, Layout.for_cluster("expiry"))
    _fill(repo)
    before = repo.load_all()

    # ZooKeeper's own way to expire a session: a second client on the same session id
    # closes it.
    session_id, password = store._client.client_id  # the test reaches in
    thief = KazooClient(hosts=server.address, client_id=(session_id, password))
    thief.start(timeout=10)
    thief.stop()
    thief.close()

    # kazoo sees the connection drop, then the server's "expired", then a new session.
    seen = [watched.next_event() for _ in range(3)]
    assert seen == [SessionEvent.SUSPENDED, SessionEvent.LOST, SessionEvent.CONNECTED]
    assert repo.load_all() == before
    later = dataclasses.replace(before.partitions[(1, 3)].value, ballot=2)
    assert repo.update_partition(later, before.partitions[(1, 3)].version) == 2


def test_start_without_a_server_is_unavailable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = ZooKeeperStore(ZooKeeperStoreOptions(hosts=f"127.0.0.1:{port}", connect_timeout_s=1.0))
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as down:
        store.start()
    assert down.value.retriable
    assert time.monotonic() - started < 5.0
    store.close()
