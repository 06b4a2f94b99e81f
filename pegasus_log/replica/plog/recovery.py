"""Opening a log directory: replay every intact mutation, repair a torn tail, refuse damage.

Rules, in order of the segments (by index):

- Leftover ``*.tmp`` files are segment creations that never finished: removed.
- Segments must follow each other: index + 1, and start where the previous one ends; the
  header's per-partition map must equal what the earlier segments hold. A break is damage.
- In the LAST segment, damage with no intact block after it is a torn tail (a write cut
  short by a crash): the segment is truncated where the damage starts (removed if its
  header is the torn part) and the dropped bytes are reported. Nothing acknowledged is
  lost: an append is acknowledged only once its whole block is written and synced.
- Damage anywhere else (in a non-last segment, or in the last one with intact blocks
  after it) is corruption: ``PlogCorruptionError``, unless ``force``, which drops the
  segment from the damage on and every later segment, and reports it.

Mutations are handed to ``on_mutation`` in log order as each segment is read. When
recovery raises, the caller must discard what it was handed.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import MappingProxyType

from pegasus_log.frozen import frozen
from pegasus_log.replica.plog.config import PlogConfig
from pegasus_log.replica.plog.core import SegmentInfo
from pegasus_log.replica.plog.disk import LogDisk
from pegasus_log.replica.plog.errors import PlogCorruptionError, PlogGarbageCollectedError
from pegasus_log.replica.plog.format import (
    TEMP_SUFFIX,
    SegmentName,
    find_intact_block,
    scan_segment,
)
from pegasus_log.replica.plog.mutation import (
    Mutation,
    MutationDecodeError,
    decode_mutation,
    encoded_size,
    iter_records,
    peek_gpid_decree,
)
from pegasus_log.rpc.thrift import Gpid


@frozen
class DroppedData:
    """Bytes recovery threw away: ``length`` bytes of ``file_name`` from ``offset``."""

    file_name: str
    offset: int
    length: int
    whole_file: bool
    reason: str


@frozen
class RecoveryReport:
    segments: int
    mutations: int
    # Global offset where the log ends (the next segment starts here).
    end_offset: int
    dropped: tuple[DroppedData, ...]
    removed_temp_files: tuple[str, ...]
    # Files in the directory that are not the log's; left alone.
    ignored_files: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.dropped


@frozen
class _Damage:
    offset: int
    reason: str
    # Damage found by reading blocks (may be a torn tail); False for a break between
    # segments or a header that disagrees with its predecessors.
    in_blocks: bool


def recover(
    disk: LogDisk,
    config: PlogConfig,
    *,
    on_mutation: Callable[[Mutation], None],
    force: bool = False,
) -> tuple[tuple[SegmentInfo, ...], RecoveryReport]:
    names = disk.list_names()
    temps = sorted(n for n in names if n.endswith(TEMP_SUFFIX))
    for temp in temps:
        disk.remove(temp)
    segments: list[SegmentName] = []
    ignored: list[str] = []
    for file_name in names:
        parsed = SegmentName.parse(file_name)
        if parsed is not None:
            segments.append(parsed)
        elif file_name not in temps:
            ignored.append(file_name)
    segments.sort()
    for before, after in itertools.pairwise(segments):
        if before.index == after.index:
            raise PlogCorruptionError(after.file_name, 0, f"two segments numbered {after.index}")

    kept: list[SegmentInfo] = []
    dropped: list[DroppedData] = []
    mutations = 0
    for position, name in enumerate(segments):
        is_last = position == len(segments) - 1
        data = b""
        damage = _check_sequence(kept, name)
        if damage is None:
            data = disk.read(name.file_name)
            info, damage, count = _replay_segment(data, name, kept, config, on_mutation)
            mutations += count
            if damage is None:
                kept.append(info)
                continue
        assert damage is not None
        torn = is_last and damage.in_blocks and not _intact_after(data, name, damage, config)
        if not torn and not force:
            raise PlogCorruptionError(name.file_name, damage.offset, damage.reason)
        reason = ("torn tail: " if torn else "corruption: ") + damage.reason
        kept_info = _cut(disk, name, data, damage, reason, dropped, kept, config)
        if kept_info is not None:
            kept.append(kept_info)
        for later in segments[position + 1 :]:
            size = len(disk.read(later.file_name))
            disk.remove(later.file_name)
            why = f"follows corruption in {name.file_name}"
            dropped.append(DroppedData(later.file_name, 0, size, True, why))
        break

    # What was replayed may include bytes written but never synced (the process died,
    # or an fsync failed, before they were durable). The log goes on after them, so make
    # them durable now: a later power loss must not cut a hole before newer records.
    for info in kept:
        disk.sync(info.name.file_name)
    end = kept[-1].end_offset if kept else 0
    report = RecoveryReport(
        len(kept), mutations, end, tuple(dropped), tuple(temps), tuple(sorted(ignored))
    )
    return tuple(kept), report


def _check_sequence(kept: Sequence[SegmentInfo], name: SegmentName) -> _Damage | None:
    if not kept:
        return None
    previous = kept[-1]
    if name.index != previous.name.index + 1:
        return _Damage(0, f"segment {previous.name.index + 1} is missing", in_blocks=False)
    if name.start_offset != previous.end_offset:
        return _Damage(
            0,
            f"starts at {name.start_offset} but {previous.name.file_name} ends at "
            f"{previous.end_offset}",
            in_blocks=False,
        )
    return None


def _replay_segment(
    data: bytes,
    name: SegmentName,
    kept: Sequence[SegmentInfo],
    config: PlogConfig,
    on_mutation: Callable[[Mutation], None],
) -> tuple[SegmentInfo, _Damage | None, int]:
    """Hand over the segment's intact mutations; (what is intact, damage found, count)."""
    scan = scan_segment(data, name, block_bytes_max=config.block_bytes_max)
    if scan.header is None:
        assert scan.problem is not None
        empty = SegmentInfo(name, 0, MappingProxyType({}), MappingProxyType({}))
        return empty, _Damage(0, scan.problem, in_blocks=True), 0
    if kept:
        expected = _max_decrees_through(kept[-1])
        if dict(scan.header.previous_max_decrees) != expected:
            empty = SegmentInfo(name, 0, MappingProxyType({}), MappingProxyType({}))
            reason = "header's partition decrees disagree with earlier segments"
            return empty, _Damage(0, reason, in_blocks=False), 0
    decrees: dict[Gpid, int] = {}
    view = memoryview(data)
    count = 0
    damage: _Damage | None = None
    end = scan.header_bytes
    for span in scan.blocks:
        try:
            block = _decode_block(view[span.payload_start : span.payload_end])
        except MutationDecodeError as e:
            damage = _Damage(span.offset, f"undecodable block: {e}", in_blocks=True)
            break
        for mutation in block:
            on_mutation(mutation)
            decrees[mutation.gpid] = max(decrees.get(mutation.gpid, 0), mutation.decree)
        count += len(block)
        end = span.payload_end
    if damage is None and scan.problem is not None:
        damage = _Damage(scan.valid_end, scan.problem, in_blocks=True)
    info = SegmentInfo(
        name,
        end,
        MappingProxyType(dict(scan.header.previous_max_decrees)),
        MappingProxyType(decrees),
    )
    return info, damage, count


