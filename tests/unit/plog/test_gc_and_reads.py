"""Garbage collection of segments and learning reads from them."""

from __future__ import annotations

import asyncio

import pytest

from pegasus_log.replica.plog import (
    DiskFault,
    DiskOp,
    LogDisk,
    MemoryLogDisk,
    MutationLog,
    PlogGarbageCollectedError,
)
from pegasus_log.rpc.thrift import Gpid
from tests.unit.plog.helpers import decrees, mutation, replay

A, B = Gpid(1, 0), Gpid(1, 1)


def two_partitions(disk: LogDisk, count: int) -> MutationLog:
    """Partition A at decree d and B at decree d // 2 + 1, one append each step."""
    log, _ = replay(disk)

    async def run() -> None:
        for d in range(1, count + 1):
            await log.append([mutation(d, pidx=0, size=150), mutation(d // 2 + 1, pidx=1)])

    asyncio.run(run())
    return log


def test_gc_removes_only_segments_covered_by_durable_decrees(disk: LogDisk) -> None:
    log = two_partitions(disk, 200)
    segments = log.segments()
    assert len(segments) >= 5
    # B is durable only up to a decree inside the third segment: two segments may go
    b_durable = segments[2].max_decrees[B] - 1
    result = asyncio.run(log.garbage_collect({A: 10**9, B: b_durable}))
    assert result.removed == tuple(s.name.file_name for s in segments[:2]) and not result.error
    assert result.removed_bytes == sum(s.size for s in segments[:2])
    assert sorted(disk.list_names()) == sorted(s.name.file_name for s in segments[2:])
    assert log.max_gced_decree(B) == segments[1].max_decrees[B] <= b_durable
    # nothing more without progress; a partition missing from the map holds everything
    assert asyncio.run(log.garbage_collect({A: 10**9, B: b_durable})).removed == ()
    assert asyncio.run(log.garbage_collect({A: 10**9})).removed == ()
    # everything durable: all but the current segment go
    result = asyncio.run(log.garbage_collect({A: 10**9, B: 10**9}))
    assert len(result.removed) == len(segments) - 3
    assert disk.list_names() == [segments[-1].name.file_name]

    # a reopened log replays what is left and remembers what was collected
    log2, seen = replay(disk)
    assert log2.recovery.clean and seen and log2.max_gced_decree(A) == segments[-2].max_decrees[A]
    assert min(m.decree for m in seen if m.gpid == A) == log2.max_gced_decree(A) + 1


def test_gc_never_removes_the_current_segment() -> None:
    disk = MemoryLogDisk()
    log = two_partitions(disk, 3)
    assert len(log.segments()) == 1
    assert asyncio.run(log.garbage_collect({A: 10**9, B: 10**9})).removed == ()


def test_gc_stops_at_a_failed_removal() -> None:
    disk = MemoryLogDisk()
    log = two_partitions(disk, 200)
    before = log.segments()
    disk.inject(DiskFault(DiskOp.REMOVE))
    result = asyncio.run(log.garbage_collect({A: 10**9, B: 10**9}))
    assert result.removed == () and before[0].name.file_name in result.error
    assert log.segments() == before
    assert len(asyncio.run(log.garbage_collect({A: 10**9, B: 10**9})).removed) == len(before) - 1


def test_learning_reads_one_partition_above_a_decree(disk: LogDisk) -> None:
    log = two_partitions(disk, 200)
    assert decrees(log.read_mutations(A, decree_gt=150)) == list(range(151, 201))
    got = list(log.read_mutations(B, decree_gt=90))
    assert all(m.gpid == B for m in got)
    assert decrees(got) == [d // 2 + 1 for d in range(1, 201) if d // 2 + 1 > 90]
    assert list(log.read_mutations(Gpid(7, 7), decree_gt=0)) == []
    assert list(log.read_mutations(A, decree_gt=200)) == []


def test_learning_read_sees_only_acknowledged_bytes() -> None:
    disk = MemoryLogDisk()
    log = two_partitions(disk, 20)
    reader = log.read_mutations(A, decree_gt=0)
    name = log.segments()[-1].name.file_name
    disk.set_file(name, disk.read(name) + b"\xde\xad" * 10)  # an unacknowledged tail
    assert decrees(reader) == list(range(1, 21))


def test_learning_read_of_a_collected_segment_fails_clearly() -> None:
    disk = MemoryLogDisk()
    log = two_partitions(disk, 200)
    reader = log.read_mutations(A, decree_gt=0)
    asyncio.run(log.garbage_collect({A: 10**9, B: 10**9}))
    with pytest.raises(PlogGarbageCollectedError):
        list(reader)
