"""A replica server's data disk as the server acts on it (docs/durability.md).

Two states, each acted on by the runtime:

- **Short of space**: below ``disk_min_available_space_ratio`` percent available,
  measured each maintenance round (about every second). Every partition hears it
  (``ReplicaCore.set_disk_status``): a primary refuses client writes with
  ERR_DISK_INSUFFICIENT while its disk or a secondary's is short of space, as upstream's
  ``reject_write_when_disk_insufficient``; reads go on.
- **Failed**: the mutation log failed (a write or fsync error, a full disk; every
  partition fails with it and the log refuses appends until reopened), or a partition's
  storage refused a committed write. The server then stops (process.py) so that the meta
  sees it dead and moves its replicas to servers that can write. Kept alive, it would be
  offered its dropped replicas again (the meta prefers a dropped node, which holds most of
  the data) and could log none of them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from pegasus_log.replica.disk_info import available_percent
from pegasus_log.replica.log_gc import DurabilityOptions

log = logging.getLogger(__name__)

# (short of space, refuse client writes while a member's disk is)
DiskStatus = tuple[bool, bool]


class DiskHealth:
    def __init__(
        self,
        *,
        data_dir: Path,
        durability: Callable[[], DurabilityOptions],
        on_status: Callable[[DiskStatus], None],
        measure: Callable[[Path], float] = available_percent,
    ) -> None:
        """``durability``: the server's options now (the thresholds are mutable flags);
        ``on_status``: called when the status changes, to tell every partition."""
        self._data_dir = data_dir
        self._durability = durability
        self._on_status = on_status
        self._measure = measure
        self.status: DiskStatus = (False, durability().reject_write_when_disk_insufficient)
        self.failure: str | None = None
        self._on_failed: Callable[[str], None] = lambda reason: None

    def check(self) -> None:
        """Measure the available space; report a change of status (or of the flags)."""
        opts = self._durability()
        try:
            percent = self._measure(self._data_dir)
        except OSError as e:
            log.warning("cannot measure the data disk: %s", e)
            return
        status = (
            percent < opts.disk_min_available_space_ratio,
            opts.reject_write_when_disk_insufficient,
        )
        if status == self.status:
            return
        if status[0] != self.status[0]:
            log.warning(
                "data disk %s: %.1f%% available (minimum %d%%)%s",
                "short of space" if status[0] else "has room again",
                percent,
                opts.disk_min_available_space_ratio,
                "; writes refused" if status[0] and status[1] else "",
            )
        self.status = status
        self._on_status(status)

    def set_on_failed(self, on_failed: Callable[[str], None]) -> None:
        """Called once, with the reason, when the disk fails the server."""
        self._on_failed = on_failed

    def failed(self, reason: str) -> None:
        if self.failure is None:
            self.failure = reason
            self._on_failed(reason)
