"""A replica server's manual compactions (replica/manual_compact.py) on real partition
stores: queued when the envs make one due, run once, reported, bounded, cut by a close."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from pegasus_log.replica.manual_compact import ManualCompactions
from pegasus_log.rpc.admin import ManualCompactStatus as S
from pegasus_log.storage import PartitionStore
from tests.unit.storage.helpers import Client, FakeClock, open_store

NOW = 1_700_000_000.0
ONCE = {"manual_compact.once.trigger_time": str(int(NOW) - 10)}


class _Server:
    """The runtime's view: spawned tasks kept, a fixed wall clock."""

    def __init__(self, *, workers: int = 2, now: float = NOW) -> None:
        self.tasks: list[asyncio.Task[None]] = []
        self.compactions = ManualCompactions(
            wall=lambda: now,
            midnight=lambda now: now - now % 86400,
            spawn=self.spawn,
            workers=workers,
        )

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self.tasks.append(asyncio.get_running_loop().create_task(coro))

    async def settle(self) -> None:
        while not all(t.done() for t in self.tasks):
            await asyncio.sleep(0.01)


def _store(path: Path, rows: int = 100) -> PartitionStore:
    clock = FakeClock(NOW)
    store = open_store(path, clock)
    client = Client(store, clock)
    for i in range(rows):
        client.set(b"h%d" % i, b"s", os.urandom(100))
    return store


def test_due_once_runs_once_and_is_reported(tmp_path: Path) -> None:
    async def test() -> None:
        server = _Server()
        store = _store(tmp_path / "a")
        c = server.compactions
        assert c.status((1, 0)) == S.IDLE
        c.on_envs((1, 0), store, {})
        assert not server.tasks and c.status((1, 0)) == S.IDLE
        c.on_envs((1, 0), store, ONCE)
        assert c.status((1, 0)) == S.QUEUING
        c.on_envs((1, 0), store, ONCE)  # already queued: not twice
        assert len(server.tasks) == 1
        await server.settle()
        assert c.status((1, 0)) == S.FINISHED and c.finished == 1 and c.running == 0
        assert store.last_manual_compact_finish_ms() == int(NOW * 1000)
        state = json.loads(c.state((1, 0)))
        assert list(state) == [
            "last_finish",
            "last_used_ms",
            "recent_enqueue_at",
            "recent_start_at",
        ]
        assert state["last_finish"] == time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(NOW))
        assert (state["recent_enqueue_at"], state["recent_start_at"]) == ("-", "-")
        assert int(state["last_used_ms"]) >= 1
        assert json.loads(c.state((9, 9))) == dict.fromkeys(state, "-")
        c.on_envs((1, 0), store, ONCE)  # finished after the trigger: done
        assert len(server.tasks) == 1
        # a restarted server reads the finish time from the store: not again, and done
        again = _Server()
        again.compactions.on_envs((1, 0), store, ONCE)
        assert not again.tasks and again.compactions.status((1, 0)) == S.FINISHED
        # a later trigger: due once its second comes
        later = {"manual_compact.once.trigger_time": str(int(NOW) + 5)}
        again.compactions.on_envs((1, 0), store, later)
        assert not again.tasks and again.compactions.status((1, 0)) == S.IDLE
        after = _Server(now=NOW + 5)
        after.compactions.on_envs((1, 0), store, later)
        assert after.compactions.status((1, 0)) == S.QUEUING
        await after.settle()
        assert after.compactions.status((1, 0)) == S.FINISHED
        store.close()

    asyncio.run(test())


def test_running_count_bound_drops_until_the_next_sync(tmp_path: Path) -> None:
    async def test() -> None:
        server = _Server(workers=2)
        stores = [_store(tmp_path / f"p{i}", rows=20000) for i in range(2)]
        envs = {**ONCE, "manual_compact.max_concurrent_running_count": "1"}
        c = server.compactions
        for i, store in enumerate(stores):
            c.on_envs((1, i), store, envs)
        await server.settle()
        # two slots, but the envs allow one at a time: the second was dropped
        assert c.finished == 1
        statuses = sorted(c.status((1, i)) for i in range(2))
        assert statuses == [S.IDLE, S.FINISHED]
        for i, store in enumerate(stores):  # the next config sync queues it again
            c.on_envs((1, i), store, envs)
        await server.settle()
        assert c.finished == 2 and all(c.status((1, i)) == S.FINISHED for i in range(2))
        # disabled: nothing is queued
        stores[0].close()
        fresh = _store(tmp_path / "p2")
        c.on_envs((1, 2), fresh, {**ONCE, "manual_compact.disabled": "true"})
        assert c.status((1, 2)) == S.IDLE and c.finished == 2
        for store in (stores[1], fresh):
            store.close()

    asyncio.run(test())


def test_a_replica_closed_meanwhile_reports_nothing(tmp_path: Path) -> None:
    async def test() -> None:
        server = _Server()
        store = _store(tmp_path / "a", rows=60000)
        c = server.compactions
        c.on_envs((1, 0), store, ONCE)
        while c.running == 0:
            await asyncio.sleep(0.001)
        c.forget((1, 0))
        await asyncio.to_thread(store.close)
        await server.settle()
        assert c.finished == 0 and c.running == 0
        assert c.status((1, 0)) == S.IDLE
        c.on_envs((1, 0), store, ONCE)  # a closed store is not queued
        assert len(server.tasks) == 1

    asyncio.run(test())
