"""Checkpoint files streamed from a primary to its learner, over the replica RPC port.

Upstream ships a learn checkpoint with its nfs service (copy requests of file blocks); ours
has three RPCs of its own (DESIGN.md section 4 leaves internal RPCs to us):

- ``RPC_PEGASUS_LOG_LEARN_FILES(handle)``: the checkpoint's decree and its files (name,
  size). The handle is the one the primary put in its LearnResponse (``CheckpointRef``):
  partition, sequence number and a random token.
- ``RPC_PEGASUS_LOG_LEARN_READ(handle, name, offset, length)``: up to ``length`` bytes of
  one file from ``offset``, cut to the server's chunk limit (1 MiB by default).
- ``RPC_PEGASUS_LOG_LEARN_RELEASE(handle)`` (one-way): the learner is done; the primary
  deletes the checkpoint. One never released is deleted once idle for a while.

The primary side (``CheckpointShelf``) serves only names it listed itself: a request
naming another file (``../x``, an absolute path, a file added later), an unknown handle,
a negative or past-the-end offset gets ERR_OBJECT_NOT_FOUND or ERR_INVALID_PARAMETERS and
nothing else happens. The learner side (``fetch_checkpoint``) checks what the primary
announces too (plain names only, bounded counts and sizes), writes every file and fsyncs
it and the directory before it reports success.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from pegasus_log.frozen import frozen
from pegasus_log.replica.store_dirs import fsync_dir
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.messages import RpcSpec
from pegasus_log.rpc.thrift import BINARY, I64, STRING, Field, ListOf
from pegasus_log.transport.connection import CallFailed, Connection
from pegasus_log.transport.server import RpcError

# ---- wire --------------------------------------------------------------------------------


@frozen
class LearnFilesRequest:
    handle: str = ""
    THRIFT: ClassVar = (Field(1, "handle", STRING),)


@frozen
class LearnFile:
    name: str = ""
    size: int = 0
    THRIFT: ClassVar = (Field(1, "name", STRING), Field(2, "size", I64))


@frozen
class LearnFilesResponse:
    decree: int = 0
    files: list[LearnFile] = field(default_factory=list)
    THRIFT: ClassVar = (Field(1, "decree", I64), Field(2, "files", ListOf(LearnFile)))


@frozen
class LearnReadRequest:
    handle: str = ""
    name: str = ""
    offset: int = 0
    length: int = 0
    THRIFT: ClassVar = (
        Field(1, "handle", STRING),
        Field(2, "name", STRING),
        Field(3, "offset", I64),
        Field(4, "length", I64),
    )


@frozen
class LearnReadResponse:
    data: bytes = b""
    file_size: int = 0
    THRIFT: ClassVar = (Field(1, "data", BINARY), Field(2, "file_size", I64))


LEARN_FILES = RpcSpec("RPC_PEGASUS_LOG_LEARN_FILES", LearnFilesRequest, LearnFilesResponse)
LEARN_READ = RpcSpec("RPC_PEGASUS_LOG_LEARN_READ", LearnReadRequest, LearnReadResponse)
LEARN_RELEASE = RpcSpec("RPC_PEGASUS_LOG_LEARN_RELEASE", LearnFilesRequest, None, oneway=True)


def plain_name(name: str) -> bool:
    """A file name with no directory part: the only kind a checkpoint holds."""
    return (
        bool(name)
        and name not in (".", "..")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
        and len(name.encode()) <= 255
    )


# ---- primary: the shelf of checkpoints made for learners ----------------------------------


class ShelfFullError(Exception):
    """Too many learn checkpoints exist; the learner asks again later."""


@dataclass(slots=True)
class _Entry:
    path: Path
    decree: int = -1  # -1: still being made
    files: dict[str, int] = field(default_factory=dict)
    last_used: float = 0.0


class CheckpointShelf:
    """The checkpoints this server made for learners, under ``root`` (emptied at open).

    Called on the event loop, except ``read`` and ``scan``, which block (worker thread).
    """

    def __init__(
        self,
        root: Path,
        *,
        chunk_bytes_max: int,
        keep_s: float,
        count_max: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._root = root
        self._chunk_bytes_max = chunk_bytes_max
        self._keep_s = keep_s
        self._count_max = count_max
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._seq = 0

    def reset(self) -> None:
        """Drop every checkpoint left by an earlier run (blocking)."""
        shutil.rmtree(self._root, ignore_errors=True)
        self._root.mkdir(parents=True)

    def __len__(self) -> int:
        return len(self._entries)

    def reserve(self, app_id: int, partition_index: int) -> tuple[str, Path]:
        """A new handle and the (absent) directory to checkpoint into."""
        if len(self._entries) >= self._count_max:
            raise ShelfFullError(f"{len(self._entries)} learn checkpoints exist")
        self._seq += 1
        handle = f"{app_id}.{partition_index}.{self._seq}.{secrets.token_hex(8)}"
        entry = _Entry(self._root / handle, last_used=self._clock())
        self._entries[handle] = entry
        return handle, entry.path

    @staticmethod
    def scan(path: Path) -> dict[str, int]:
        """The regular files of a checkpoint directory and their sizes (blocking)."""
        return {
            e.name: e.stat(follow_symlinks=False).st_size
            for e in os.scandir(path)
            if e.is_file(follow_symlinks=False)
        }

    def publish(self, handle: str, decree: int, files: dict[str, int]) -> None:
        entry = self._entries.get(handle)
        if entry is None:
            return  # released or expired while being made; its directory is gone
        entry.decree = decree
        entry.files = files
        entry.last_used = self._clock()

    def discard(self, handle: str) -> None:
        entry = self._entries.pop(handle, None)
        if entry is not None:
            shutil.rmtree(entry.path, ignore_errors=True)

    def expire(self) -> list[str]:
        """Delete the checkpoints idle for longer than ``keep_s``; their handles."""
        now = self._clock()
        old = [h for h, e in self._entries.items() if now - e.last_used > self._keep_s]
        for handle in old:
            self.discard(handle)
        return old

    def _ready(self, handle: str) -> _Entry:
        entry = self._entries.get(handle)
        if entry is None or entry.decree < 0:
            raise RpcError(ErrorCode.ERR_OBJECT_NOT_FOUND, f"no learn checkpoint {handle!r}")
        entry.last_used = self._clock()
        return entry

    def listing(self, request: LearnFilesRequest) -> LearnFilesResponse:
        entry = self._ready(request.handle)
        files = [LearnFile(name, size) for name, size in sorted(entry.files.items())]
        return LearnFilesResponse(entry.decree, files)

    def check_read(self, request: LearnReadRequest) -> tuple[Path, int, int, int]:
        """Validate a read (on the event loop): the file's path, the offset, the byte
        count to read and the file's size. Raises RpcError for anything but a listed file
        and a sane range."""
        entry = self._ready(request.handle)
        size = entry.files.get(request.name)
        if size is None:
            raise RpcError(ErrorCode.ERR_OBJECT_NOT_FOUND, f"no file {request.name!r}")
        if request.offset < 0 or request.offset > size or request.length < 0:
            raise RpcError(
                ErrorCode.ERR_INVALID_PARAMETERS,
                f"offset {request.offset} length {request.length} of a {size}-byte file",
            )
        length = min(request.length, self._chunk_bytes_max, size - request.offset)
        return entry.path / request.name, request.offset, length, size

    @staticmethod
    def read(path: Path, offset: int, length: int) -> bytes:
        """Blocking; raises OSError."""
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(length)


# ---- learner: fetching a checkpoint ------------------------------------------------------


class FetchError(Exception):
    """The checkpoint could not be fetched; nothing outside the fetch directory changed."""


@frozen
class FetchResult:
    decree: int
    files: int
    bytes: int


@frozen
class FetchLimits:
    chunk_bytes: int
    files_max: int
    bytes_max: int
    timeout_s: float


async def fetch_checkpoint(
    conn: Connection,
    handle: str,
    dest: Path,
    limits: FetchLimits,
    *,
    on_chunk: Callable[[int], None] = lambda _n: None,
) -> FetchResult:
    """Copy checkpoint ``handle`` from the primary behind ``conn`` into the new directory
    ``dest``, every file and the directory fsync'd. ``on_chunk`` hears each chunk's size.
    Raises FetchError (the caller removes ``dest``)."""
    try:
        listing: LearnFilesResponse = await conn.call(
            LEARN_FILES, LearnFilesRequest(handle), timeout_s=limits.timeout_s
        )
    except CallFailed as e:
        raise FetchError(f"listing {handle}: {e}") from e
    _check_listing(listing, limits)
    await asyncio.to_thread(dest.mkdir)
    total = 0
    for f in listing.files:
        total += await _fetch_file(conn, handle, f, dest / f.name, limits, on_chunk)
    await asyncio.to_thread(fsync_dir, dest)
    return FetchResult(listing.decree, len(listing.files), total)


def _check_listing(listing: LearnFilesResponse, limits: FetchLimits) -> None:
    if listing.decree < 0:
        raise FetchError(f"checkpoint decree {listing.decree}")
    if len(listing.files) > limits.files_max:
        raise FetchError(f"{len(listing.files)} files, more than {limits.files_max}")
    names = [f.name for f in listing.files]
    if len(set(names)) != len(names) or not all(plain_name(n) for n in names):
        raise FetchError(f"bad file names in checkpoint listing: {names[:10]}")
    if any(f.size < 0 for f in listing.files):
        raise FetchError("negative file size in checkpoint listing")
    total = sum(f.size for f in listing.files)
    if total > limits.bytes_max:
        raise FetchError(f"{total} bytes, more than {limits.bytes_max}")


async def _fetch_file(
    conn: Connection,
    handle: str,
    f: LearnFile,
    path: Path,
    limits: FetchLimits,
    on_chunk: Callable[[int], None],
) -> int:
    fd = await asyncio.to_thread(os.open, path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        offset = 0
        while offset < f.size:
            request = LearnReadRequest(handle, f.name, offset, limits.chunk_bytes)
            try:
                reply: LearnReadResponse = await conn.call(
                    LEARN_READ, request, timeout_s=limits.timeout_s
                )
            except CallFailed as e:
                raise FetchError(f"reading {f.name} at {offset}: {e}") from e
            if reply.file_size != f.size or not reply.data:
                raise FetchError(f"{f.name}: {len(reply.data)} bytes at {offset} of {f.size}")
            if len(reply.data) > min(limits.chunk_bytes, f.size - offset):
                raise FetchError(f"{f.name}: {len(reply.data)} bytes sent, more than asked")
            await asyncio.to_thread(_pwrite_all, fd, reply.data, offset)
            offset += len(reply.data)
            on_chunk(len(reply.data))
        await asyncio.to_thread(os.fsync, fd)
    finally:
        os.close(fd)
    return f.size


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written
