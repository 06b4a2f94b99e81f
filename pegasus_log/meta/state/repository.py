"""Typed operations on the meta server's persistent state, over any ``MetaStateStore``.

Each method has written to the store when it returns (or raised): the meta updates its
memory only after that, as upstream does ("write ZooKeeper first, then reply").

Versions are the store's node versions. ``update_partition`` takes the version the caller
read: a ``BadVersion`` means another writer (a deposed leader) got there first.

The repository does not arbitrate between writers: table-name uniqueness and ballot rules
are the meta leader's, checked against its memory before it writes here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Generic, NamedTuple, TypeVar

from pegasus_log.frozen import frozen
from pegasus_log.meta.state.layout import (
    APPS_LOCKED,
    APPS_UNLOCKED,
    Layout,
    decode_app,
    decode_partition,
    encode_app,
    encode_partition,
    parse_index,
)
from pegasus_log.meta.state.model import AppState, AppStatus, PartitionConfig
from pegasus_log.meta.state.store import (
    ANY_VERSION,
    BadNodeData,
    Create,
    Delete,
    MetaStateStore,
    NodeExists,
    NoNode,
    Op,
    SetData,
    StoreLimits,
    parent_of,
)

T = TypeVar("T")

# Upstream's invalid_ballot: a partition whose node is missing because a split was cut
# short; the split logic fills it in.
INVALID_BALLOT = -1


@frozen
class Stored(Generic[T]):
    value: T
    version: int


class AppsLocked(BadNodeData):
    """The apps root says a write of the whole state (meta recovery) was cut short: what
    is under it may be a part of the tables only."""


class LoadedState(NamedTuple):
    apps: dict[int, Stored[AppState]]
    partitions: dict[tuple[int, int], Stored[PartitionConfig]]


class MetaStateRepository:
    def __init__(
        self, store: MetaStateStore, layout: Layout, *, limits: StoreLimits | None = None
    ) -> None:
        self.store = store
        self.layout = layout
        # The same limits as the store's: create_app splits what one transaction cannot hold.
        self.limits = limits or StoreLimits()

    def initialize(self) -> None:
        """Create the cluster root and the apps root when missing. Idempotent."""
        root = self.layout.cluster_root
        missing: list[str] = []
        path = root
        while path != "/" and not self.store.exists(path):
            missing.append(path)
            path = parent_of(path)
        for p in reversed(missing):
            self._create_if_missing(p, b"")
        self._create_if_missing(self.layout.apps_root, APPS_UNLOCKED)

    # -- tables -------------------------------------------------------------------------

    def next_app_id(self) -> int:
        """Upstream's rule: the largest app id under ``apps`` plus one (1 when none).

        Two writers can compute the same id; ``create_app`` then fails with NodeExists
        for the second one, which asks again.
        """
        ids = [parse_index(n) for n in self.store.children(self.layout.apps_root)]
        return max((i for i in ids if i is not None), default=0) + 1

    def create_app(
        self, app: AppState, partitions: Sequence[PartitionConfig] | None = None
    ) -> None:
        """Write a table and all its partitions: one transaction when it fits the store's
        limits, else batches in order with the table first (``load_all`` completes a
        table whose partition nodes were cut short, as upstream does)."""
        configs = list(partitions) if partitions is not None else app.initial_partitions()
        assert len(configs) == app.partition_count, (len(configs), app.partition_count)
        for i, c in enumerate(configs):
            assert c.gpid == (app.app_id, i), (c.gpid, app.app_id, i)
        ops: list[Op] = [Create(self.layout.app_path(app.app_id), encode_app(app))]
        ops += [
            Create(self.layout.partition_path(app.app_id, c.partition_index), encode_partition(c))
            for c in configs
        ]
        for batch in self._batches(ops):
            self.store.commit(batch)

    def read_app(self, app_id: int) -> Stored[AppState]:
        path = self.layout.app_path(app_id)
        node = self.store.read(path)
        app = decode_app(node.data, path=path)
        if app.app_id != app_id:
            raise BadNodeData(f"{path} holds app_id {app.app_id}", path=path)
        return Stored(app, node.version)

    def update_app(self, app: AppState, expected_version: int = ANY_VERSION) -> int:
        """Replace a table's info; returns the node's new version."""
        return self.store.write(
            self.layout.app_path(app.app_id), encode_app(app), version=expected_version
        )

    def set_app_status(
        self, app_id: int, status: AppStatus, *, drop_second: int | None = None
    ) -> Stored[AppState]:
        """Read-modify-write of the status (and ``drop_second`` when dropping)."""
        stored = self.read_app(app_id)
        app = dataclasses.replace(stored.value, status=status)
        if drop_second is not None:
            app = dataclasses.replace(app, drop_second=drop_second)
        return Stored(app, self.update_app(app, stored.version))

    def set_envs(self, app_id: int, envs: Mapping[str, str]) -> Stored[AppState]:
        """Add or overwrite table envs (upstream ``set_app_envs``)."""
        stored = self.read_app(app_id)
        merged = {**stored.value.envs, **envs}
        app = dataclasses.replace(stored.value, envs=merged)
        return Stored(app, self.update_app(app, stored.version))

    def delete_envs(self, app_id: int, keys: Iterable[str]) -> Stored[AppState]:
        """Remove table envs; absent keys are ignored (upstream ``del_app_envs``)."""
        stored = self.read_app(app_id)
        gone = set(keys)
        kept = {k: v for k, v in stored.value.envs.items() if k not in gone}
        app = dataclasses.replace(stored.value, envs=kept)
        return Stored(app, self.update_app(app, stored.version))

    # -- partitions ---------------------------------------------------------------------

    def read_partition(self, app_id: int, partition_index: int) -> Stored[PartitionConfig]:
        path = self.layout.partition_path(app_id, partition_index)
        node = self.store.read(path)
        config = decode_partition(node.data, path=path)
        if config.gpid != (app_id, partition_index):
            raise BadNodeData(f"{path} holds pid {config.app_id}.{config.partition_index}")
        return Stored(config, node.version)

    def update_partition(self, config: PartitionConfig, expected_version: int) -> int:
        """Replace one partition's configuration if its node is still at
        ``expected_version``; returns the new version."""
        path = self.layout.partition_path(config.app_id, config.partition_index)
        return self.store.write(path, encode_partition(config), version=expected_version)

    def update_partitions(self, updates: Sequence[tuple[PartitionConfig, int]]) -> list[int]:
        """Several partitions at once, all or none (e.g. marking a dropped table's
        partitions), each at its expected version; returns the new versions in order."""
        ops: list[Op] = []
        for config, version in updates:
            assert version >= 0, "a batch update names the version of every partition"
            path = self.layout.partition_path(config.app_id, config.partition_index)
            ops.append(SetData(path, encode_partition(config), version))
        self.store.commit(ops)
        # A successful checked write moves the version by exactly one.
        return [version + 1 for _, version in updates]

    # -- recovery -----------------------------------------------------------------------

    def lock_apps(self) -> None:
        """Mark the apps root as being rewritten whole (upstream's ``lock`` state): until
        ``unlock_apps``, ``load_all`` refuses what is under it (``AppsLocked``)."""
        self.store.write(self.layout.apps_root, APPS_LOCKED)

    def unlock_apps(self) -> None:
        self.store.write(self.layout.apps_root, APPS_UNLOCKED)

    def clear_apps(self) -> None:
        """Delete every table and partition node under the apps root (the root stays, as
        it is). For a recovery that starts again over one cut short."""
        ops: list[Op] = []
        for name in self.store.children(self.layout.apps_root):
            ops += [Delete(path) for path in self._below_first(f"{self.layout.apps_root}/{name}")]
        for batch in self._batches(ops):
            self.store.commit(batch)

    def load_all(self) -> LoadedState:
        """Every table and partition under ``apps``; empty when never initialised.

        A partition node missing below the table's initial partition count (a creation
        cut short) is written now, fresh; one missing above it (a split cut short) is
        returned with ballot -1 and not written, for the split logic to finish.
        """
        apps: dict[int, Stored[AppState]] = {}
        partitions: dict[tuple[int, int], Stored[PartitionConfig]] = {}
        try:
            root = self.store.read(self.layout.apps_root)
        except NoNode:
            return LoadedState(apps, partitions)
        if root.data == APPS_LOCKED:
            raise AppsLocked(
                f"{self.layout.apps_root} is locked: a meta recovery was cut short and the "
                "tables under it may be a part only; start the metas with "
                "--recover-from-replica-servers and run recover again",
                path=self.layout.apps_root,
            )
        for name in self.store.children(self.layout.apps_root):
            app_id = parse_index(name)
            if app_id is None:
                continue
            stored = self.read_app(app_id)
            apps[app_id] = stored
            for config in self._load_partitions(stored.value):
                partitions[config.value.gpid] = config
        return LoadedState(apps, partitions)

    # -- inside -------------------------------------------------------------------------

    def _load_partitions(self, app: AppState) -> Iterator[Stored[PartitionConfig]]:
        created = app.init_partition_count if app.init_partition_count > 0 else None
        for i in range(app.partition_count):
            try:
                yield self.read_partition(app.app_id, i)
            except NoNode:
                if created is None or i < created:
                    yield self._recreate_partition(app, i)
                else:
                    fresh = PartitionConfig(
                        app_id=app.app_id,
                        partition_index=i,
                        ballot=INVALID_BALLOT,
                        max_replica_count=app.max_replica_count,
                    )
                    yield Stored(fresh, ANY_VERSION)

    def _recreate_partition(self, app: AppState, index: int) -> Stored[PartitionConfig]:
        fresh = PartitionConfig(
            app_id=app.app_id, partition_index=index, max_replica_count=app.max_replica_count
        )
        path = self.layout.partition_path(app.app_id, index)
        try:
            self.store.create(path, encode_partition(fresh))
        except NodeExists:
            return self.read_partition(app.app_id, index)
        return Stored(fresh, 0)

    def _below_first(self, path: str) -> list[str]:
        """``path`` and every node under it, each after the nodes under it."""
        out: list[str] = []
        for child in self.store.children(path):
            out += self._below_first(f"{path}/{child}")
        out.append(path)
        return out

    def _create_if_missing(self, path: str, data: bytes) -> None:
        try:
            self.store.create(path, data)
        except NodeExists:
            return

    def _batches(self, ops: list[Op]) -> Iterator[list[Op]]:
        """Consecutive slices of ops that each fit one transaction."""
        limits = self.limits
        batch: list[Op] = []
        size = 0
        for op in ops:
            data = op.data if isinstance(op, Create | SetData) else b""
            cost = len(op.path) + len(data) + limits.transaction_op_overhead_bytes
            if batch and size + cost > limits.transaction_bytes_max:
                yield batch
                batch, size = [], 0
            batch.append(op)
            size += cost
        if batch:
            yield batch
