"""What the meta server persists: one ``AppState`` per table, one ``PartitionConfig`` per
partition. Field names and meanings are upstream's ``app_info`` and
``partition_configuration``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from types import MappingProxyType

from pegasus_log.frozen import frozen
from pegasus_log.rpc.admin import AppStatus as AppStatus  # the wire enum: same names and numbers

# Upstream accepts table names of letters, digits, '_', '.', ':' and '-'.
APP_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")

# partition_flags bits (upstream pc_flags).
PC_FLAG_DROPPED = 1


class InvalidState(ValueError):
    """A table or partition description that breaks the model's rules."""


@frozen
class AppState:
    """One table as stored at ``<cluster_root>/apps/<app_id>`` (upstream ``app_info``).

    ``envs`` is read-only. Times are seconds since the Unix epoch; 0 means unset.
    """

    app_id: int
    app_name: str
    partition_count: int
    status: AppStatus = AppStatus.AS_AVAILABLE
    app_type: str = "pegasus"
    envs: Mapping[str, str] = field(default_factory=dict, hash=False)
    is_stateful: bool = True
    max_replica_count: int = 3
    expire_second: int = 0
    create_second: int = 0
    drop_second: int = 0
    duplicating: bool = False
    # The partition count at creation; -1 when unknown (upstream's default).
    init_partition_count: int = -1
    is_bulk_loading: bool = False
    atomic_idempotent: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "envs", MappingProxyType(dict(self.envs)))
        if not APP_NAME.match(self.app_name):
            raise InvalidState(f"invalid table name {self.app_name!r}")
        if self.app_id <= 0:
            raise InvalidState(f"app_id {self.app_id} must be positive")
        count = self.partition_count
        if count <= 0 or count & (count - 1):
            raise InvalidState(f"partition count {count} is not a power of two")
        if self.max_replica_count <= 0:
            raise InvalidState(f"max_replica_count {self.max_replica_count} must be positive")
        for key, value in self.envs.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise InvalidState(f"env {key!r}={value!r}: keys and values are strings")

    def initial_partitions(self) -> list[PartitionConfig]:
        """Fresh configurations for a new table: ballot 0, no members (as upstream)."""
        return [
            PartitionConfig(
                app_id=self.app_id,
                partition_index=i,
                max_replica_count=self.max_replica_count,
            )
            for i in range(self.partition_count)
        ]


@frozen
class PartitionConfig:
    """One partition's membership, as stored at ``<cluster_root>/apps/<app_id>/<index>``.

    Members are ``host:port`` strings; ``primary`` is None when there is none.
    """

    app_id: int
    partition_index: int
    ballot: int = 0
    max_replica_count: int = 3
    primary: str | None = None
    secondaries: tuple[str, ...] = ()
    last_drops: tuple[str, ...] = ()
    last_committed_decree: int = 0
    partition_flags: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "secondaries", tuple(self.secondaries))
        object.__setattr__(self, "last_drops", tuple(self.last_drops))
        if self.app_id <= 0 or self.partition_index < 0:
            raise InvalidState(f"invalid gpid {self.app_id}.{self.partition_index}")
        if self.ballot < -1:
            raise InvalidState(f"invalid ballot {self.ballot}")
        if self.primary is not None and self.primary in self.secondaries:
            raise InvalidState(f"{self.primary} is both primary and secondary")
        if len(set(self.secondaries)) != len(self.secondaries):
            raise InvalidState(f"duplicate secondaries {self.secondaries}")

    @property
    def gpid(self) -> tuple[int, int]:
        return (self.app_id, self.partition_index)

    @property
    def dropped(self) -> bool:
        return bool(self.partition_flags & PC_FLAG_DROPPED)
