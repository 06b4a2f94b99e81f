"""The disk under the log: a Protocol, its real implementation on files, an in-memory twin.

The log needs little from a filesystem: list a directory, read a file whole, create a
file atomically, write at an offset, fdatasync, truncate, remove. ``FileLogDisk`` does it
with ``os`` calls on one directory. ``MemoryLogDisk`` keeps files in memory, models what
a crash keeps (only synced bytes, plus optionally a torn prefix of the rest), counts
writes and syncs, and fails chosen operations on demand: the unit tests and the simulator
run the log on it.

Every method may be called from a worker thread; the log never calls two at once.
"""

from __future__ import annotations

import errno
import os
import random
import threading
from collections import deque
from enum import Enum
from pathlib import Path
from typing import Protocol

from pegasus_log.frozen import frozen
from pegasus_log.replica.plog.format import TEMP_SUFFIX


class LogDisk(Protocol):
    def list_names(self) -> list[str]:
        """Names of the files in the log directory, in no particular order."""
        ...

    def read(self, name: str) -> bytes:
        """The whole file. Raises FileNotFoundError when it does not exist."""
        ...

    def create(self, name: str, data: bytes, *, sync: bool) -> None:
        """Make file ``name`` holding ``data``, atomically: after a crash it is either
        absent or whole. With ``sync`` the file and its directory entry are durable on
        return."""
        ...

    def write(self, name: str, offset: int, data: bytes) -> None:
        """Write ``data`` at ``offset`` of an existing file (page cache; see ``sync``)."""
        ...

    def sync(self, name: str) -> None:
        """Make every byte written to ``name`` durable (fdatasync)."""
        ...

    def truncate(self, name: str, size: int) -> None:
        """Cut ``name`` to ``size`` bytes, durably."""
        ...

    def remove(self, name: str) -> None:
        """Delete ``name``, durably."""
        ...

    def close(self) -> None:
        """Release file handles; the disk may be used again afterwards."""
        ...


class FileLogDisk:
    """The log directory on a real filesystem.

    Keeps one file descriptor open, for the segment being appended to; every other call
    opens and closes its own. Creation writes ``<name>.tmp``, fsyncs it, renames it and
    fsyncs the directory, so a segment name never denotes a half-written header.
    """

    __slots__ = ("_dir", "_dir_fd", "_fd", "_fd_name", "_lock")

    def __init__(self, directory: Path | str) -> None:
        self._dir = Path(directory)
        self._dir.mkdir(parents=True, exist_ok=True)
        self._dir_fd: int | None = None
        self._fd: int | None = None
        self._fd_name = ""
        self._lock = threading.Lock()

    @property
    def directory(self) -> Path:
        return self._dir

    def list_names(self) -> list[str]:
        return [p.name for p in self._dir.iterdir() if p.is_file()]

    def read(self, name: str) -> bytes:
        return (self._dir / name).read_bytes()

    def create(self, name: str, data: bytes, *, sync: bool) -> None:
        temp = self._dir / (name + TEMP_SUFFIX)
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, 0, data)
            if sync:
                os.fdatasync(fd)
        finally:
            os.close(fd)
        os.replace(temp, self._dir / name)
        if sync:
            self._sync_dir()

    def write(self, name: str, offset: int, data: bytes) -> None:
        _write_all(self._open(name), offset, data)

    def sync(self, name: str) -> None:
        os.fdatasync(self._open(name))

    def truncate(self, name: str, size: int) -> None:
        fd = os.open(self._dir / name, os.O_WRONLY)
        try:
            os.ftruncate(fd, size)
            os.fsync(fd)
        finally:
            os.close(fd)

    def remove(self, name: str) -> None:
        with self._lock:
            if self._fd is not None and self._fd_name == name:
                os.close(self._fd)
                self._fd = None
        os.unlink(self._dir / name)
        self._sync_dir()

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._dir_fd is not None:
                os.close(self._dir_fd)
                self._dir_fd = None

    def _open(self, name: str) -> int:
        with self._lock:
            if self._fd is not None and self._fd_name == name:
                return self._fd
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self._fd = os.open(self._dir / name, os.O_WRONLY)
            self._fd_name = name
            return self._fd

    def _sync_dir(self) -> None:
        with self._lock:
            if self._dir_fd is None:
                self._dir_fd = os.open(self._dir, os.O_RDONLY | os.O_DIRECTORY)
            os.fsync(self._dir_fd)


