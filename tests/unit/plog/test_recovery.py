"""Opening a damaged log: torn tails dropped, corruption refused unless forced."""

from __future__ import annotations

import asyncio
import random

import pytest

from pegasus_log.replica.plog import (
    DiskFault,
    DiskOp,
    LogDisk,
    MemoryLogDisk,
    MutationLog,
    PlogCorruptionError,
    PlogFailedError,
    SegmentName,
)
from pegasus_log.replica.plog.format import scan_segment
from tests.unit.plog.helpers import SMALL, decrees, disk_copy, mutation, replay, snapshot


def write_log(disk: LogDisk, count: int, *, size: int = 200) -> MutationLog:
    """``count`` appends of one mutation each, one block each, over several segments."""
    log, _ = replay(disk)

    async def run() -> None:
        for d in range(1, count + 1):
            await log.append(mutation(d, size=size))
        await log.close()

    asyncio.run(run())
    return log


def segment_files(files: dict[str, bytes]) -> list[str]:
    """Segment file names, oldest first."""
    named = [(SegmentName.parse(n), n) for n in files]
    return [n for s, n in sorted((s, n) for s, n in named if s is not None)]


def block_offsets(name: str, data: bytes) -> list[int]:
    segment = SegmentName.parse(name)
    assert segment is not None
    scan = scan_segment(data, segment, block_bytes_max=SMALL.block_bytes_max)
    assert scan.problem is None
    return [b.offset for b in scan.blocks]


def append_and_reopen(log: MutationLog, disk: LogDisk, decree: int) -> list[int]:
    async def run() -> None:
        await log.append(mutation(decree))
        await log.close()

    asyncio.run(run())
    reopened, seen = replay(disk)
    assert reopened.recovery.clean
    return decrees(seen)


def test_torn_tail_at_every_byte_of_the_last_block(disk: LogDisk) -> None:
    write_log(disk, 120)
    files = snapshot(disk)
    names = segment_files(files)
    assert len(names) > 2
    name = names[-1]
    data = files[name]
    start = block_offsets(name, data)[-1]
    for cut in range(start, len(data)):
        damaged = disk_copy(disk, {**files, name: data[:cut]})
        log, seen = replay(damaged)
        assert decrees(seen) == list(range(1, 120)), cut
        if cut == start:
            assert log.recovery.clean
        else:
            (dropped,) = log.recovery.dropped
            assert (dropped.file_name, dropped.offset, dropped.length) == (name, start, cut - start)
            assert dropped.reason.startswith("torn tail") and not dropped.whole_file
            assert len(damaged.read(name)) == start  # truncated on disk
        if cut in (start + 1, len(data) - 1):
            assert append_and_reopen(log, damaged, 500) == [*range(1, 120), 500]


def test_torn_tail_filled_with_garbage_is_dropped() -> None:
    disk = MemoryLogDisk()
    write_log(disk, 60)
    files = snapshot(disk)
    name = segment_files(files)[-1]
    data = files[name]
    start = block_offsets(name, data)[-1]
    rng = random.Random(7)
    for cut in range(start, len(data)):
        for filler in (b"\0", bytes([rng.randrange(256)])):
            torn = data[:cut] + filler * (len(data) - cut)
            if torn == data:
                continue
            _, seen = replay(MemoryLogDisk({**files, name: torn}))
            assert decrees(seen) == list(range(1, 60)), (cut, filler)


def test_torn_segment_header_removes_the_file(disk: LogDisk) -> None:
    write_log(disk, 30)
    files = snapshot(disk)
    name = segment_files(files)[-1]
    header_end = block_offsets(name, files[name])[0]
    previous = decrees(replay(disk_copy(disk, {k: v for k, v in files.items() if k != name}))[1])
    for cut in range(0, header_end, 7):
        damaged = disk_copy(disk, {**files, name: files[name][:cut]})
        log, seen = replay(damaged)
        assert decrees(seen) == previous
        assert log.recovery.dropped[0].whole_file and name not in damaged.list_names()


def test_corruption_in_a_middle_segment_is_refused_unless_forced(disk: LogDisk) -> None:
    write_log(disk, 120)
    files = snapshot(disk)
    names = segment_files(files)
    victim = names[1]
    offsets = block_offsets(victim, files[victim])
    hit = offsets[2] + 30  # inside the third block's payload
    damaged = bytearray(files[victim])
    damaged[hit] ^= 0x40
    disk = disk_copy(disk, {**files, victim: bytes(damaged)})
    with pytest.raises(PlogCorruptionError) as info:
        replay(disk)
    assert info.value.file_name == victim and info.value.offset == offsets[2]
    assert "checksum" in info.value.reason and "force=True" in str(info.value)
    assert snapshot(disk) == {**files, victim: bytes(damaged)}  # nothing changed

    log, seen = replay(disk, force=True)
    kept_before = len(block_offsets(names[0], files[names[0]]))
    assert decrees(seen) == list(range(1, kept_before + 3))
    first, *rest = log.recovery.dropped
    assert (first.file_name, first.offset) == (victim, offsets[2])
    assert [d.file_name for d in rest] == names[2:] and all(d.whole_file for d in rest)
    assert append_and_reopen(log, disk, 900)[-1] == 900