def _decode_block(payload: memoryview) -> list[Mutation]:
    return [decode_mutation(payload, start)[0] for start, _end in iter_records(payload)]


def _max_decrees_through(segment: SegmentInfo) -> dict[Gpid, int]:
    merged = dict(segment.previous_max_decrees)
    for gpid, decree in segment.max_decrees.items():
        merged[gpid] = max(merged.get(gpid, 0), decree)
    return merged


def _intact_after(data: bytes, name: SegmentName, damage: _Damage, config: PlogConfig) -> bool:
    found = find_intact_block(data, damage.offset + 1, name, block_bytes_max=config.block_bytes_max)
    return found is not None


def _cut(
    disk: LogDisk,
    name: SegmentName,
    data: bytes,
    damage: _Damage,
    reason: str,
    dropped: list[DroppedData],
    kept: list[SegmentInfo],
    config: PlogConfig,
) -> SegmentInfo | None:
    """Drop segment ``name`` from the damage on; what remains of it, if anything."""
    size = len(data) if data else len(disk.read(name.file_name))
    if damage.offset == 0:
        disk.remove(name.file_name)
        dropped.append(DroppedData(name.file_name, 0, size, True, reason))
        return None
    disk.truncate(name.file_name, damage.offset)
    dropped.append(DroppedData(name.file_name, damage.offset, size - damage.offset, False, reason))
    # Rebuild what is left without handing its mutations over a second time.
    info, rest, _count = _replay_segment(
        data[: damage.offset], name, kept, config, on_mutation=lambda _m: None
    )
    assert rest is None, "the part before the damage was intact"
    return info


