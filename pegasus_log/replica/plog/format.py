"""On-disk format of the log: segment names, the segment header, checksummed blocks.

A log is a directory of segments named ``log.<index>.<start_offset>`` (upstream's names):
``index`` counts segments from 1, ``start_offset`` is where the segment begins in the
log's global byte space (the previous segment's start plus its size).

Segment = header, then blocks. Header (little-endian)::

    b"PLOG" | u32 version=1 | u32 index | u64 start_offset | u32 entry count
    entry count x (i32 app_id, i32 partition_index, i64 max decree)
    u32 crc32 of every header byte before it

The entries record, per partition, the largest decree in all earlier segments (upstream's
``previous_log_max_decrees``): after garbage collection the first segment's header still
says which decrees were collected.

Block = one group-commit batch::

    u32 magic 0x504C4B42 ("BKLP" on disk) | u32 payload length | u64 global offset of
    this block | u32 crc32 over (length, offset, payload) | payload = whole mutation records

Checksum: zlib's CRC-32 (IEEE 802.3 polynomial), not upstream's CRC-32C. zlib's is in the
standard library and runs in C at several GB/s; CRC-32C would need a third-party wheel
(a pure-Python one is ~100x slower than the disk). Both catch every burst error up to 32
bits and all odd-bit errors, which is what torn writes and bit rot produce; the format
is ours (upstream logs are not read), so upstream compatibility does not apply. The block
carries its own global offset, so a stale or misplaced block never passes as the next one.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Mapping

from pegasus_log.frozen import frozen
from pegasus_log.rpc.thrift import Gpid

FILE_MAGIC = b"PLOG"
FILE_VERSION = 1
BLOCK_MAGIC = 0x504C4B42

_FILE_FIXED = struct.Struct("<4sIIQI")
_FILE_ENTRY = struct.Struct("<iiq")
_CRC = struct.Struct("<I")
_BLOCK = struct.Struct("<IIQI")
BLOCK_HEADER_BYTES = _BLOCK.size
TEMP_SUFFIX = ".tmp"

_NAME = re.compile(r"log\.([1-9][0-9]{0,9})\.(0|[1-9][0-9]{0,18})")


@frozen(order=True)
class SegmentName:
    index: int
    start_offset: int

    def __post_init__(self) -> None:
        assert 1 <= self.index < 1 << 32 and 0 <= self.start_offset < 1 << 63

    @property
    def file_name(self) -> str:
        return f"log.{self.index}.{self.start_offset}"

    @staticmethod
    def parse(file_name: str) -> SegmentName | None:
        """The segment a file name denotes, or None for any other file."""
        match = _NAME.fullmatch(file_name)
        if match is None:
            return None
        index, start = int(match.group(1)), int(match.group(2))
        if index >= 1 << 32 or start >= 1 << 63:
            return None
        return SegmentName(index, start)


@frozen
class SegmentHeader:
    name: SegmentName
    # Per partition, the largest decree in every earlier segment.
    previous_max_decrees: Mapping[Gpid, int]


def encode_header(header: SegmentHeader) -> bytes:
    entries = sorted(
        header.previous_max_decrees.items(), key=lambda kv: (kv[0].app_id, kv[0].partition_index)
    )
    parts = [
        _FILE_FIXED.pack(
            FILE_MAGIC, FILE_VERSION, header.name.index, header.name.start_offset, len(entries)
        )
    ]
    parts.extend(_FILE_ENTRY.pack(g.app_id, g.partition_index, d) for g, d in entries)
    body = b"".join(parts)
    return body + _CRC.pack(zlib.crc32(body))


def decode_header(data: bytes | memoryview, name: SegmentName) -> tuple[SegmentHeader, int]:
    """The header at the start of segment ``name`` and its length in bytes.

    Raises ValueError saying what is wrong when the bytes are not this segment's header.
    """
    view = memoryview(data)
    if len(view) < _FILE_FIXED.size + _CRC.size:
        raise ValueError("incomplete segment header")
    magic, version, index, start, count = _FILE_FIXED.unpack_from(view, 0)
    if magic != FILE_MAGIC:
        raise ValueError(f"bad segment magic {bytes(magic)!r}")
    length = _FILE_FIXED.size + count * _FILE_ENTRY.size + _CRC.size
    if length > len(view):
        raise ValueError("incomplete segment header")
    (crc,) = _CRC.unpack_from(view, length - _CRC.size)
    if zlib.crc32(view[: length - _CRC.size]) != crc:
        raise ValueError("segment header checksum mismatch")
    if version != FILE_VERSION:
        raise ValueError(f"unknown segment version {version}")
    if (index, start) != (name.index, name.start_offset):
        raise ValueError(f"header names segment {index}.{start}, file is {name.file_name}")
    decrees: dict[Gpid, int] = {}
    for i in range(count):
        app_id, pidx, decree = _FILE_ENTRY.unpack_from(
            view, _FILE_FIXED.size + i * _FILE_ENTRY.size
        )
        decrees[Gpid(app_id, pidx)] = decree
    return SegmentHeader(name, decrees), length


def encode_block(payload: bytes, global_offset: int) -> bytes:
    assert 0 < len(payload) < 1 << 32 and global_offset >= 0
    fields = struct.pack("<IQ", len(payload), global_offset)
    crc = zlib.crc32(payload, zlib.crc32(fields))
    return _BLOCK.pack(BLOCK_MAGIC, len(payload), global_offset, crc) + payload


@frozen
class BlockSpan:
    """A verified block: where it starts in its segment and where its payload lies."""

    offset: int
    payload_start: int
    payload_end: int


@frozen
class SegmentScan:
    """What a structural scan of one segment found (checksums, not mutation contents).

    ``problem`` is None when the scan reached the end cleanly; otherwise the segment is
    good up to ``valid_end`` and ``problem`` says what is wrong at ``valid_end``.
    """

    header: SegmentHeader | None
    header_bytes: int
    blocks: tuple[BlockSpan, ...]
    valid_end: int
    problem: str | None


def check_block(
    view: memoryview, pos: int, segment_start: int, block_bytes_max: int
) -> tuple[BlockSpan | None, str]:
    """The block at ``pos`` if it is whole and intact, else None and why not."""
    if len(view) - pos < BLOCK_HEADER_BYTES:
        return None, "incomplete block header"
    magic, length, offset, crc = _BLOCK.unpack_from(view, pos)
    if magic != BLOCK_MAGIC:
        return None, f"bad block magic {magic:#x}"
    if length == 0 or length > block_bytes_max:
        return None, f"block length {length} out of range"
    if offset != segment_start + pos:
        return None, f"block claims global offset {offset}, lies at {segment_start + pos}"
    end = pos + BLOCK_HEADER_BYTES + length
    if end > len(view):
        return None, "incomplete block"
    actual = zlib.crc32(view[pos + BLOCK_HEADER_BYTES : end], zlib.crc32(view[pos + 4 : pos + 16]))
    if actual != crc:
        return None, "block checksum mismatch"
    return BlockSpan(pos, pos + BLOCK_HEADER_BYTES, end), ""


def scan_segment(
    data: bytes | memoryview, name: SegmentName, *, block_bytes_max: int
) -> SegmentScan:
    view = memoryview(data)
    try:
        header, header_bytes = decode_header(view, name)
    except ValueError as e:
        return SegmentScan(None, 0, (), 0, str(e))
    blocks: list[BlockSpan] = []
    pos = header_bytes
    while pos < len(view):
        span, problem = check_block(view, pos, name.start_offset, block_bytes_max)
        if span is None:
            return SegmentScan(header, header_bytes, tuple(blocks), pos, problem)
        blocks.append(span)
        pos = span.payload_end
    return SegmentScan(header, header_bytes, tuple(blocks), pos, None)


def find_intact_block(
    data: bytes | memoryview, start: int, name: SegmentName, *, block_bytes_max: int
) -> int | None:
    """Offset of the first intact block at or after ``start``, if any.

    Used to tell a torn tail (nothing intact follows the damage) from damage in the middle
    of a segment (intact blocks follow it). Since a block must carry its own global offset
    and checksum, a false match is as unlikely as a CRC collision.
    """
    raw = bytes(data)
    view = memoryview(raw)
    needle = _BLOCK.pack(BLOCK_MAGIC, 0, 0, 0)[:4]
    pos = raw.find(needle, start)
    while pos != -1:
        span, _ = check_block(view, pos, name.start_offset, block_bytes_max)
        if span is not None:
            return pos
        pos = raw.find(needle, pos + 1)
    return None
