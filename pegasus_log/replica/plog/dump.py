"""Reading a log directory as it is, for people (the shell's ``mlog_dump``).

Unlike ``recovery``, nothing on disk changes: no torn tail is cut, no leftover file is
removed, and damage does not stop the reading. Each segment, in index order, yields its
mutations in log order, then, if it does not end cleanly, a ``DumpStop`` saying where
and why (a live server's last segment may end in a block still being written). A
segment that stops is read no further; the next one is read all the same.
"""

from __future__ import annotations

from collections.abc import Iterator

from pegasus_log.frozen import frozen
from pegasus_log.replica.plog.disk import LogDisk
from pegasus_log.replica.plog.format import SegmentName, scan_segment
from pegasus_log.replica.plog.mutation import (
    Mutation,
    MutationDecodeError,
    decode_mutation,
    iter_records,
)


@frozen
class DumpedMutation:
    mutation: Mutation
    segment: str
    # Where the record starts in the whole log (the segment's start offset + its position
    # in the file), and how many bytes it takes.
    log_offset: int
    log_length: int


@frozen
class DumpStop:
    segment: str
    log_offset: int
    reason: str


def dump_log(disk: LogDisk, *, block_bytes_max: int) -> Iterator[DumpedMutation | DumpStop]:
    """Every mutation record of the log on ``disk``, and where reading a segment stopped."""
    names = sorted(n for f in disk.list_names() if (n := SegmentName.parse(f)) is not None)
    for name in names:
        yield from _dump_segment(disk.read(name.file_name), name, block_bytes_max)


def _dump_segment(
    data: bytes, name: SegmentName, block_bytes_max: int
) -> Iterator[DumpedMutation | DumpStop]:
    file_name, base = name.file_name, name.start_offset
    scan = scan_segment(data, name, block_bytes_max=block_bytes_max)
    view = memoryview(data)
    for span in scan.blocks:
        payload = view[span.payload_start : span.payload_end]
        start = 0
        try:
            for start, end in iter_records(payload):
                mutation, _ = decode_mutation(payload, start)
                offset = base + span.payload_start + start
                yield DumpedMutation(mutation, file_name, offset, end - start)
        except MutationDecodeError as e:
            yield DumpStop(file_name, base + span.payload_start + start, f"undecodable record: {e}")
            return
    if scan.problem is not None:
        yield DumpStop(file_name, base + scan.valid_end, scan.problem)