def read_mutations(
    disk: LogDisk,
    segments: Sequence[SegmentInfo],
    gpid: Gpid,
    *,
    decree_gt: int,
    block_bytes_max: int,
) -> Iterator[Mutation]:
    """Mutations of ``gpid`` with decree > ``decree_gt``, in log order, read from the
    segment files (blocking I/O). Only the acknowledged bytes of each segment are read.

    A partition may appear more than once with one decree (re-prepared under a newer
    ballot after a primary change); the caller keeps the highest ballot, as replay does.
    """
    for segment in segments:
        if segment.max_decrees.get(gpid, 0) <= decree_gt:
            continue
        file_name = segment.name.file_name
        try:
            data = disk.read(file_name)
        except FileNotFoundError as e:
            raise PlogGarbageCollectedError(f"{file_name} was garbage collected") from e
        view = memoryview(data)[: segment.size]
        scan = scan_segment(view, segment.name, block_bytes_max=block_bytes_max)
        if scan.problem is not None:
            raise PlogCorruptionError(file_name, scan.valid_end, scan.problem)
        for span in scan.blocks:
            payload = view[span.payload_start : span.payload_end]
            try:
                for start, _end in iter_records(payload):
                    record_gpid, decree, _ = peek_gpid_decree(payload, start)
                    if record_gpid == gpid and decree > decree_gt:
                        yield decode_mutation(payload, start)[0]
            except MutationDecodeError as e:
                raise PlogCorruptionError(file_name, span.offset, str(e)) from e


def newest_per_decree(mutations: Iterable[Mutation], *, bytes_max: int) -> tuple[Mutation, ...]:
    """For a learner: from ``mutations`` in log order (``read_mutations``), the last record
    of every decree, in decree order, cut to the lowest decrees whose records take about
    ``bytes_max`` (``encoded_size``; at least one decree is kept whatever its size).

    The cut never leaves an older record of a decree in place of a newer one: once decrees
    above some ceiling are dropped for room, later records above it are ignored, and every
    decree at or below it keeps its last record. Memory stays near ``bytes_max`` however
    long the log is."""
    kept: dict[int, Mutation] = {}
    above: list[int] = []  # heap of -decree over ``kept``
    size = 0
    ceiling: int | None = None
    for mutation in mutations:
        decree = mutation.decree
        if ceiling is not None and decree > ceiling:
            continue
        old = kept.get(decree)
        if old is None:
            heapq.heappush(above, -decree)
        else:
            size -= encoded_size(old)
        kept[decree] = mutation
        size += encoded_size(mutation)
        while size > bytes_max and len(kept) > 1:
            top = -heapq.heappop(above)
            size -= encoded_size(kept.pop(top))
            ceiling = top - 1
    return tuple(kept[d] for d in sorted(kept))
