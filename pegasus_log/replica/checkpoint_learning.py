"""Learning from a RocksDB checkpoint, both sides, over the replica servers' RPC port.

Primary (``send_checkpoint``, for the core's SendCheckpoint): a RocksDB checkpoint of the
partition in a worker thread, shelved for the learner under a random handle
(``learn_files.CheckpointShelf``); the learner fetches its files in bounded chunks
(``RPC_PEGASUS_LOG_LEARN_FILES`` / ``_READ`` / ``_RELEASE``, answered by the handlers
here). A shelved checkpoint goes when the learner releases it or after
``learn_checkpoint_keep_s`` idle.

Learner (``install_checkpoint``, for InstallCheckpoint): fetch into
``<app>.<index>.fetch``, fsync, open once to check its decree, close the store, swap the
directories (``store_dirs.replace_store``, atomic with ``settle`` at the next open),
reopen, report CheckpointInstalled to the core.

The runtime hands in what it owns as callables: whether a partition is still hosted, how
to run a core's effects, how to unhost a partition and open its store.
"""

from __future__ import annotations

import asyncio
import logging
import math
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from pegasus_log.replica.core import effects as fx
from pegasus_log.replica.core import messages as cm
from pegasus_log.replica.learn_files import (
    LEARN_FILES,
    LEARN_READ,
    LEARN_RELEASE,
    CheckpointShelf,
    FetchError,
    FetchLimits,
    LearnFilesRequest,
    LearnReadRequest,
    LearnReadResponse,
    ShelfFullError,
    fetch_checkpoint,
)
from pegasus_log.replica.log_gc import DurabilityOptions
from pegasus_log.replica.partition import LearnStats, Partition
from pegasus_log.replica.store_dirs import PartitionDirs, fsync_tree, replace_store
from pegasus_log.replica.stub import GaugeRows, apply_envs
from pegasus_log.rpc import admin as a
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.storage.engine import PartitionStore
from pegasus_log.transport.connection import CallFailed, Connection
from pegasus_log.transport.server import Call, Handler, RpcError

log = logging.getLogger(__name__)


