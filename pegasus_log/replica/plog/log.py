"""The asyncio runtime of the mutation log: ``await log.append(mutation)`` returns once the
mutation is durable; ``log.submit(mutation)`` returns a ``Promise`` settled the moment it
is (a replica server's write path goes on in the same callback).

It drives ``PlogCore``: appends go into the core's pending queue at once (in call order);
when no write is in flight, the next batch is taken a loop iteration or two later (so
every append made meanwhile joins it) and performed (write, then fdatasync) on the event
loop itself or on a worker thread, as ``PlogConfig.write_on`` says; its completion
settles every append it carried and starts the next batch. Appenders that find the queue
full wait in FIFO order (back-pressure) and are queued as room frees up; past
``append_waiters_max`` waiters an append fails with ``PlogBusyError``.

A failed write or fsync fails every append waiting on that batch or queued behind it with
``PlogFailedError``, and the log refuses appends from then on: close it and open the
directory again, which replays what is really on disk.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from pegasus_log.frozen import frozen
from pegasus_log.promise import Promise
from pegasus_log.replica.plog.config import PlogConfig
from pegasus_log.replica.plog.core import PlogCore, PlogStats, SegmentInfo, WriteBatch
from pegasus_log.replica.plog.disk import LogDisk
from pegasus_log.replica.plog.errors import (
    MutationTooLargeError,
    PlogBusyError,
    PlogClosedError,
    PlogFailedError,
)
from pegasus_log.replica.plog.mutation import Mutation, encoded_size
from pegasus_log.replica.plog.recovery import RecoveryReport, read_mutations, recover
from pegasus_log.rpc.thrift import Gpid

# What the log settles when a batch completes: the promise of a ``submit`` or the future
# of an ``append`` (a future can be cancelled while it waits for room; see _admit_waiters).
_Token = asyncio.Future[None] | Promise[None]
T = TypeVar("T")


@frozen
class GcResult:
    removed: tuple[str, ...]
    removed_bytes: int
    # Why collection stopped early (a removal failed), or "" when it did not.
    error: str = ""


@dataclass(slots=True)
class _Waiter:
    mutations: tuple[Mutation, ...]
    size: int
    future: _Token


def perform_write(disk: LogDisk, batch: WriteBatch[T]) -> None:
    """Carry out one batch on ``disk`` (blocking; the runtime calls it on a worker)."""
    name = batch.segment.file_name
    if batch.seal is not None:
        disk.sync(batch.seal.file_name)
    if batch.create is not None:
        disk.create(name, batch.create, sync=True)
    disk.write(name, batch.offset, batch.block)
    if batch.sync:
        disk.sync(name)


class MutationLog:
    """One replica server's mutation log over a ``LogDisk``. Open with ``open``."""

    def __init__(
        self,
        disk: LogDisk,
        config: PlogConfig,
        segments: Sequence[SegmentInfo],
        report: RecoveryReport,
        executor: Executor | None,
    ) -> None:
        self._disk = disk
        self._config = config
        self._core: PlogCore[_Token] = PlogCore(config, segments)
        self._recovery = report
        self._owns_executor = executor is None
        self._executor: Executor = executor or ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="plog"
        )
        self._waiters: deque[_Waiter] = deque()
        self._kick_scheduled = False
        self._closing = False
        self._closed = False
        self._idle: asyncio.Event | None = None
        self._gc_lock: asyncio.Lock | None = None

    @classmethod
    def open(
        cls,
        disk: LogDisk,
        config: PlogConfig | None = None,
        *,
        on_replay: Callable[[Mutation], None] | None = None,
        force: bool = False,
        executor: Executor | None = None,
    ) -> MutationLog:
        """Recover the log on ``disk`` (blocking), handing each intact mutation to
        ``on_replay`` in log order; see ``recovery.py`` for what is dropped or refused.
        ``executor`` runs disk work (default: a private single thread)."""
        config = config or PlogConfig()
        segments, report = recover(
            disk, config, on_mutation=on_replay or (lambda _m: None), force=force
        )
        return cls(disk, config, segments, report, executor)

    # ---- inquiries ----

    @property
    def recovery(self) -> RecoveryReport:
        return self._recovery

    @property
    def config(self) -> PlogConfig:
        return self._config

    @property
    def failed(self) -> str | None:
        return self._core.failed

    def stats(self) -> PlogStats:
        return self._core.stats()

    def segments(self) -> tuple[SegmentInfo, ...]:
        return self._core.segments()

    def max_decree(self, gpid: Gpid) -> int:
        return self._core.max_decree(gpid)

    def max_gced_decree(self, gpid: Gpid) -> int:
        """The largest decree of ``gpid`` in removed segments: a learner whose start is at
        or above it can catch up from this log; one below it needs a checkpoint."""
        return self._core.max_gced_decree(gpid)

    # ---- appending ----

    def submit(self, mutations: Mutation | Sequence[Mutation]) -> Promise[None]:
        """Queue ``mutations`` now, in call order; the promise is settled once they are
        durable. Never blocks the caller: when the pending queue is full they wait for
        room behind the appends already waiting, like ``append``'s; PlogBusyError only
        past ``append_waiters_max`` waiting appends."""
        promise: Promise[None] = Promise()
        self._enqueue(_as_tuple(mutations), promise)
        return promise

    async def append(self, mutations: Mutation | Sequence[Mutation]) -> None:
        """Write ``mutations`` (all in one block) and return once they are durable,
        waiting for room first when the pending queue is full."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._enqueue(_as_tuple(mutations), future)
        await future

    async def flush(self) -> None:
        """Return once everything appended so far is on disk (or the log has failed)."""
        while not (self._core.drained and not self._waiters) and self._core.failed is None:
            idle = self._idle_event()
            idle.clear()
            self._kick()
            await idle.wait()

    def _enqueue(self, mutations: tuple[Mutation, ...], token: _Token) -> None:
        """Queue ``mutations`` with ``token`` to settle, or make them wait for room in
        FIFO order (never ahead of an earlier append)."""
        if self._closing:
            raise PlogClosedError("plog is closed")
        self._core.check_append(mutations)
        size = sum(encoded_size(m) for m in mutations)
        if size > self._config.block_bytes_max:
            raise MutationTooLargeError(
                f"append of {size} bytes exceeds block_bytes_max {self._config.block_bytes_max}"
            )
        if not self._waiters and self._core.has_room(size, len(mutations)):
            self._core.submit(mutations, token)
            self._kick()
            return
        if len(self._waiters) >= self._config.append_waiters_max:
            raise PlogBusyError(
                f"plog pending queue full ({self._core.pending_count} mutations queued, "
                f"{len(self._waiters)} appenders waiting)"
            )
        self._waiters.append(_Waiter(mutations, size, token))

    def _admit_waiters(self) -> None:
        """Queue waiting appenders, oldest first, while there is room."""
        while self._waiters:
            head = self._waiters[0]
            if head.future.done():  # cancelled while waiting
                self._waiters.popleft()
                continue
            if not self._core.has_room(head.size, len(head.mutations)):
                return
            self._waiters.popleft()
            self._core.submit(head.mutations, head.future)

    # ---- the write loop ----

    def _kick(self) -> None:
        if self._kick_scheduled or self._core.writing:
            return
        self._kick_scheduled = True
        loop = asyncio.get_running_loop()
        if self._config.write_on == "loop":
            # Two hops: a handle scheduled now runs in the next loop pass, after the
            # handles scheduled before it, but the frames this pass posts after the
            # append (a primary's prepares) are flushed by handles scheduled later. The
            # write waits one more pass, so it never holds back the frames that let the
            # peers work while this server fsyncs.
            loop.call_soon(loop.call_soon, self._start_write)
        else:
            loop.call_soon(self._start_write)

    def _start_write(self) -> None:
        self._kick_scheduled = False
        batch = self._core.flush()
        if batch is None:
            if self._core.drained and not self._waiters:
                self._idle_event().set()
            return
        self._admit_waiters()
        if self._config.write_on == "loop":
            try:
                perform_write(self._disk, batch)
            except Exception as e:
                self._on_write_finished(batch, e)
            else:
                self._on_write_finished(batch, None)
            return
        loop = asyncio.get_running_loop()
        done = loop.run_in_executor(self._executor, perform_write, self._disk, batch)
        done.add_done_callback(partial(self._on_thread_write_finished, batch))

    def _on_thread_write_finished(
        self, batch: WriteBatch[_Token], done: asyncio.Future[None]
    ) -> None:
        error = done.exception() if not done.cancelled() else asyncio.CancelledError()
        self._on_write_finished(batch, error)

    def _on_write_finished(self, batch: WriteBatch[_Token], error: BaseException | None) -> None:
        if error is None:
            for future in self._core.on_write_done(batch):
                if not future.done():
                    future.set_result(None)
            self._admit_waiters()
            self._kick()
            return
        waiting = list(self._core.on_write_failed(batch, f"{type(error).__name__}: {error}"))
        waiting.extend(w.future for w in self._waiters)
        self._waiters.clear()
        failure = PlogFailedError(f"plog write failed: {self._core.failed}")
        for future in waiting:
            if not future.done():
                future.set_exception(failure)
        self._idle_event().set()

    def _idle_event(self) -> asyncio.Event:
        if self._idle is None:
            self._idle = asyncio.Event()
        return self._idle

    # ---- garbage collection and reads ----

    async def garbage_collect(
        self, durable_decrees: Mapping[Gpid, int], *, reserve_bytes: int = 0
    ) -> GcResult:
        """Remove the oldest segments whose every mutation is at or below the durable
        decree of its partition (see ``PlogCore.plan_gc``, which also says what
        ``reserve_bytes`` keeps); never the current segment."""
        if self._gc_lock is None:
            self._gc_lock = asyncio.Lock()
        async with self._gc_lock:
            loop = asyncio.get_running_loop()
            sizes = {s.name: s.size for s in self._core.segments()}
            removed: list[str] = []
            removed_bytes = 0
            for name in self._core.plan_gc(durable_decrees, reserve_bytes=reserve_bytes):
                try:
                    await loop.run_in_executor(self._executor, self._disk.remove, name.file_name)
                except OSError as e:
                    return GcResult(tuple(removed), removed_bytes, f"{name.file_name}: {e}")
                self._core.on_removed(name)
                removed.append(name.file_name)
                removed_bytes += sizes[name]
            return GcResult(tuple(removed), removed_bytes)

    def read_mutations(self, gpid: Gpid, *, decree_gt: int) -> Iterator[Mutation]:
        """Mutations of ``gpid`` with decree > ``decree_gt`` from the segment files, for
        a learner catching up. Blocking I/O, one segment in memory at a time: iterate it
        on a worker thread. Sees what was durable when called. Raises
        PlogGarbageCollectedError if a needed segment is removed meanwhile."""
        return read_mutations(
            self._disk,
            self._core.segments(),
            gpid,
            decree_gt=decree_gt,
            block_bytes_max=self._config.block_bytes_max,
        )

    # ---- closing ----

    async def close(self) -> None:
        """Write what is queued (unless the log failed), then release the disk."""
        if self._closed:
            return
        self._closing = True
        await self.flush()
        self._core.begin_close()
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._disk.close)
        if self._owns_executor:
            self._executor.shutdown(wait=True)


def _as_tuple(mutations: Mutation | Sequence[Mutation]) -> tuple[Mutation, ...]:
    if isinstance(mutations, Mutation):
        return (mutations,)
    return tuple(mutations)
