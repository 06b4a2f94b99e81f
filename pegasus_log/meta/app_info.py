"""What the cluster knows of one table (upstream's ``app_info``)."""

from __future__ import annotations

from dataclasses import field

from pegasus_log.frozen import frozen
from pegasus_log.meta.state.model import APP_NAME


class InvalidTableSpec(ValueError):
    """A table description that cannot be served (an operating error)."""


@frozen
class AppInfo:
    name: str
    app_id: int
    partition_count: int
    max_replica_count: int = 1
    envs: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not APP_NAME.match(self.name):
            raise InvalidTableSpec(f"invalid table name {self.name!r}")
        count = self.partition_count
        if count <= 0 or count & (count - 1):
            raise InvalidTableSpec(f"partition count {count} is not a power of two")
        if self.app_id <= 0:
            raise InvalidTableSpec(f"app_id {self.app_id} must be positive")


def parse_tables(specs: list[str]) -> list[AppInfo]:
    """Parse ``name:partition_count`` items; app ids are given in order from 1."""
    tables: list[AppInfo] = []
    seen: set[str] = set()
    for i, spec in enumerate(specs, start=1):
        name, sep, count = spec.partition(":")
        if not sep or not count.isdigit():
            raise InvalidTableSpec(f"table {spec!r}: expected NAME:PARTITION_COUNT")
        if name in seen:
            raise InvalidTableSpec(f"table {name!r} given twice")
        seen.add(name)
        tables.append(AppInfo(name=name, app_id=i, partition_count=int(count)))
    return tables
