"""Manual compactions of one replica server's replicas: the runtime of
``compact_rules.py`` (upstream's ``pegasus_manual_compact_service``).

Each time a replica's table envs reach the server (every config sync, and at once when
the meta pushes a changed table, as after ``RPC_CM_START_MANUAL_COMPACT``), ``on_envs``
asks the rules whether a compaction is due. A due one is queued, unless one is already
queued or running for that replica. It waits for one of ``workers`` slots (upstream's
compaction thread pool), then starts only if the envs still allow it and fewer than
``manual_compact.max_concurrent_running_count`` run on the server; otherwise it is
dropped, and the next config sync queues it again (upstream drops it the same way).
It runs ``PartitionStore.compact`` on a worker thread; the store records when it
finished, so a replica whose last compaction finished after the trigger time does not
run it again, even after a restart.

A replica's status (queued, running, finished since it opened or at or after the once
trigger, idle) goes to the meta in each config sync (``replica_info.manual_compact_status``),
which turns them into the table's progress (``RPC_CM_QUERY_MANUAL_COMPACT_STATUS``). A
replica closed meanwhile cuts its compaction short (``PartitionStore.close``); nothing is
recorded then.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any

from pegasus_log.replica.compact_rules import (
    CompactOptions,
    due,
    is_disabled,
    max_running,
    once_done,
    status_of,
)
from pegasus_log.rpc.admin import ManualCompactStatus
from pegasus_log.storage.engine import PartitionStore
from pegasus_log.storage.rocks import LEVELS, StoreClosedError

log = logging.getLogger(__name__)

# Manual compactions running at once on a server whatever the envs say: upstream's
# THREAD_POOL_COMPACT has 2 workers by default, and these machines have 2 cores.
WORKERS = 2


def local_midnight_s(now_s: float) -> float:
    """The start of ``now_s``'s day in the server's local time (the periodic trigger
    times are local, as upstream's ``hh_mm_today_to_unix_sec``)."""
    t = time.localtime(now_s)
    return time.mktime((t.tm_year, t.tm_mon, t.tm_mday, 0, 0, 0, 0, 0, -1))


def _date_time(seconds: float) -> str:
    """Upstream's ``time_s_to_date_time`` (local time), ``-`` for 0."""
    if seconds <= 0:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


@dataclass
class _Replica:
    store: PartitionStore
    envs: Mapping[str, str]
    last_finish_ms: int
    finished: bool = False  # one finished since the replica opened here
    # wall seconds it was queued and started (0: not now), ms the last one took (0: none
    # since it opened here): upstream's query_compact_state
    enqueued_s: float = 0.0
    started_s: float = 0.0
    last_used_ms: int = 0

    @property
    def queued(self) -> bool:
        return self.enqueued_s > 0

    @property
    def running(self) -> bool:
        return self.started_s > 0


class ManualCompactions:
    def __init__(
        self,
        *,
        wall: Callable[[], float] = time.time,
        midnight: Callable[[float], float] = local_midnight_s,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
        workers: int = WORKERS,
    ) -> None:
        assert workers >= 1
        self._wall = wall
        self._midnight = midnight
        self._spawn = spawn
        self._slots = asyncio.Semaphore(workers)
        self._replicas: dict[tuple[int, int], _Replica] = {}
        self.finished = 0  # since the server started

    @property
    def running(self) -> int:
        """Manual compactions running on the server now."""
        return sum(1 for r in self._replicas.values() if r.running)

    def on_envs(
        self, gpid: tuple[int, int], store: PartitionStore, envs: Mapping[str, str]
    ) -> None:
        """The table envs of replica ``gpid`` (whose store is ``store``), as they are
        now: queue a compaction when one is due."""
        r = self._replicas.get(gpid)
        if r is None or r.store is not store:
            if store.closed:
                return
            r = _Replica(store, dict(envs), store.last_manual_compact_finish_ms())
            self._replicas[gpid] = r
        r.envs = dict(envs)
        if r.queued or r.running:
            return
        now = self._wall()
        options = due(
            r.envs,
            last_finish_ms=r.last_finish_ms,
            now_s=now,
            midnight_s=self._midnight(now),
            levels=LEVELS,
        )
        if options is None:
            return
        r.enqueued_s = now
        log.info("partition %d.%d: manual compaction queued (%s)", *gpid, options)
        self._spawn(self._run(gpid, r, options))

    def status(self, gpid: tuple[int, int]) -> ManualCompactStatus:
        r = self._replicas.get(gpid)
        if r is None:
            return ManualCompactStatus.IDLE
        finished = r.finished or once_done(r.envs, r.last_finish_ms)
        return status_of(queued=r.queued, running=r.running, finished=finished)

    def state(self, gpid: tuple[int, int]) -> str:
        """Upstream's ``query_compact_state`` of replica ``gpid`` (the remote command
        ``replica.query-compact``): when it was queued and started (now), when the last
        one finished and how long it took; ``-`` for what is not."""
        r = self._replicas.get(gpid)
        enqueued = r.enqueued_s if r is not None else 0.0
        started = r.started_s if r is not None else 0.0
        finish_ms = r.last_finish_ms if r is not None else 0
        used_ms = r.last_used_ms if r is not None else 0
        return json.dumps(
            {
                "last_finish": _date_time(finish_ms / 1000),
                "last_used_ms": str(used_ms) if used_ms > 0 else "-",
                "recent_enqueue_at": _date_time(enqueued),
                "recent_start_at": _date_time(started),
            },
            separators=(",", ":"),
        )

    def metric_rows(self) -> list[tuple[str, str, list[str], list[tuple[list[str], float]]]]:
        """Upstream's ``rdb_manual_compact_{queued,running}_tasks``, summed over the
        server's replicas, and the compactions finished since it started."""
        queued = sum(1 for r in self._replicas.values() if r.queued and not r.running)
        return [
            ("rdb_manual_compact_queued_tasks", "manual compactions queued", [], [([], queued)]),
            (
                "rdb_manual_compact_running_tasks",
                "manual compactions running",
                [],
                [([], self.running)],
            ),
            (
                "manual_compact_finished_count",
                "manual compactions finished since the server started",
                [],
                [([], self.finished)],
            ),
        ]

    def forget(self, gpid: tuple[int, int]) -> None:
        """The replica closed here: its state goes (a running compaction was cut)."""
        self._replicas.pop(gpid, None)

    async def _run(self, gpid: tuple[int, int], r: _Replica, options: CompactOptions) -> None:
        try:
            async with self._slots:
                if self._replicas.get(gpid) is not r or r.store.closed:
                    return
                bound = max_running(r.envs)
                if is_disabled(r.envs) or (bound is not None and self.running >= bound):
                    log.info(
                        "partition %d.%d: manual compaction dropped (disabled, or %d "
                        "running reach max_concurrent_running_count); the next sync "
                        "queues it again",
                        *gpid,
                        self.running,
                    )
                    return
                await self._compact(gpid, r, options)
        finally:
            r.enqueued_s = 0.0

    async def _compact(self, gpid: tuple[int, int], r: _Replica, options: CompactOptions) -> None:
        r.started_s = self._wall()
        try:
            stats = await asyncio.to_thread(
                r.store.compact,
                target_level=options.target_level,
                bottommost_force=options.bottommost_force,
            )
            finished_ms = await asyncio.to_thread(r.store.last_manual_compact_finish_ms)
        except StoreClosedError:
            log.info("partition %d.%d: manual compaction cut short: replica closed", *gpid)
            return
        finally:
            started_s, r.started_s = r.started_s, 0.0
        r.last_finish_ms = finished_ms
        r.last_used_ms = max(1, finished_ms - int(started_s * 1000))
        r.finished = True
        self.finished += 1
        log.info(
            "partition %d.%d: manual compaction finished in %d ms: %s",
            *gpid,
            r.last_used_ms,
            stats,
        )
