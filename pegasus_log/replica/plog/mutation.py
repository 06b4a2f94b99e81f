"""A mutation, the unit of PacificA replication and of the log, and its binary record.

A mutation is one or more client writes that the primary prepared together under one
(ballot, decree). Its record in the log is little-endian and self-delimiting:

    u32  record length (the bytes after this field)
    i32  app_id            i32  partition_index
    i64  ballot            i64  decree
    i64  last_committed_decree
    i64  timestamp_us
    u32  update count
    then per update:  u16 name length, u32 body length, name (UTF-8), body

The length prefix lets a reader skip the mutations of other partitions without decoding
their updates. Little-endian because the log never leaves the machine that wrote it and
every machine this project runs on is little-endian; the order is fixed here all the same.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

from pegasus_log.frozen import frozen
from pegasus_log.rpc.thrift import Gpid

_LENGTH = struct.Struct("<I")
_HEADER = struct.Struct("<iiqqqqI")
_UPDATE = struct.Struct("<HI")

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT64_MAX = (1 << 63) - 1
UPDATE_NAME_BYTES_MAX = (1 << 16) - 1
UPDATE_BODY_BYTES_MAX = (1 << 32) - 1
# Fixed bytes of one record: the length prefix and the header.
RECORD_OVERHEAD_BYTES = _LENGTH.size + _HEADER.size
# Fixed bytes of one update inside a record.
UPDATE_OVERHEAD_BYTES = _UPDATE.size


class MutationDecodeError(ValueError):
    """Bytes that are not a mutation record (a checksummed block that still does not
    parse means a writer bug or corruption the checksum missed)."""


@frozen
class MutationUpdate:
    """One client write inside a mutation: its RPC name and its serialized request."""

    rpc_name: str
    body: bytes


@frozen
class Mutation:
    gpid: Gpid
    ballot: int
    decree: int
    last_committed_decree: int
    timestamp_us: int
    updates: tuple[MutationUpdate, ...]

    def __post_init__(self) -> None:
        problem = _field_problem(
            self.gpid.app_id,
            self.gpid.partition_index,
            self.ballot,
            self.decree,
            self.last_committed_decree,
            self.timestamp_us,
        )
        assert problem is None, problem
        for update in self.updates:
            assert isinstance(update, MutationUpdate)
            assert len(update.rpc_name.encode()) <= UPDATE_NAME_BYTES_MAX
            assert len(update.body) <= UPDATE_BODY_BYTES_MAX


def _field_problem(
    app_id: int,
    partition_index: int,
    ballot: int,
    decree: int,
    last_committed_decree: int,
    timestamp_us: int,
) -> str | None:
    """Why these header fields cannot form a mutation, or None when they can."""
    if not (INT32_MIN <= app_id <= INT32_MAX and 0 <= partition_index <= INT32_MAX):
        return f"bad gpid {app_id}.{partition_index}"
    if not 1 <= ballot <= INT64_MAX:
        return f"bad ballot {ballot}"
    if not 1 <= decree <= INT64_MAX:
        return f"bad decree {decree}"
    # PacificA: a mutation is prepared above the commit point it carries.
    if not 0 <= last_committed_decree < decree:
        return f"last_committed_decree {last_committed_decree} not below decree {decree}"
    if not 0 <= timestamp_us <= INT64_MAX:
        return f"bad timestamp_us {timestamp_us}"
    return None


def encoded_size(mutation: Mutation) -> int:
    """Bytes of ``encode_mutation(mutation)``, computed without encoding."""
    size = RECORD_OVERHEAD_BYTES
    for update in mutation.updates:
        size += UPDATE_OVERHEAD_BYTES + len(update.rpc_name.encode()) + len(update.body)
    return size


def encode_mutation(mutation: Mutation) -> bytes:
    parts: list[bytes] = [
        b"",
        _HEADER.pack(
            mutation.gpid.app_id,
            mutation.gpid.partition_index,
            mutation.ballot,
            mutation.decree,
            mutation.last_committed_decree,
            mutation.timestamp_us,
            len(mutation.updates),
        ),
    ]
    body_length = _HEADER.size
    for update in mutation.updates:
        name = update.rpc_name.encode()
        body = update.body
        parts.append(_UPDATE.pack(len(name), len(body)))
        parts.append(name)
        parts.append(body)
        body_length += UPDATE_OVERHEAD_BYTES + len(name) + len(body)
    parts[0] = _LENGTH.pack(body_length)
    return b"".join(parts)


def decode_mutation(data: bytes | memoryview, offset: int = 0) -> tuple[Mutation, int]:
    """The mutation whose record starts at ``offset``, and the offset just after it."""
    view = memoryview(data)
    end = _record_end(view, offset)
    pos = offset + _LENGTH.size
    if end - pos < _HEADER.size:
        raise MutationDecodeError(f"record at {offset} shorter than a mutation header")
    app_id, pidx, ballot, decree, committed, timestamp_us, count = _HEADER.unpack_from(view, pos)
    problem = _field_problem(app_id, pidx, ballot, decree, committed, timestamp_us)
    if problem is not None:
        raise MutationDecodeError(f"record at {offset}: {problem}")
    pos += _HEADER.size
    if count * UPDATE_OVERHEAD_BYTES > end - pos:
        raise MutationDecodeError(f"record at {offset}: {count} updates cannot fit")
    updates: list[MutationUpdate] = []
    for _ in range(count):
        if end - pos < _UPDATE.size:
            raise MutationDecodeError(f"record at {offset}: truncated update header")
        name_length, body_length = _UPDATE.unpack_from(view, pos)
        pos += _UPDATE.size
        if name_length + body_length > end - pos:
            raise MutationDecodeError(f"record at {offset}: update overruns the record")
        try:
            name = str(view[pos : pos + name_length], "utf-8")
        except UnicodeDecodeError as e:
            raise MutationDecodeError(f"record at {offset}: rpc name is not UTF-8") from e
        pos += name_length
        updates.append(MutationUpdate(name, bytes(view[pos : pos + body_length])))
        pos += body_length
    if pos != end:
        raise MutationDecodeError(f"record at {offset}: {end - pos} bytes left over")
    mutation = Mutation(Gpid(app_id, pidx), ballot, decree, committed, timestamp_us, tuple(updates))
    return mutation, end


def peek_gpid_decree(data: bytes | memoryview, offset: int) -> tuple[Gpid, int, int]:
    """(gpid, decree, end offset) of the record at ``offset``, without decoding updates."""
    view = memoryview(data)
    end = _record_end(view, offset)
    if end - offset - _LENGTH.size < _HEADER.size:
        raise MutationDecodeError(f"record at {offset} shorter than a mutation header")
    app_id, pidx, _ballot, decree, *_rest = _HEADER.unpack_from(view, offset + _LENGTH.size)
    return Gpid(app_id, pidx), decree, end


def iter_records(data: bytes | memoryview) -> Iterator[tuple[int, int]]:
    """(start, end) of each record in a block payload made of whole records."""
    view = memoryview(data)
    pos = 0
    while pos < len(view):
        end = _record_end(view, pos)
        yield pos, end
        pos = end


def decode_mutations(data: bytes | memoryview) -> list[Mutation]:
    """Every mutation of a block payload, in order."""
    mutations: list[Mutation] = []
    for start, _end in iter_records(data):
        mutations.append(decode_mutation(data, start)[0])
    return mutations


def _record_end(view: memoryview, offset: int) -> int:
    if len(view) - offset < _LENGTH.size:
        raise MutationDecodeError(f"record at {offset}: truncated length prefix")
    (length,) = _LENGTH.unpack_from(view, offset)
    end: int = offset + _LENGTH.size + length
    if end > len(view):
        raise MutationDecodeError(f"record at {offset}: {length} bytes overrun the block")
    return end