class CheckpointLearning:
    def __init__(
        self,
        *,
        data_dir: Path,
        durability: DurabilityOptions,
        hosted: Callable[[Partition], bool],
        run: Callable[[Partition, list[fx.Effect]], None],
        unhost: Callable[[tuple[int, int]], None],
        open_store: Callable[[PartitionDirs, int, Path], PartitionStore],
    ) -> None:
        self._durability = durability
        self._hosted = hosted
        self._run = run
        self._unhost = unhost
        self._open_store = open_store
        self.shelf = CheckpointShelf(
            data_dir / "learn_checkpoints",
            chunk_bytes_max=durability.learn_chunk_bytes,
            keep_s=durability.learn_checkpoint_keep_s,
            count_max=durability.learn_checkpoints_max,
        )
        self.stats = LearnStats()

    def on_status_change(self, part: Partition, now: a.PartitionStatus) -> None:
        """The core of ``part`` moved to ``now``: a learning session starts or ends."""
        learner = a.PartitionStatus.PS_POTENTIAL_SECONDARY
        was, part.status = part.status, now
        if now == learner:
            self.stats.learn_count += 1
            part.learn_started = time.monotonic()
            part.learn_copied_bytes = 0
        elif was == learner and now == a.PartitionStatus.PS_SECONDARY:
            self.stats.learn_successful_count += 1
        elif was == learner:
            self.stats.learn_failed_count += 1

    def on_learn_response(self, part: Partition, msg: cm.LearnResponse) -> None:
        """A learner heard its primary: count the answer by kind."""
        if part.status != a.PartitionStatus.PS_POTENTIAL_SECONDARY or msg.err != ErrorCode.ERR_OK:
            return
        if msg.checkpoint is not None:
            self.stats.learn_lt_app_responses += 1
            return
        self.stats.learn_lt_log_responses += 1
        self.stats.learn_copy_buffer_bytes += sum(
            len(u.body) for mu in msg.mutations for u in mu.updates
        )

    def handlers(self) -> dict[str, tuple[m.RpcSpec, Handler]]:
        return {
            LEARN_FILES.name: (LEARN_FILES, self.on_learn_files),
            LEARN_READ.name: (LEARN_READ, self.on_learn_read),
            LEARN_RELEASE.name: (LEARN_RELEASE, self.on_learn_release),
        }

    def on_learn_files(self, call: Call) -> Any:
        return self.shelf.listing(call.arg)

    async def on_learn_read(self, call: Call) -> LearnReadResponse:
        request: LearnReadRequest = call.arg
        path, offset, length, size = self.shelf.check_read(request)
        try:
            data = await asyncio.to_thread(CheckpointShelf.read, path, offset, length)
        except OSError as e:
            raise RpcError(ErrorCode.ERR_FILE_OPERATION_FAILED, str(e)) from None
        return LearnReadResponse(data, size)

    def on_learn_release(self, call: Call) -> None:
        request: LearnFilesRequest = call.arg
        self.shelf.discard(request.handle)

    async def send_checkpoint(self, part: Partition, e: fx.SendCheckpoint) -> None:
        """Primary: checkpoint the store for the learner (worker thread) and shelve it
        for the learner to fetch (learn_files.py)."""
        event = await self._make_learn_checkpoint(part, e)
        if event.checkpoint is not None:
            if self._hosted(part):
                # the learner has everything up to here once installed: keep the log above
                part.learn_floors[e.learner] = event.checkpoint.decree
            else:
                self.shelf.discard(event.checkpoint.handle)
                return
        if self._hosted(part):
            self._run(part, part.core.on_checkpoint_ready(event))

    async def _make_learn_checkpoint(
        self, part: Partition, e: fx.SendCheckpoint
    ) -> cm.CheckpointReady:
        try:
            handle, path = self.shelf.reserve(e.gpid.app_id, e.gpid.partition_index)
        except ShelfFullError as err:
            return cm.CheckpointReady(read_id=e.read_id, error=str(err))
        try:
            decree = await asyncio.to_thread(part.store.checkpoint, path)
            files = await asyncio.to_thread(CheckpointShelf.scan, path)
        except Exception as err:  # rocksdict raises plain exceptions; any failure is reported
            self.shelf.discard(handle)
            log.warning("learn checkpoint of %s failed: %s", part.gpid, err)
            return cm.CheckpointReady(read_id=e.read_id, error=str(err))
        self.shelf.publish(handle, decree, files)
        log.info(
            "learn checkpoint %s of %s at decree %d for %s (%d files, %d bytes)",
            handle,
            part.gpid,
            decree,
            e.learner,
            len(files),
            sum(files.values()),
        )
        return cm.CheckpointReady(read_id=e.read_id, checkpoint=cm.CheckpointRef(handle, decree))

    async def install_checkpoint(self, part: Partition, e: fx.InstallCheckpoint) -> None:
        """Learner: fetch the checkpoint into a temporary directory, check it, then swap
        it in for the store (store_dirs.py) and reopen. A failed fetch leaves storage as
        it was (ok=False); a failure after the store was closed is a local disk failure:
        the partition is unhosted, to be hosted again from disk."""
        async with part.disk_lock:
            fetched = await self._fetch_checkpoint(part, e)
            if not fetched:
                if self._hosted(part):
                    installed = cm.CheckpointInstalled(decree=e.checkpoint.decree, ok=False)
                    self._run(part, part.core.on_checkpoint_installed(installed))
                return
            if not self._hosted(part):
                await asyncio.to_thread(shutil.rmtree, part.dirs.fetch, True)
                return
            try:
                store = await asyncio.to_thread(self._swap_in_fetched, part)
            except Exception as err:  # the old store is closed: reopen from disk
                log.error("installing a checkpoint of %s failed: %s", part.gpid, err)
                self._unhost((part.gpid.app_id, part.gpid.partition_index))
                return
            if not self._hosted(part):
                store.close()
                return
            part.store = store
            apply_envs(store, part.envs)
            part.durable_decree = 0  # the next local checkpoint is due now
            part.checkpoint_taken_at = -math.inf
            log.info(
                "partition %s installed checkpoint at decree %d", part.gpid, e.checkpoint.decree
            )
            installed = cm.CheckpointInstalled(decree=e.checkpoint.decree)
            self._run(part, part.core.on_checkpoint_installed(installed))

    async def _fetch_checkpoint(self, part: Partition, e: fx.InstallCheckpoint) -> bool:
        """Fetch into ``dirs.fetch`` and check its decree; False (and nothing left) if not."""
        dirs = part.dirs
        await asyncio.to_thread(shutil.rmtree, dirs.fetch, True)
        opts = self._durability
        limits = FetchLimits(
            opts.learn_chunk_bytes,
            opts.learn_files_max,
            opts.learn_bytes_max,
            opts.learn_rpc_timeout_s,
        )
        stats = self.stats

        def on_chunk(n: int) -> None:
            stats.learn_copy_file_bytes += n
            part.learn_copied_bytes += n

        conn = Connection(e.source.host, e.source.port)
        try:
            result = await fetch_checkpoint(
                conn, e.checkpoint.handle, dirs.fetch, limits, on_chunk=on_chunk
            )
            stats.learn_copy_files += result.files
            decree = await asyncio.to_thread(self._fetched_decree, dirs, part.partition_count)
            if result.decree != e.checkpoint.decree or decree != e.checkpoint.decree:
                raise FetchError(
                    f"checkpoint {e.checkpoint.handle} holds decree {decree} "
                    f"(listed {result.decree}), not {e.checkpoint.decree}"
                )
        except (FetchError, OSError, RuntimeError) as err:
            log.warning("fetching checkpoint of %s from %s failed: %s", part.gpid, e.source, err)
            await asyncio.to_thread(shutil.rmtree, dirs.fetch, True)
            return False
        finally:
            try:
                await conn.call(
                    LEARN_RELEASE, LearnFilesRequest(e.checkpoint.handle), timeout_s=1.0
                )
            except CallFailed:
                pass  # the primary deletes it after learn_checkpoint_keep_s anyway
            await conn.close()
        log.info(
            "fetched checkpoint of %s at decree %d: %d files, %d bytes",
            part.gpid,
            decree,
            result.files,
            result.bytes,
        )
        return True

    def _fetched_decree(self, dirs: PartitionDirs, partition_count: int) -> int:
        """Open the fetched checkpoint once (blocking): it must be a store, and its decree
        is what it holds. Opening writes RocksDB files of its own: sync them too."""
        store = self._open_store(dirs, partition_count, dirs.fetch)
        try:
            return store.last_applied_decree()
        finally:
            store.close()
            fsync_tree(dirs.fetch)

    def _swap_in_fetched(self, part: Partition) -> PartitionStore:
        """Blocking: close the store, make the fetched directory the store, reopen it.
        The old store's local checkpoints describe data that is gone: removed."""
        part.store.close()
        replace_store(part.dirs, part.dirs.fetch)
        shutil.rmtree(part.dirs.checkpoints, ignore_errors=True)
        return self._open_store(part.dirs, part.partition_count, part.dirs.store)

    def metric_rows(self, parts: Iterable[Partition]) -> list[GaugeRows]:
        stats = self.stats
        rows: list[GaugeRows] = [
            (name, f"learning: {name} (server total)", [], [([], float(getattr(stats, name)))])
            for name in LearnStats.__dataclass_fields__
        ]
        now = time.monotonic()
        learning = [p for p in parts if p.status == a.PartitionStatus.PS_POTENTIAL_SECONDARY]
        duration_ms = max((now - p.learn_started for p in learning), default=0.0) * 1000
        copied = max((p.learn_copied_bytes for p in learning), default=0)
        rows.append(
            (
                "learning_replicas_max_duration_ms",
                "the longest learning in progress",
                [],
                [([], duration_ms)],
            )
        )
        rows.append(
            (
                "learning_replicas_max_copy_file_bytes",
                "the most checkpoint bytes copied by a learning in progress",
                [],
                [([], float(copied))],
            )
        )
        return rows
