"""The in-memory twin of ``ZooKeeperStore``: same tree, versions and errors, no server.

For unit tests and the simulator. Beyond the ``MetaStateStore`` protocol it can play the
session going wrong: ``suspend`` (connection lost: every operation raises
``StoreUnavailable``), ``resume`` and ``expire_session``. Thread-safe; listeners are called
outside the lock, on the caller's thread.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from pegasus_log.meta.state.store import (
    ANY_VERSION,
    BadVersion,
    CheckVersion,
    Create,
    Delete,
    NodeExists,
    NoNode,
    NotEmpty,
    Op,
    SessionEvent,
    SessionListener,
    SetData,
    StoreClosed,
    StoreError,
    StoreLimits,
    StoreUnavailable,
    Versioned,
    check_path,
    check_sizes,
    parent_of,
)


@dataclass(slots=True)
class _Node:
    data: bytes
    version: int = 0
    children: set[str] = field(default_factory=set)


class MemoryStore:
    def __init__(self, *, limits: StoreLimits | None = None) -> None:
        self.limits = limits or StoreLimits()
        self._lock = threading.Lock()
        self._nodes: dict[str, _Node] = {"/": _Node(b"")}
        self._listeners: list[SessionListener] = []
        self._available = True
        self._closed = False

    # -- MetaStateStore -----------------------------------------------------------------

    def create(self, path: str, data: bytes = b"", *, make_parents: bool = False) -> None:
        check_sizes([Create(path, data)], self.limits)
        with self._lock:
            self._check_open(path)
            if make_parents:
                self._make_parents(path)
            self._apply(Create(path, data), self._nodes)

    def read(self, path: str) -> Versioned:
        check_path(path)
        with self._lock:
            self._check_open(path)
            node = self._get(path, self._nodes)
            return Versioned(node.data, node.version)

    def write(self, path: str, data: bytes, *, version: int = ANY_VERSION) -> int:
        check_sizes([SetData(path, data, version)], self.limits)
        with self._lock:
            self._check_open(path)
            self._apply(SetData(path, data, version), self._nodes)
            return self._nodes[path].version

    def delete(self, path: str, *, version: int = ANY_VERSION) -> None:
        check_path(path)
        with self._lock:
            self._check_open(path)
            self._apply(Delete(path, version), self._nodes)

    def exists(self, path: str) -> bool:
        check_path(path)
        with self._lock:
            self._check_open(path)
            return path in self._nodes

    def children(self, path: str) -> list[str]:
        check_path(path)
        with self._lock:
            self._check_open(path)
            return sorted(self._get(path, self._nodes).children)

    def commit(self, ops: Sequence[Op]) -> None:
        check_sizes(ops, self.limits)
        with self._lock:
            self._check_open("")
            # Work on a copy of the touched nodes; swap in only when every op succeeded.
            staged = _Overlay(self._nodes)
            for i, op in enumerate(ops):
                try:
                    self._apply(op, staged)
                except StoreError as e:
                    e.op_index = i
                    raise
            staged.merge_into(self._nodes)

    def add_session_listener(self, listener: SessionListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_session_listener(self, listener: SessionListener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def close(self) -> None:
        with self._lock:
            self._closed = True

    # -- playing faults -----------------------------------------------------------------

    def suspend(self) -> None:
        """The connection drops: operations fail with StoreUnavailable until resume."""
        with self._lock:
            was = self._available
            self._available = False
        if was:
            self._notify(SessionEvent.SUSPENDED)

    def resume(self) -> None:
        """The connection comes back within the session timeout: the session survives."""
        with self._lock:
            was = self._available
            self._available = True
        if not was:
            self._notify(SessionEvent.CONNECTED)

    def expire_session(self) -> None:
        """The session expires and a new one starts (data other than ephemerals stays)."""
        with self._lock:
            self._available = True
        self._notify(SessionEvent.LOST)
        self._notify(SessionEvent.CONNECTED)

    # -- inside -------------------------------------------------------------------------

    def _notify(self, event: SessionEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)

    def _check_open(self, path: str) -> None:
        if self._closed:
            raise StoreClosed("store is closed", path=path)
        if not self._available:
            raise StoreUnavailable("connection to the store is down", path=path)

    def _make_parents(self, path: str) -> None:
        missing: list[str] = []
        parent = parent_of(path)
        while parent not in self._nodes:
            missing.append(parent)
            parent = parent_of(parent)
        for p in reversed(missing):
            self._apply(Create(p, b""), self._nodes)

    @staticmethod
    def _get(path: str, nodes: dict[str, _Node] | _Overlay) -> _Node:
        node = nodes.get(path)
        if node is None:
            raise NoNode(f"no node {path}", path=path)
        return node

    def _apply(self, op: Op, nodes: dict[str, _Node] | _Overlay) -> None:
        check_path(op.path)
        if isinstance(op, Create):
            if op.path in nodes:
                raise NodeExists(f"node {op.path} exists", path=op.path)
            if op.path == "/":
                raise NodeExists("the root exists", path=op.path)
            parent = nodes.get(parent_of(op.path))
            if parent is None:
                raise NoNode(f"no parent for {op.path}", path=op.path)
            nodes[op.path] = _Node(op.data)
            _writable(nodes, parent_of(op.path)).children.add(op.path.rsplit("/", 1)[1])
            return
        node = self._get(op.path, nodes)
        if op.version != ANY_VERSION and op.version != node.version:
            raise BadVersion(
                f"{op.path} is at version {node.version}, not {op.version}", path=op.path
            )
        if isinstance(op, SetData):
            node = _writable(nodes, op.path)
            node.data = op.data
            node.version += 1
        elif isinstance(op, Delete):
            if op.path == "/":
                raise NotEmpty("the root cannot be deleted", path=op.path)
            if node.children:
                raise NotEmpty(f"{op.path} has children", path=op.path)
            del nodes[op.path]
            _writable(nodes, parent_of(op.path)).children.discard(op.path.rsplit("/", 1)[1])
        else:
            assert isinstance(op, CheckVersion)


class _Overlay:
    """Copy-on-write view of the tree for one transaction."""

    def __init__(self, base: dict[str, _Node]) -> None:
        self._base = base
        self._changed: dict[str, _Node | None] = {}

    def get(self, path: str) -> _Node | None:
        if path in self._changed:
            return self._changed[path]
        return self._base.get(path)

    def __contains__(self, path: str) -> bool:
        return self.get(path) is not None

    def __setitem__(self, path: str, node: _Node) -> None:
        self._changed[path] = node

    def __delitem__(self, path: str) -> None:
        self._changed[path] = None

    def own(self, path: str) -> _Node:
        node = self.get(path)
        assert node is not None
        if path not in self._changed:
            node = _Node(node.data, node.version, set(node.children))
            self._changed[path] = node
        return node

    def merge_into(self, base: dict[str, _Node]) -> None:
        for path, node in self._changed.items():
            if node is None:
                base.pop(path, None)
            else:
                base[path] = node


def _writable(nodes: dict[str, _Node] | _Overlay, path: str) -> _Node:
    if isinstance(nodes, _Overlay):
        return nodes.own(path)
    return nodes[path]
