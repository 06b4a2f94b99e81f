"""The asyncio runtime: durability on await, group commit, failures, back-pressure."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from typing import Any

import pytest

from pegasus_log.replica.plog import (
    DiskFault,
    DiskOp,
    LogDisk,
    MemoryLogDisk,
    MutationLog,
    PlogBusyError,
    PlogClosedError,
    PlogConfig,
    PlogFailedError,
)
from pegasus_log.rpc.thrift import Gpid
from tests.unit.plog.helpers import SMALL, decrees, mutation, replay

# The gated-disk tests hold a write in flight while the loop goes on appending, which
# only a write on a worker thread allows.
ON_THREAD = dataclasses.replace(SMALL, write_on="thread")


def test_append_then_reopen_replays_everything(disk: LogDisk) -> None:
    async def write(log: MutationLog) -> None:
        for d in range(1, 301):
            await log.append([mutation(d, pidx=0, size=64), mutation(d, pidx=1, size=64)])
        await log.close()

    log, seen = replay(disk)
    assert seen == [] and log.recovery.clean and log.recovery.segments == 0
    asyncio.run(write(log))
    assert len(log.segments()) > 3

    log2, seen2 = replay(disk)
    assert log2.recovery.clean and log2.recovery.mutations == 600
    assert seen2 == [mutation(d, pidx=p, size=64) for d in range(1, 301) for p in (0, 1)]
    assert log2.max_decree(Gpid(1, 1)) == 300

    # the reopened log goes on in a new segment, and a third open sees both runs
    async def more(log: MutationLog) -> None:
        await log.append(mutation(301, size=64))
        await log.close()

    asyncio.run(more(log2))
    log3, seen3 = replay(disk)
    assert decrees(seen3)[-3:] == [300, 300, 301] and log3.recovery.clean


def test_group_commit_batches_concurrent_appends() -> None:
    disk = MemoryLogDisk()
    log, _ = replay(disk, PlogConfig())

    async def writers() -> None:
        async def writer(w: int) -> None:
            for i in range(50):
                await log.append(mutation(i + 1, pidx=w, size=100))

        await asyncio.gather(*(writer(w) for w in range(32)))
        await log.close()

    asyncio.run(writers())
    stats = log.stats()
    assert stats.appends == 32 * 50
    # 32 writers each wait for their previous append: batches of about 32 appends
    assert disk.syncs <= stats.appends / 8
    assert disk.syncs == stats.syncs and disk.writes == stats.batches
    _, seen = replay(disk, PlogConfig())
    assert len(seen) == 1600


def test_appends_in_one_loop_iteration_share_one_write() -> None:
    disk = MemoryLogDisk()
    log, _ = replay(disk, PlogConfig())

    async def burst() -> None:
        await asyncio.gather(*(log.append(mutation(d)) for d in range(1, 101)))
        await log.close()

    asyncio.run(burst())
    assert disk.writes == 1 and disk.syncs == 2  # the block, and the new segment


def test_fsync_failure_fails_the_batch_and_the_log() -> None:
    disk = MemoryLogDisk()
    log, _ = replay(disk)

    async def run() -> None:
        await log.append(mutation(1))
        disk.inject(DiskFault(DiskOp.SYNC))
        results = await asyncio.gather(
            *(log.append(mutation(d)) for d in range(2, 12)), return_exceptions=True
        )
        assert all(isinstance(r, PlogFailedError) for r in results), results
        assert log.failed is not None and "Input/output error" in log.failed
        with pytest.raises(PlogFailedError, match="reopen"):
            await log.append(mutation(12))
        with pytest.raises(PlogFailedError):
            log.submit(mutation(12))
        await log.close()

    asyncio.run(run())

    # reopened: appends work again; the failed batch may or may not be there (it was
    # written to the page cache, never acknowledged)
    log2, seen = replay(disk)
    assert decrees(seen)[0] == 1

    async def again() -> None:
        await log2.append(mutation(20))
        await log2.close()

    asyncio.run(again())
    _, seen2 = replay(disk)
    assert decrees(seen2)[-1] == 20


def test_write_failure_reaches_queued_appenders_too() -> None:
    disk = GatedDisk()
    log, _ = replay(disk, ON_THREAD)

    async def run() -> None:
        first = log.submit(mutation(1))
        await asyncio.sleep(0)  # the first write is now blocked in the disk
        await asyncio.to_thread(disk.entered.wait)
        queued = [log.submit(mutation(d)) for d in range(2, 6)]
        disk.inject(DiskFault(DiskOp.WRITE, torn_bytes=7))
        disk.gate.set()
        for fut in [first, *queued]:
            with pytest.raises(PlogFailedError):
                await fut
        await log.close()

    asyncio.run(run())
    log2, seen = replay(disk)
    assert seen == [] and not log2.recovery.clean  # the torn block was dropped
    assert log2.recovery.dropped[0].length == 7


def test_back_pressure_waits_in_order_then_refuses() -> None:
    disk = GatedDisk()
    log, _ = replay(disk, ON_THREAD)

    async def run() -> None:
        first = log.submit(mutation(1, size=1000))
        await asyncio.to_thread(disk.entered.wait)
        d = 2
        queued = []
        while log.stats().appends == d - 1:  # room in the pending queue
            queued.append(log.submit(mutation(d, size=1000)))
            d += 1
        # the last submit found the queue full: it waits, as do the next ones, in order
        waiting: list[Any] = [queued.pop()]
        waiting += [log.submit(mutation(d + i, size=1000)) for i in range(2)]
        d += 2
        waiting += [
            asyncio.ensure_future(log.append(mutation(d + i, size=1000)))
            for i in range(SMALL.append_waiters_max - 3)
        ]
        await asyncio.sleep(0)
        assert not any(w.done() for w in waiting)
        with pytest.raises(PlogBusyError):  # past append_waiters_max
            log.submit(mutation(999, size=1000))
        with pytest.raises(PlogBusyError):
            await log.append(mutation(999, size=1000))
        disk.gate.set()
        await asyncio.gather(first, *queued, *waiting)
        await log.close()

    asyncio.run(run())
    _, seen = replay(disk)
    got = decrees(seen)
    assert got == sorted(got) and len(got) == got[-1]


def test_cancelled_waiter_is_skipped() -> None:
    disk = GatedDisk()
    log, _ = replay(disk, ON_THREAD)

    async def run() -> None:
        first = log.submit(mutation(1, size=3000))
        await asyncio.to_thread(disk.entered.wait)
        second = log.submit(mutation(2, size=3000))
        third = log.submit(mutation(3, size=3000))
        blocked = asyncio.ensure_future(log.append(mutation(4, size=3000)))
        after = asyncio.ensure_future(log.append(mutation(5, size=3000)))
        await asyncio.sleep(0)
        blocked.cancel()
        disk.gate.set()
        await asyncio.gather(first, second, third, after)
        await log.close()

    asyncio.run(run())
    _, seen = replay(disk)
    assert decrees(seen) == [1, 2, 3, 5]


def test_write_on_loop_batches_a_pass_and_fails_everything_after_a_fault() -> None:
    disk = MemoryLogDisk()
    log, _ = replay(disk)
    assert log.config.write_on == "loop"

    async def run() -> None:
        # appends of one pass (and of the pass after it) go out as one block
        first = [log.submit(mutation(d)) for d in range(1, 6)]
        await asyncio.gather(*first)
        assert log.stats().batches == 1
        disk.inject(DiskFault(DiskOp.WRITE, torn_bytes=5))
        doomed = [log.submit(mutation(d)) for d in range(6, 9)]
        for fut in doomed:
            with pytest.raises(PlogFailedError):
                await fut
        with pytest.raises(PlogFailedError):
            log.submit(mutation(9))
        await log.close()

    asyncio.run(run())
    log2, seen = replay(disk)
    assert decrees(seen) == [1, 2, 3, 4, 5] and log2.recovery.dropped[0].length == 5


def test_close_flushes_and_then_refuses() -> None:
    disk = MemoryLogDisk()
    log, _ = replay(disk)

    async def run() -> None:
        futures = [log.submit(mutation(d)) for d in range(1, 20)]
        await log.close()
        assert all(f.done() and f.exception() is None for f in futures)
        with pytest.raises(PlogClosedError):
            log.submit(mutation(20))

    asyncio.run(run())
    assert len(replay(disk)[1]) == 19


def test_fsync_off_syncs_only_segment_boundaries() -> None:
    disk = MemoryLogDisk()
    config = PlogConfig(
        segment_bytes_max=16 * 1024, block_bytes_max=4096, pending_bytes_max=8192, fsync=False
    )
    log, _ = replay(disk, config)

    async def run() -> None:
        for d in range(1, 200):
            await log.append(mutation(d, size=100))
        await log.close()

    asyncio.run(run())
    segments = len(log.segments())
    assert segments > 2
    # one synced creation per segment, one seal of the previous segment per roll
    assert disk.syncs == 2 * segments - 1
    assert len(replay(disk, config)[1]) == 199


class GatedDisk(MemoryLogDisk):
    """A twin whose block writes wait for ``gate``, to hold a write in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def write(self, name: str, offset: int, data: bytes) -> None:
        self.entered.set()
        self.gate.wait(timeout=10)
        super().write(name, offset, data)
