"""The meta server's state store: a tree of small versioned nodes, as ZooKeeper keeps it.

Two implementations share these semantics: ``memory.MemoryStore`` (unit tests, simulator)
and ``zookeeper.ZooKeeperStore`` (kazoo, real ZooKeeper).

Semantics (ZooKeeper's):
- A node has bytes and a version: 0 at creation, +1 on every write. ``version=ANY_VERSION``
  skips the check; any other version must equal the stored one or ``BadVersion`` is raised.
- A node is created under an existing parent (``make_parents`` creates missing ones, empty)
  and deleted only without children (``NotEmpty``).
- ``commit`` applies a list of operations atomically: all or none. A failing operation
  raises the error it would raise alone, with ``op_index`` set.
- The store tells listeners about its session: ``SUSPENDED`` (connection lost; the session
  may survive, nothing is known), ``CONNECTED`` (connected, again or for the first time),
  ``LOST`` (the session expired: ephemeral nodes and watches are gone). A meta leader stops
  acting on SUSPENDED and LOST. Listeners run on the store's thread: they must not block
  and must not call the store.

Errors: ``StoreUnavailable`` is retriable (the store did not answer in time). When it is
raised by a write, ``maybe_applied`` says whether the request may have reached the server
before the connection broke: the caller then reads the node back to learn the outcome.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from typing import ClassVar, Protocol

from pegasus_log.frozen import frozen

ANY_VERSION = -1


class StoreError(Exception):
    """Base of the store's operating errors."""

    retriable: ClassVar[bool] = False

    def __init__(self, message: str, *, path: str = "", op_index: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.op_index = op_index


class NoNode(StoreError):
    """The node (or, for a create, its parent) does not exist."""


class NodeExists(StoreError):
    """A create found the node already there."""


class BadVersion(StoreError):
    """The node's version is not the expected one: someone else wrote it."""


class NotEmpty(StoreError):
    """A delete found children under the node."""


class NodeTooLarge(StoreError):
    """A node or a transaction is larger than ``StoreLimits`` allow."""


class BadNodeData(StoreError):
    """A node holds bytes that do not decode as what the layout expects there."""


class StoreUnavailable(StoreError):
    """No answer within the retry deadline: connection down, or the server is gone."""

    retriable: ClassVar[bool] = True

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        op_index: int | None = None,
        maybe_applied: bool = False,
    ) -> None:
        super().__init__(message, path=path, op_index=op_index)
        self.maybe_applied = maybe_applied


class StoreClosed(StoreError):
    """The store was closed by its owner; no operation will succeed again."""


@frozen
class StoreLimits:
    # ZooKeeper refuses a request larger than jute.maxbuffer, 0xfffff bytes by default
    # (and drops the connection). 1,000,000 leaves 48 KiB for paths and framing.
    node_bytes_max: int = 1_000_000
    # A transaction is one request: the same ceiling for all its paths and data together,
    # counted as path + data + ``transaction_op_overhead_bytes`` per operation.
    transaction_bytes_max: int = 1_000_000
    # Jute framing of one multi operation: header, version, path and data lengths (< 32).
    transaction_op_overhead_bytes: int = 32


@frozen
class Versioned:
    data: bytes
    version: int


@frozen
class Create:
    path: str
    data: bytes = b""


@frozen
class SetData:
    path: str
    data: bytes
    version: int = ANY_VERSION


@frozen
class Delete:
    path: str
    version: int = ANY_VERSION


@frozen
class CheckVersion:
    path: str
    version: int


Op = Create | SetData | Delete | CheckVersion


class SessionEvent(enum.Enum):
    CONNECTED = "connected"
    SUSPENDED = "suspended"
    LOST = "lost"


SessionListener = Callable[[SessionEvent], None]


class MetaStateStore(Protocol):
    def create(self, path: str, data: bytes = b"", *, make_parents: bool = False) -> None: ...

    def read(self, path: str) -> Versioned: ...

    def write(self, path: str, data: bytes, *, version: int = ANY_VERSION) -> int:
        """Replace the node's data; returns its new version."""
        ...

    def delete(self, path: str, *, version: int = ANY_VERSION) -> None: ...

    def exists(self, path: str) -> bool: ...

    def children(self, path: str) -> list[str]:
        """Names (not paths) of the node's children, sorted."""
        ...

    def commit(self, ops: Sequence[Op]) -> None:
        """Apply all operations or none."""
        ...

    def add_session_listener(self, listener: SessionListener) -> None: ...

    def remove_session_listener(self, listener: SessionListener) -> None: ...

    def close(self) -> None: ...


def check_path(path: str) -> None:
    """Paths are absolute, slash-separated names; '.' and '..' are not names."""
    if path == "/":
        return
    if not path.startswith("/") or path.endswith("/"):
        raise ValueError(f"bad node path {path!r}")
    for name in path[1:].split("/"):
        if name in ("", ".", "..") or "\0" in name:
            raise ValueError(f"bad node path {path!r}")


def parent_of(path: str) -> str:
    assert path != "/", "the root has no parent"
    head = path.rsplit("/", 1)[0]
    return head or "/"


def check_sizes(ops: Sequence[Op], limits: StoreLimits) -> None:
    """Refuse what ZooKeeper would refuse by dropping the connection."""
    total = 0
    for i, op in enumerate(ops):
        check_path(op.path)
        data = op.data if isinstance(op, Create | SetData) else b""
        if len(data) > limits.node_bytes_max:
            raise NodeTooLarge(
                f"{len(data)} bytes for {op.path} exceed {limits.node_bytes_max}",
                path=op.path,
                op_index=i,
            )
        total += len(op.path) + len(data) + limits.transaction_op_overhead_bytes
    if len(ops) > 1 and total > limits.transaction_bytes_max:
        raise NodeTooLarge(
            f"transaction of {len(ops)} operations is {total} bytes, "
            f"over {limits.transaction_bytes_max}"
        )
