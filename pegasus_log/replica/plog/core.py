"""The log's decisions, without I/O: group commit, segment rolling, garbage collection.

``PlogCore`` holds the pending queue and what is known to be on disk. A driver (the
asyncio runtime in ``log.py``, or the simulator) loops::

    core.submit(mutations, token)            # any time; PlogBusyError when full
    batch = core.flush()                     # None: idle, failed, or a write in flight
    perform_write(disk, batch)               # seal?, create?, write block, fdatasync?
    done = core.on_write_done(batch)         # tokens whose mutations are now durable
      or core.on_write_failed(batch, why)    # every token still waiting, to fail

Group commit: only one write is in flight; appends that arrive meanwhile queue up and
leave together as the next block, with one write and one fdatasync. Tokens are whatever
the driver uses to tell appenders (futures in the runtime, integers in tests).

Safety argument (durability before acknowledgement). A token is returned by
``on_write_done`` only for the batch that carried its mutations, and the driver calls it
only after the block's write and, when ``config.fsync`` is on, its fdatasync (and, for a
new segment, the synced creation of that file and its directory entry) returned without
error. A token's mutations all sit in that one block, so after a crash recovery replays
all of them or, if the block was torn, none; and since blocks are written one at a time in
offset order, every block before an acknowledged one is whole on disk too. After any
failure the core refuses all further writes (``failed``), so no later block can be
acknowledged on top of a block whose state on disk is unknown.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Generic, TypeVar

from pegasus_log.frozen import frozen
from pegasus_log.replica.plog.config import PlogConfig
from pegasus_log.replica.plog.errors import (
    MutationTooLargeError,
    PlogBusyError,
    PlogClosedError,
    PlogFailedError,
)
from pegasus_log.replica.plog.format import (
    BLOCK_HEADER_BYTES,
    SegmentHeader,
    SegmentName,
    encode_block,
    encode_header,
)
from pegasus_log.replica.plog.mutation import Mutation, encode_mutation
from pegasus_log.rpc.thrift import Gpid

T = TypeVar("T")


@frozen
class SegmentInfo:
    """What is known of one segment on disk."""

    name: SegmentName
    # Bytes written and acknowledged (header included).
    size: int
    # Per partition, the largest decree in all earlier segments (from its header).
    previous_max_decrees: Mapping[Gpid, int]
    # Per partition, the largest decree in this segment.
    max_decrees: Mapping[Gpid, int]

    @property
    def end_offset(self) -> int:
        return self.name.start_offset + self.size


@frozen
class WriteBatch(Generic[T]):
    """One group-commit batch, performed in this order: fdatasync ``seal`` if set; create
    ``segment`` durably if ``create`` is set (with those header bytes); write ``block`` at
    ``offset`` of it; fdatasync it if ``sync``.

    ``seal`` is set when a new segment starts while fsync is off: the segment it follows
    is synced first, so that a crash can lose a tail only in the last segment, never leave
    a later segment behind a shortened one (which recovery would refuse as a gap).
    """

    segment: SegmentName
    seal: SegmentName | None
    create: bytes | None
    offset: int
    block: bytes
    sync: bool
    tokens: tuple[T, ...]
    mutation_count: int
    max_decrees: Mapping[Gpid, int]


@frozen
class PlogStats:
    appends: int
    mutations: int
    batches: int
    # fdatasync calls made (one per batch with fsync on, plus one per new segment).
    syncs: int
    bytes_written: int


@dataclass(slots=True)
class _Append(Generic[T]):
    records: bytes
    count: int
    max_decrees: dict[Gpid, int]
    token: T


@dataclass(slots=True)
class _Segment:
    name: SegmentName
    size: int
    previous_max_decrees: dict[Gpid, int]
    max_decrees: dict[Gpid, int] = field(default_factory=dict)

    def info(self) -> SegmentInfo:
        return SegmentInfo(
            self.name,
            self.size,
            MappingProxyType(dict(self.previous_max_decrees)),
            MappingProxyType(dict(self.max_decrees)),
        )


class PlogCore(Generic[T]):
    def __init__(self, config: PlogConfig, segments: Sequence[SegmentInfo]) -> None:
        for before, after in itertools.pairwise(segments):
            assert after.name.index == before.name.index + 1
            assert after.name.start_offset == before.end_offset
        self._config = config
        self._segments: deque[_Segment] = deque(
            _Segment(s.name, s.size, dict(s.previous_max_decrees), dict(s.max_decrees))
            for s in segments
        )
        # The last recovered segment is sealed: the first write starts a new one, as
        # upstream does on open, so a tail cut by recovery is never written over.
        self._sealed = True
        self._pending: deque[_Append[T]] = deque()
        self._pending_bytes = 0
        self._pending_count = 0
        self._in_flight: WriteBatch[T] | None = None
        self._failed: str | None = None
        self._closing = False
        self._appends = 0
        self._mutations = 0
        self._batches = 0
        self._syncs = 0
        self._bytes = 0

    # ---- state ----

    @property
    def failed(self) -> str | None:
        """Why the log stopped taking writes, or None while it is healthy."""
        return self._failed

    @property
    def writing(self) -> bool:
        return self._in_flight is not None

    @property
    def pending_count(self) -> int:
        return self._pending_count

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    @property
    def drained(self) -> bool:
        return self._in_flight is None and not self._pending

    def segments(self) -> tuple[SegmentInfo, ...]:
        return tuple(s.info() for s in self._segments)

    def stats(self) -> PlogStats:
        return PlogStats(self._appends, self._mutations, self._batches, self._syncs, self._bytes)

    def max_gced_decree(self, gpid: Gpid) -> int:
        """The largest decree of ``gpid`` in segments already removed (0: none)."""
        if not self._segments:
            return 0
        return self._segments[0].previous_max_decrees.get(gpid, 0)

    def max_decree(self, gpid: Gpid) -> int:
        """The largest decree of ``gpid`` ever acknowledged by this log (0: none)."""
        return self._max_decrees_so_far().get(gpid, 0)

    # ---- appending ----

    def check_append(self, mutations: Sequence[Mutation]) -> None:
        """Raise the error ``submit`` would raise for reasons other than a full queue."""
        if self._failed is not None:
            raise PlogFailedError(f"plog failed ({self._failed}); reopen it to go on")
        if self._closing:
            raise PlogClosedError("plog is closed")
        assert mutations, "an append carries at least one mutation"

    def has_room(self, size: int, count: int) -> bool:
        return (
            self._pending_bytes + size <= self._config.pending_bytes_max
            and self._pending_count + count <= self._config.pending_mutations_max
        )

    def submit(self, mutations: Sequence[Mutation], token: T) -> None:
        """Queue ``mutations`` to be written together in one block; ``token`` comes back
        from ``on_write_done`` once they are durable.

        Raises PlogFailedError / PlogClosedError when the log takes no writes,
        MutationTooLargeError when they cannot fit in one block, PlogBusyError when the
        pending queue is full (back-pressure).
        """
        self.check_append(mutations)
        records = b"".join(encode_mutation(m) for m in mutations)
        if len(records) > self._config.block_bytes_max:
            raise MutationTooLargeError(
                f"append of {len(records)} bytes exceeds block_bytes_max "
                f"{self._config.block_bytes_max}"
            )
        if not self.has_room(len(records), len(mutations)):
            raise PlogBusyError(
                f"plog pending queue full ({self._pending_count} mutations, "
                f"{self._pending_bytes} bytes)"
            )
        decrees: dict[Gpid, int] = {}
        for m in mutations:
            decrees[m.gpid] = max(decrees.get(m.gpid, 0), m.decree)
        self._pending.append(_Append(records, len(mutations), decrees, token))
        self._pending_bytes += len(records)
        self._pending_count += len(mutations)
        self._appends += 1
        self._mutations += len(mutations)

    def flush(self) -> WriteBatch[T] | None:
        """The next batch to perform, or None when idle, failed or already writing."""
        if self._failed is not None or self._in_flight is not None or not self._pending:
            return None
        taken: list[_Append[T]] = []
        size = 0
        while (
            self._pending and size + len(self._pending[0].records) <= self._config.block_bytes_max
        ):
            append = self._pending.popleft()
            taken.append(append)
            size += len(append.records)
        assert taken, "submit admits only appends that fit in one block"
        self._pending_bytes -= size
        self._pending_count -= sum(a.count for a in taken)
        decrees: dict[Gpid, int] = {}
        for append in taken:
            for gpid, decree in append.max_decrees.items():
                decrees[gpid] = max(decrees.get(gpid, 0), decree)
        payload = b"".join(a.records for a in taken)
        segment, create, offset = self._place(BLOCK_HEADER_BYTES + len(payload))
        seal = None
        if create is not None and self._segments and not self._config.fsync:
            seal = self._segments[-1].name
        batch = WriteBatch(
            segment=segment,
            seal=seal,
            create=create,
            offset=offset,
            block=encode_block(payload, segment.start_offset + offset),
            sync=self._config.fsync,
            tokens=tuple(a.token for a in taken),
            mutation_count=sum(a.count for a in taken),
            max_decrees=MappingProxyType(decrees),
        )
        self._in_flight = batch
        return batch

    def _place(self, block_bytes: int) -> tuple[SegmentName, bytes | None, int]:
        """Where a block of ``block_bytes`` goes: (segment, header if new, offset)."""
        if self._segments and not self._sealed:
            current = self._segments[-1]
            fits = current.size + block_bytes <= self._config.segment_bytes_max
            if fits:
                return current.name, None, current.size
        if self._segments:
            last = self._segments[-1]
            name = SegmentName(last.name.index + 1, last.name.start_offset + last.size)
        else:
            name = SegmentName(1, 0)
        header = encode_header(SegmentHeader(name, self._max_decrees_so_far()))
        return name, header, len(header)

    def _max_decrees_so_far(self) -> dict[Gpid, int]:
        """Per partition, the largest decree in every segment (the next header's map)."""
        if not self._segments:
            return {}
        last = self._segments[-1]
        merged = dict(last.previous_max_decrees)
        for gpid, decree in last.max_decrees.items():
            merged[gpid] = max(merged.get(gpid, 0), decree)
        return merged

    def on_write_done(self, batch: WriteBatch[T]) -> tuple[T, ...]:
        """The batch is on disk (and synced if asked): its tokens may be told so."""
        assert batch is self._in_flight, "only the batch in flight can complete"
        self._in_flight = None
        if batch.create is not None:
            self._segments.append(
                _Segment(batch.segment, len(batch.create), self._max_decrees_so_far())
            )
            self._sealed = False
            self._syncs += 1
        if batch.seal is not None:
            self._syncs += 1
        current = self._segments[-1]
        assert current.name == batch.segment and current.size == batch.offset
        current.size += len(batch.block)
        for gpid, decree in batch.max_decrees.items():
            current.max_decrees[gpid] = max(current.max_decrees.get(gpid, 0), decree)
        self._batches += 1
        self._syncs += 1 if batch.sync else 0
        self._bytes += len(batch.block) + (len(batch.create) if batch.create else 0)
        return batch.tokens

    def on_write_failed(self, batch: WriteBatch[T], reason: str) -> tuple[T, ...]:
        """The batch's write or sync failed. The log stops taking writes; every token
        still waiting (this batch's and the queued ones) is returned, to be failed."""
        assert batch is self._in_flight, "only the batch in flight can fail"
        self._in_flight = None
        self._failed = f"{reason} while writing {batch.segment.file_name} at {batch.offset}"
        waiting = list(batch.tokens) + [a.token for a in self._pending]
        self._pending.clear()
        self._pending_bytes = 0
        self._pending_count = 0
        return tuple(waiting)

    def begin_close(self) -> None:
        """Take no more appends; queued ones still get written (see ``drained``)."""
        self._closing = True

    # ---- garbage collection ----

    def plan_gc(
        self, durable_decrees: Mapping[Gpid, int], *, reserve_bytes: int = 0
    ) -> tuple[SegmentName, ...]:
        """Segments that can go, oldest first: a prefix of the log whose every mutation
        is at or below the durable decree of its partition. A partition missing from
        ``durable_decrees`` keeps its segments (pass a dropped partition with a huge
        decree to release them). The last segment, the one being written, always stays.

        ``reserve_bytes``: of the segments that could go, the newest ones whose sizes add
        up to at most this stay anyway (upstream's log_private_reserve_max_size_mb), so
        a learner a little behind the durable decree still catches up from the log.
        """
        assert reserve_bytes >= 0
        removable: list[_Segment] = []
        for segment in list(self._segments)[:-1]:
            covered = all(
                decree <= durable_decrees.get(gpid, -1)
                for gpid, decree in segment.max_decrees.items()
            )
            if not covered:
                break
            removable.append(segment)
        kept = 0
        while removable and kept + removable[-1].size <= reserve_bytes:
            kept += removable.pop().size
        return tuple(s.name for s in removable)

    def on_removed(self, name: SegmentName) -> None:
        assert len(self._segments) > 1 and self._segments[0].name == name
        self._segments.popleft()
