"""A replica server's durability rounds: local checkpoints and log garbage collection.

Every partition takes a local checkpoint every ``checkpoint_interval_s`` when it applied
something since its last one; its decree is the partition's durable decree. Every
``gc_interval_s`` the server removes the log segments all of whose records are at or
below each partition's durable decree, lowered to what its learners in progress have,
keeping ``log_reserve_bytes`` of the newest removable ones; garbage replicas' records go
up to the last decree they logged (``garbage.py``). ``log_gc.py`` holds the decisions and
their reasoning; this module runs them on the server's partitions.
``take_due_checkpoints`` and ``collect_garbage`` run one round on demand.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection
from pathlib import Path

from pegasus_log.replica.garbage import GarbageCollector
from pegasus_log.replica.learn_files import CheckpointShelf
from pegasus_log.replica.log_gc import DurabilityOptions, checkpoint_due, cleanable_decrees
from pegasus_log.replica.partition import Partition
from pegasus_log.replica.plog import GcResult, MutationLog
from pegasus_log.replica.store_dirs import (
    PartitionDirs,
    latest_checkpoint_decree,
    take_local_checkpoint,
)
from pegasus_log.replica.stub import stored_gpids
from pegasus_log.rpc.thrift import Gpid

log = logging.getLogger(__name__)


class Maintenance:
    """The rounds, over the server's hosted partitions (``parts``, shared with the
    runtime) and its mutation log (``plog``, set once the log is open)."""

    def __init__(
        self,
        *,
        data_dir: Path,
        durability: Callable[[], DurabilityOptions],
        parts: dict[tuple[int, int], Partition],
        hosted: Callable[[Partition], bool],
        garbage: GarbageCollector,
        shelf: CheckpointShelf,
        check_disk: Callable[[], None] = lambda: None,
    ) -> None:
        self._data_dir = data_dir
        # The server's options now: the intervals and the reserve are mutable flags.
        self._durability = durability
        self._parts = parts
        self._hosted = hosted
        self._garbage = garbage
        self._shelf = shelf
        self._check_disk = check_disk
        self.plog: MutationLog | None = None

    async def run(self) -> None:
        last_gc = time.monotonic()
        while True:
            opts = self._durability()  # each round: the intervals are mutable flags
            await asyncio.sleep(min(1.0, opts.checkpoint_interval_s, opts.gc_interval_s))
            try:
                self._check_disk()
                await self.take_due_checkpoints()
                if time.monotonic() - last_gc >= self._durability().gc_interval_s:
                    last_gc = time.monotonic()
                    result = await self.collect_garbage()
                    if result.removed or result.error:
                        log.info(
                            "log gc removed %d segments (%d bytes)%s",
                            len(result.removed),
                            result.removed_bytes,
                            f"; stopped: {result.error}" if result.error else "",
                        )
                for handle in self._shelf.expire():
                    log.info("learn checkpoint %s expired", handle)
            except Exception:  # keep maintaining; the next round tries again
                log.exception("maintenance round failed")

    async def take_due_checkpoints(
        self, *, force: bool = False, only: Collection[tuple[int, int]] | None = None
    ) -> int:
        """Take a local checkpoint of every partition that is due (``force``: of every
        partition that applied anything since its latest; ``only``: of these partitions);
        how many were taken."""
        taken = 0
        now = time.monotonic()
        interval = 0.0 if force else self._durability().checkpoint_interval_s
        for gpid, part in list(self._parts.items()):
            if only is not None and gpid not in only:
                continue
            if (
                part.disk_lock.locked()
                or part.store.closed
                or not checkpoint_due(
                    applied=part.store.last_applied_decree(),
                    durable=part.durable_decree,
                    last_taken=part.checkpoint_taken_at,
                    now=now,
                    interval_s=interval,
                )
            ):
                continue  # not due, or busy installing a checkpoint: next round
            async with part.disk_lock:
                if not self._hosted(part) or part.store.closed:
                    continue
                try:
                    decree = await asyncio.to_thread(take_local_checkpoint, part.store, part.dirs)
                except Exception as err:  # a closed store, a full disk: try next round
                    log.warning("local checkpoint of %s failed: %s", part.gpid, err)
                    continue
                part.durable_decree = decree
                part.checkpoint_taken_at = now
                taken += 1
        return taken

    def durable_decrees(self) -> dict[Gpid, int]:
        """Per partition stored on this server, its durable decree (log_gc.py)."""
        out: dict[Gpid, int] = {}
        for gpid in stored_gpids(self._data_dir):
            part = self._parts.get(gpid)
            if part is not None:
                out[Gpid(*gpid)] = part.durable_decree
            else:
                out[Gpid(*gpid)] = latest_checkpoint_decree(PartitionDirs(self._data_dir, *gpid))
        return out

    async def collect_garbage(self) -> GcResult:
        """Remove the log segments no partition needs any more (log_gc.py)."""
        plog = self.plog
        assert plog is not None
        floors: dict[Gpid, list[int]] = {}
        for part in self._parts.values():
            live = set(part.core.learners)
            part.learn_floors = {n: d for n, d in part.learn_floors.items() if n in live}
            floors[part.gpid] = list(part.learn_floors.values())
        durable = await asyncio.to_thread(self.durable_decrees)
        cleanable = cleanable_decrees(durable, floors)
        for gpid, decree in self._garbage.collected.items():  # garbage replicas' records
            if gpid not in self._parts and Gpid(*gpid) not in cleanable:
                cleanable[Gpid(*gpid)] = decree
        for part in self._parts.values():
            if not part.plog_gc_enabled:  # the operator keeps its records: none may go
                cleanable.pop(part.gpid, None)
                log.debug("log gc skips %s: plog gc is disabled", part.gpid)
        result = await plog.garbage_collect(
            cleanable, reserve_bytes=self._durability().log_reserve_bytes
        )
        # A garbage replica whose records are all gone needs no more remembering.
        gone = [
            gpid
            for gpid, decree in self._garbage.collected.items()
            if plog.max_gced_decree(Gpid(*gpid)) >= decree
        ]
        if gone:
            await asyncio.to_thread(self._garbage.forget, gone)
        return result
