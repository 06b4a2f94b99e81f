"""The in-memory twin against the store and repository contracts, and its fault play."""

from __future__ import annotations

import threading

import pytest

from pegasus_log.meta.state.layout import Layout
from pegasus_log.meta.state.memory import MemoryStore
from pegasus_log.meta.state.repository import MetaStateRepository
from pegasus_log.meta.state.store import (
    BadVersion,
    SessionEvent,
    StoreClosed,
    StoreUnavailable,
)
from tests.unit.meta_state.contract import RepositoryContract, StoreContract


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def base(store: MemoryStore) -> str:
    store.create("/test", b"")
    return "/test"


class TestMemoryStore(StoreContract):
    pass


class TestMemoryRepository(RepositoryContract):
    pass


def test_suspend_resume_and_expire_tell_listeners(store: MemoryStore) -> None:
    events: list[SessionEvent] = []
    store.add_session_listener(events.append)
    store.create("/a", b"1")
    store.suspend()
    store.suspend()
    with pytest.raises(StoreUnavailable) as down:
        store.read("/a")
    assert down.value.retriable
    with pytest.raises(StoreUnavailable):
        store.write("/a", b"2")
    store.resume()
    assert store.read("/a").data == b"1"
    store.expire_session()
    assert store.read("/a").data == b"1"
    assert events == [
        SessionEvent.SUSPENDED,
        SessionEvent.CONNECTED,
        SessionEvent.LOST,
        SessionEvent.CONNECTED,
    ]
    store.remove_session_listener(events.append)
    store.suspend()
    assert len(events) == 4


def test_repository_fails_retriably_while_suspended(store: MemoryStore) -> None:
    repo = MetaStateRepository(store, Layout.for_cluster("onebox"))
    repo.initialize()
    store.suspend()
    with pytest.raises(StoreUnavailable):
        repo.next_app_id()
    store.resume()
    assert repo.next_app_id() == 1


def test_closed_store_refuses_everything(store: MemoryStore) -> None:
    store.close()
    with pytest.raises(StoreClosed) as closed:
        store.read("/")
    assert not closed.value.retriable


def test_concurrent_checked_writes_let_exactly_one_win(store: MemoryStore) -> None:
    store.create("/n", b"0")
    wins: list[int] = []
    barrier = threading.Barrier(8)

    def writer(i: int) -> None:
        barrier.wait()
        try:
            store.write("/n", str(i).encode(), version=0)
        except BadVersion:
            return
        wins.append(i)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert store.read("/n").data == str(wins[0]).encode()