def _write_all(fd: int, offset: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


class DiskOp(Enum):
    CREATE = "create"
    WRITE = "write"
    SYNC = "sync"
    TRUNCATE = "truncate"
    REMOVE = "remove"
    READ = "read"


@frozen
class DiskFault:
    """One injected failure: the next ``op`` raises OSError(``errno``).

    ``torn_bytes`` (writes only): that many bytes of the write land before the error,
    as when a disk fills or a process dies in the middle of a write.
    """

    op: DiskOp
    errno: int = errno.EIO
    torn_bytes: int = 0


class MemoryLogDisk:
    """In-memory twin of ``FileLogDisk`` with a crash model and fault injection.

    ``files`` is what a reader sees (the page cache); ``durable`` is what survives
    ``crash()``: bytes reach it on ``sync``, on ``create(sync=True)``, ``truncate`` and
    ``remove``. Counters ``writes`` and ``syncs`` let tests see group commit at work.
    """

    def __init__(self, files: dict[str, bytes] | None = None) -> None:
        initial = dict(files or {})
        self._files: dict[str, bytearray] = {k: bytearray(v) for k, v in initial.items()}
        self._durable: dict[str, bytes] = initial
        self._faults: deque[DiskFault] = deque()
        self._lock = threading.Lock()
        self.writes = 0
        self.syncs = 0
        self.creates = 0
        self.removes = 0

    # ---- test and simulator controls ----

    def inject(self, fault: DiskFault) -> None:
        """Arm ``fault``; faults fire once each, in the order armed, on their op."""
        with self._lock:
            self._faults.append(fault)

    def snapshot(self) -> dict[str, bytes]:
        """What a reader sees now, file by file."""
        with self._lock:
            return {k: bytes(v) for k, v in self._files.items()}

    def set_file(self, name: str, data: bytes) -> None:
        """Replace a file's bytes, durably (for tests that damage a log)."""
        with self._lock:
            self._files[name] = bytearray(data)
            self._durable[name] = bytes(data)

    def crash(self, rng: random.Random | None = None) -> MemoryLogDisk:
        """A new disk holding what a power loss now would leave behind.

        Without ``rng`` only durable bytes survive. With it, each file also keeps a random
        prefix of its unsynced tail, as a disk that wrote some sectors in order before
        losing power would (real disks may also reorder sectors; the log's checksums and
        offsets catch that too, but the twin does not model it).
        """
        with self._lock:
            survivors: dict[str, bytes] = {}
            for name, durable in self._durable.items():
                current = self._files.get(name)
                kept = durable
                if (
                    rng is not None
                    and current is not None
                    and len(current) > len(durable)
                    and bytes(current[: len(durable)]) == durable
                ):
                    extra = rng.randint(0, len(current) - len(durable))
                    kept = bytes(current[: len(durable) + extra])
                survivors[name] = kept
            return MemoryLogDisk(survivors)

    # ---- LogDisk ----

    def list_names(self) -> list[str]:
        with self._lock:
            return list(self._files)

    def read(self, name: str) -> bytes:
        with self._lock:
            self._fault(DiskOp.READ)
            if name not in self._files:
                raise FileNotFoundError(errno.ENOENT, "no such file", name)
            return bytes(self._files[name])

    def create(self, name: str, data: bytes, *, sync: bool) -> None:
        with self._lock:
            self._fault(DiskOp.CREATE)
            self.creates += 1
            self._files[name] = bytearray(data)
            if sync:
                self.syncs += 1
                self._durable[name] = bytes(data)

    def write(self, name: str, offset: int, data: bytes) -> None:
        with self._lock:
            file = self._existing(name)
            self.writes += 1
            fault = self._take_fault(DiskOp.WRITE)
            if fault is not None:
                _put(file, offset, data[: fault.torn_bytes])
                raise OSError(fault.errno, os.strerror(fault.errno), name)
            _put(file, offset, data)

    def sync(self, name: str) -> None:
        with self._lock:
            file = self._existing(name)
            self.syncs += 1
            self._fault(DiskOp.SYNC)
            self._durable[name] = bytes(file)

    def truncate(self, name: str, size: int) -> None:
        with self._lock:
            file = self._existing(name)
            self._fault(DiskOp.TRUNCATE)
            del file[size:]
            self._durable[name] = bytes(file)

    def remove(self, name: str) -> None:
        with self._lock:
            self._existing(name)
            self._fault(DiskOp.REMOVE)
            self.removes += 1
            del self._files[name]
            self._durable.pop(name, None)

    def close(self) -> None:
        pass

    # ---- internals (lock held) ----

    def _existing(self, name: str) -> bytearray:
        file = self._files.get(name)
        if file is None:
            raise FileNotFoundError(errno.ENOENT, "no such file", name)
        return file

    def _take_fault(self, op: DiskOp) -> DiskFault | None:
        for fault in self._faults:
            if fault.op is op:
                self._faults.remove(fault)
                return fault
        return None

    def _fault(self, op: DiskOp) -> None:
        fault = self._take_fault(op)
        if fault is not None:
            raise OSError(fault.errno, os.strerror(fault.errno), op.value)


def _put(file: bytearray, offset: int, data: bytes) -> None:
    if len(file) < offset:
        file.extend(bytes(offset - len(file)))
    file[offset : offset + len(data)] = data
