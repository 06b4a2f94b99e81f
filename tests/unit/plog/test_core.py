"""The pure core: group commit, bounds, rolling, failure, GC planning."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pegasus_log.replica.plog import (
    MutationTooLargeError,
    PlogBusyError,
    PlogConfig,
    PlogCore,
    PlogFailedError,
    SegmentInfo,
    SegmentName,
    WriteBatch,
)
from pegasus_log.replica.plog.mutation import encoded_size
from pegasus_log.rpc.thrift import Gpid
from tests.unit.plog.helpers import SMALL, mutation


def complete(core: PlogCore[int]) -> list[WriteBatch[int]]:
    batches = []
    while (batch := core.flush()) is not None:
        assert core.on_write_done(batch) == batch.tokens
        batches.append(batch)
    return batches


def test_appends_while_writing_leave_together() -> None:
    core: PlogCore[int] = PlogCore(SMALL, ())
    core.submit([mutation(1)], 1)
    first = core.flush()
    assert first is not None and first.tokens == (1,)
    assert first.create is not None and first.segment == SegmentName(1, 0)
    for d in range(2, 12):
        core.submit([mutation(d)], d)
    assert core.flush() is None  # one write in flight at a time
    core.on_write_done(first)
    second = core.flush()
    assert second is not None and second.tokens == tuple(range(2, 12))
    assert second.create is None and second.offset == first.offset + len(first.block)
    assert second.mutation_count == 10 and second.sync
    core.on_write_done(second)
    assert core.drained and core.stats().batches == 2
    # one fdatasync per batch plus the new segment's creation
    assert core.stats().syncs == 3


def test_batch_bounded_by_block_size() -> None:
    config = PlogConfig(segment_bytes_max=1 << 20, block_bytes_max=4096, pending_bytes_max=1 << 16)
    core: PlogCore[int] = PlogCore(config, ())
    m = mutation(1, size=900)
    for d in range(1, 11):
        core.submit([mutation(d, size=900)], d)
    batches = complete(core)
    per_block = SMALL.block_bytes_max // encoded_size(m)
    assert [len(b.tokens) for b in batches] == [per_block, per_block, 10 - 2 * per_block]
    assert all(len(b.block) <= SMALL.block_bytes_max + 20 for b in batches)


def test_pending_bounds_push_back() -> None:
    core: PlogCore[int] = PlogCore(SMALL, ())
    count = 0
    with pytest.raises(PlogBusyError):
        while True:
            core.submit([mutation(count + 1, size=1)], count)
            count += 1
    assert count == SMALL.pending_mutations_max
    assert core.pending_count == SMALL.pending_mutations_max

    core2: PlogCore[int] = PlogCore(SMALL, ())
    size = encoded_size(mutation(1, size=1000))
    with pytest.raises(PlogBusyError):
        for d in range(1, 100):
            core2.submit([mutation(d, size=1000)], d)
    assert core2.pending_bytes <= SMALL.pending_bytes_max < core2.pending_bytes + size


def test_append_larger_than_a_block_is_refused() -> None:
    core: PlogCore[int] = PlogCore(SMALL, ())
    with pytest.raises(MutationTooLargeError):
        core.submit([mutation(1, size=SMALL.block_bytes_max)], 1)
    with pytest.raises(MutationTooLargeError):
        core.submit([mutation(d, size=1000) for d in range(1, 6)], 1)


def test_segments_roll_within_bound() -> None:
    core: PlogCore[int] = PlogCore(SMALL, ())
    for d in range(1, 200):
        core.submit([mutation(d, size=200)], d)
        complete(core)
    segments = core.segments()
    assert len(segments) > 3
    assert all(s.size <= SMALL.segment_bytes_max for s in segments)
    for before, after in itertools.pairwise(segments):
        assert after.name.start_offset == before.end_offset
        assert after.name.index == before.name.index + 1
        assert max(after.previous_max_decrees.values()) == max(
            before.max_decrees[Gpid(1, 0)], *before.previous_max_decrees.values(), 0
        )


def test_failure_fails_everyone_and_refuses() -> None:
    core: PlogCore[int] = PlogCore(SMALL, ())
    core.submit([mutation(1)], 1)
    batch = core.flush()
    assert batch is not None
    core.submit([mutation(2)], 2)
    assert core.on_write_failed(batch, "OSError: EIO") == (1, 2)
    assert core.failed is not None and "EIO" in core.failed
    assert core.flush() is None
    with pytest.raises(PlogFailedError, match="reopen"):
        core.submit([mutation(3)], 3)


def test_fsync_off_seals_previous_segment_on_roll() -> None:
    config = PlogConfig(
        segment_bytes_max=16 * 1024, block_bytes_max=4096, pending_bytes_max=8192, fsync=False
    )
    core: PlogCore[int] = PlogCore(config, ())
    batches = []
    for d in range(1, 100):
        core.submit([mutation(d, size=300)], d)
        batches += complete(core)
    assert not any(b.sync for b in batches)
    rolls = [b for b in batches if b.create is not None]
    assert rolls[0].seal is None and all(b.seal is not None for b in rolls[1:])


def test_gc_plan_is_a_prefix_and_keeps_the_current_segment() -> None:
    core: PlogCore[int] = PlogCore(SMALL, ())
    a, b = Gpid(1, 0), Gpid(1, 1)
    for d in range(1, 120):
        core.submit([mutation(d, pidx=0, size=200), mutation(d, pidx=1, size=200)], d)
        complete(core)
    segments = core.segments()
    assert len(segments) >= 4
    everything = {a: 10**9, b: 10**9}
    assert core.plan_gc(everything) == tuple(s.name for s in segments[:-1])
    # partition b lags: only segments entirely at or below its durable decree go
    lag = segments[2].max_decrees[b] - 1
    plan = core.plan_gc({a: 10**9, b: lag})
    assert plan == tuple(s.name for s in segments[:2])
    # a partition without a durable decree keeps its segments
    assert core.plan_gc({a: 10**9}) == ()
    for name in plan:
        core.on_removed(name)
    assert core.max_gced_decree(b) == segments[1].max_decrees[b]
    assert core.max_gced_decree(Gpid(9, 9)) == 0


def test_gc_plan_reserves_the_newest_removable_bytes() -> None:
    core: PlogCore[int] = PlogCore(SMALL, ())
    a = Gpid(1, 0)
    for d in range(1, 240):
        core.submit([mutation(d, pidx=0, size=300)], d)
        complete(core)
    segments = core.segments()
    assert len(segments) >= 4
    removable = segments[:-1]
    everything = {a: 10**9}
    assert core.plan_gc(everything, reserve_bytes=0) == tuple(s.name for s in removable)
    # exactly the newest removable segment fits in the reserve: it stays
    newest = removable[-1].size
    assert core.plan_gc(everything, reserve_bytes=newest) == tuple(s.name for s in removable[:-1])
    # one byte short of it: the reserve keeps nothing (whole segments only)
    assert core.plan_gc(everything, reserve_bytes=newest - 1) == tuple(s.name for s in removable)
    # a reserve as large as the log keeps everything
    total = sum(s.size for s in removable)
    assert core.plan_gc(everything, reserve_bytes=total) == ()
    # the reserve only trims the plan, it never adds a segment a partition still needs
    lag = removable[1].max_decrees[a] - 1
    assert core.plan_gc({a: lag}, reserve_bytes=0) == (removable[0].name,)
    assert core.plan_gc({a: lag}, reserve_bytes=removable[0].size) == ()


_GPIDS = (Gpid(1, 0), Gpid(1, 1), Gpid(2, 0))


@st.composite
def _log_and_decrees(
    draw: st.DrawFn,
) -> tuple[list[SegmentInfo], dict[Gpid, int], int]:
    """Segments with per-partition max decrees rising through the log, durable decrees
    for some partitions, and a reserve."""
    count = draw(st.integers(1, 8))
    segments: list[SegmentInfo] = []
    offset = 0
    latest = dict.fromkeys(_GPIDS, 0)
    for i in range(count):
        size = draw(st.integers(100, 5000))
        present = draw(st.sets(st.sampled_from(_GPIDS), max_size=3))
        previous = {g: d for g, d in latest.items() if d}
        for g in present:
            latest[g] += draw(st.integers(1, 20))
        max_decrees = {g: latest[g] for g in present}
        segments.append(SegmentInfo(SegmentName(i + 1, offset), size, previous, max_decrees))
        offset += size
    durable = {
        g: draw(st.integers(0, latest[g] + 5))
        for g in draw(st.sets(st.sampled_from(_GPIDS), max_size=3))
    }
    return segments, durable, draw(st.integers(0, 20000))


@given(_log_and_decrees())
def test_gc_plan_properties(case: tuple[list[SegmentInfo], dict[Gpid, int], int]) -> None:
    segments, durable, reserve = case
    core: PlogCore[int] = PlogCore(SMALL, segments)
    plan = core.plan_gc(durable, reserve_bytes=reserve)
    # a prefix of the log, never the current segment
    assert plan == tuple(s.name for s in segments[: len(plan)])
    assert len(plan) < len(segments)
    # nothing removed that a partition still needs (a missing partition needs everything)
    for s in segments[: len(plan)]:
        assert all(d <= durable.get(g, -1) for g, d in s.max_decrees.items())
    # the reserve keeps whole segments, the newest removable ones, as many as fit
    removable = len(core.plan_gc(durable))
    kept = segments[len(plan) : removable]
    assert sum(s.size for s in kept) <= reserve
    if len(plan) > 0:
        assert sum(s.size for s in kept) + segments[len(plan) - 1].size > reserve