def test_corruption_in_the_last_segment_with_intact_blocks_after_is_refused(
    disk: LogDisk,
) -> None:
    write_log(disk, 40)
    files = snapshot(disk)
    name = segment_files(files)[-1]
    offsets = block_offsets(name, files[name])
    assert len(offsets) >= 3
    damaged = bytearray(files[name])
    damaged[offsets[0] + 2] ^= 0xFF  # the first block's magic
    disk = disk_copy(disk, {**files, name: bytes(damaged)})
    with pytest.raises(PlogCorruptionError, match="magic"):
        replay(disk)
    log, _ = replay(disk, force=True)
    assert log.recovery.dropped[0].reason.startswith("corruption")


def test_gap_between_segments_is_refused(disk: LogDisk) -> None:
    write_log(disk, 120)
    files = snapshot(disk)
    names = segment_files(files)
    missing = {k: v for k, v in files.items() if k != names[1]}
    with pytest.raises(PlogCorruptionError, match="missing"):
        replay(disk_copy(disk, missing))
    shortened = {**files, names[1]: files[names[1]][: block_offsets(names[1], files[names[1]])[-1]]}
    with pytest.raises(PlogCorruptionError, match="ends at"):
        replay(disk_copy(disk, shortened))


def test_leftover_temp_and_foreign_files() -> None:
    disk = MemoryLogDisk()
    write_log(disk, 5)
    disk.set_file("log.9.99999.tmp", b"half a header")
    disk.set_file("README", b"not ours")
    log, seen = replay(disk)
    assert decrees(seen) == [1, 2, 3, 4, 5]
    assert log.recovery.removed_temp_files == ("log.9.99999.tmp",)
    assert log.recovery.ignored_files == ("README",)
    assert "README" in disk.list_names() and "log.9.99999.tmp" not in disk.list_names()


class CrashingDisk(MemoryLogDisk):
    """A twin that, at its ``crash_at``-th fdatasync, takes a picture of what a power loss
    would leave at that moment: the batch in flight is written but not yet synced."""

    def __init__(self, rng: random.Random, crash_at: int, acknowledged: list[int]) -> None:
        super().__init__()
        self.rng = rng
        self.crash_at = crash_at
        self.acknowledged = acknowledged
        self.crashed: MemoryLogDisk | None = None
        self.acknowledged_before_crash: list[int] = []

    def sync(self, name: str) -> None:
        if self.crashed is None and self.syncs >= self.crash_at:
            self.acknowledged_before_crash = list(self.acknowledged)
            self.crashed = self.crash(self.rng)
        super().sync(name)


def crash_at_random(seed: int) -> tuple[list[int], MutationLog, list[int]]:
    """Four writers append; at a random fdatasync the machine loses power, keeping a
    random part of the unsynced bytes. (acknowledged decrees, reopened log, replayed)"""
    rng = random.Random(seed)
    acknowledged: list[int] = []
    disk = CrashingDisk(rng, rng.randrange(2, 40), acknowledged)
    log, _ = replay(disk)

    async def run() -> None:
        async def writer(w: int) -> None:
            for i in range(40):
                d = w * 1000 + i + 1
                await log.append(mutation(d, size=rng.randrange(1, 300)))
                acknowledged.append(d)

        await asyncio.gather(*(writer(w) for w in range(4)))
        await log.close()

    asyncio.run(run())
    assert disk.crashed is not None
    reopened, seen = replay(disk.crashed)
    return disk.acknowledged_before_crash, reopened, decrees(seen)


def test_crash_keeps_every_acknowledged_append() -> None:
    """Every acknowledged append survives a crash, and the log opens without force."""
    torn = 0
    for seed in range(20):
        acknowledged, reopened, replayed = crash_at_random(seed)
        assert set(acknowledged) <= set(replayed), f"lost acknowledged appends, seed {seed}"
        dropped = reopened.recovery.dropped
        assert all(d.reason.startswith("torn tail") for d in dropped), f"seed {seed}"
        torn += bool(dropped)
    assert torn >= 10, "crashes should mostly cut the block in flight"


def test_reopen_after_fsync_failure_sees_only_whole_blocks() -> None:
    disk = MemoryLogDisk()
    log, _ = replay(disk)

    async def run() -> None:
        for d in range(1, 10):
            await log.append(mutation(d))
        disk.inject(DiskFault(DiskOp.WRITE, torn_bytes=25))
        with pytest.raises(PlogFailedError):
            await log.append(mutation(10))
        await log.close()

    asyncio.run(run())
    log2, seen = replay(disk.crash())
    assert decrees(seen) == list(range(1, 10)) and log2.recovery.clean
