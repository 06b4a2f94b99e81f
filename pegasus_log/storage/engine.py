"""``PartitionStore``: the storage engine of one partition replica, over one RocksDB.

The replica drives it: it applies committed mutations in decree order through the write
methods, each taking the mutation's ``decree`` (and, so that every replica writes the same
bytes, the mutation's ``timestamp_us``), and serves reads from it. A mutation carrying
several client writes applies them inside ``mutation(decree)``: one batch, one decree.
No sockets, threads, timers or event loop live here; the runtime calls
``expire_idle_scanners()`` periodically and runs calls inline or in executor threads.

Threading: writes, checkpoints and compaction chunks are serialized by an internal lock
(the replica applies writes in order anyway); reads and scans may run concurrently with
them and with each other; a scanner context serves one scan at a time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType

from pegasus_log.storage import compaction_rules
from pegasus_log.storage.compaction import CompactionStats, sweep
from pegasus_log.storage.keyhash import PartitionScope
from pegasus_log.storage.options import (
    USAGE_NORMAL,
    StorageOptions,
    TableEnv,
    usage_scenario_options,
)
from pegasus_log.storage.read import ReadService
from pegasus_log.storage.rocks import (
    META_LAST_MANUAL_COMPACT_FINISH_TIME,
    RdbStats,
    RocksStore,
    StoreClosedError,
)
from pegasus_log.storage.scanner import ScanService
from pegasus_log.storage.schema import CLUSTER_ID_MAX, EXPIRE_TS_MAX
from pegasus_log.storage.types import (
    BatchGetRequest,
    BatchGetResponse,
    CheckAndMutateRequest,
    CheckAndMutateResponse,
    CheckAndSetRequest,
    CheckAndSetResponse,
    CountResponse,
    GetScannerRequest,
    IncrRequest,
    IncrResponse,
    MultiGetRequest,
    MultiGetResponse,
    MultiPutRequest,
    MultiRemoveRequest,
    MultiRemoveResponse,
    ReadResponse,
    ScanRequest,
    ScanResponse,
    TtlResponse,
    UpdateRequest,
    UpdateResponse,
)
from pegasus_log.storage.write import WriteService

Clock = Callable[[], float]
"""Unix time in seconds (``time.time`` in production, a fake in tests)."""


class PartitionStore:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        clock: Clock,
        cluster_id: int,
        partition_index: int,
        partition_count: int,
        options: StorageOptions | None = None,
        rng: random.Random | None = None,
    ) -> None:
        """Open (creating if needed) the partition's RocksDB at ``path``.

        ``cluster_id`` (0..127) goes into every record's timetag. ``rng`` picks where
        scanner context ids start (upstream: a random 32-bit number << 32, so ids of a
        restarted server do not collide with old ones); pass a seeded one for replay.
        """
        if not 0 <= cluster_id <= CLUSTER_ID_MAX:
            raise ValueError(f"cluster id {cluster_id} outside [0, {CLUSTER_ID_MAX}]")
        self._options = options if options is not None else StorageOptions()
        self._clock = clock
        self._scope = PartitionScope(partition_index, partition_count)
        self._env = TableEnv()
        self._rng = rng or random.Random()
        self._usage_scenario = USAGE_NORMAL
        self._block_cache_enabled = True
        self._compaction_rules = ""
        self._write_buffer_env: int | None = None
        self._write_lock = threading.RLock()
        # Held by a checkpoint from its first flush to its end, and by close: a close
        # waits for a checkpoint in progress, writes do not.
        self._maintenance_lock = threading.Lock()
        # A manual compaction is under way; the store is closing (compact() stops). The
        # lock is held by a compaction's compact_range and by close; checkpoints go on.
        self._compacting = threading.Event()
        self._compact_cut = threading.Event()
        self._compact_lock = threading.Lock()
        self._store = RocksStore(path, self._options)
        self._writes = WriteService(self._store, clock=clock, cluster_id=cluster_id)
        self._reads = ReadService(self._store, options=self._options, clock=clock)
        first_context_id = self._rng.randrange(0, 1 << 31) << 32
        self._scans = ScanService(
            self._store,
            options=self._options,
            clock=clock,
            scope=self._scope,
            first_context_id=first_context_id,
        )

    # ---- identity, decree and table env ----

    @property
    def path(self) -> str:
        return self._store.path

    @property
    def options(self) -> StorageOptions:
        return self._options

    @property
    def table_env(self) -> TableEnv:
        return self._env

    @property
    def scope(self) -> PartitionScope:
        return self._scope

    def last_applied_decree(self) -> int:
        """The decree of the last write applied (0 for a new store); survives reopen."""
        return self._store.last_applied_decree()

    def set_default_ttl(self, seconds: int) -> None:
        """Table env ``default_ttl``: records written with expire_ts 0 get this TTL."""
        if not 0 <= seconds <= EXPIRE_TS_MAX:
            raise ValueError(f"default ttl {seconds} outside [0, {EXPIRE_TS_MAX}]")
        self._env = dataclasses.replace(self._env, default_ttl_seconds=seconds)

    def set_validate_partition_hash(self, enabled: bool) -> None:
        """Table env ``replica.split.validate_partition_hash``."""
        self._env = dataclasses.replace(self._env, validate_partition_hash=enabled)

    def set_iteration_time_max_ms(self, milliseconds: int | None) -> None:
        """Table env ``replica.rocksdb_iteration_threshold_time_ms`` (None: the configured
        one)."""
        if milliseconds is not None and milliseconds < 0:
            raise ValueError(f"iteration time limit {milliseconds} ms is negative")
        self._env = dataclasses.replace(self._env, iteration_time_max_ms=milliseconds)

    def set_user_specified_compaction(self, value: str) -> None:
        """Table env ``user_specified_compaction`` (``compaction_rules.py``): what a
        manual compaction also drops or re-times. Parsed only when it changes."""
        if value != self._compaction_rules:
            operations = compaction_rules.parse(value)
            self._env = dataclasses.replace(self._env, compaction_operations=operations)
            self._compaction_rules = value

    @property
    def usage_scenario(self) -> str:
        return self._usage_scenario

    def set_usage_scenario(self, scenario: str) -> None:
        """Table env ``rocksdb.usage_scenario`` (``normal``, ``prefer_write`` or
        ``bulk_load``; see ``usage_scenario_options``). The store opens as ``normal``."""
        if scenario == self._usage_scenario:
            return
        draws = (self._rng.random(), self._rng.random())
        changes = usage_scenario_options(self._usage_scenario, scenario, self._options, draws)
        if self._write_buffer_env is not None:  # the table's own size wins
            changes["write_buffer_size"] = str(self._write_buffer_env)
        self._store.set_data_options(changes)
        self._usage_scenario = scenario

    def set_write_buffer_size(self, size: int | None) -> None:
        """Table env ``rocksdb.write_buffer_size`` (upstream's one dynamic RocksDB option):
        the data column family's memtable size, set while it runs and kept over the usage
        scenario's. None (the env absent) leaves the size that runs."""
        if size is not None and size != self._write_buffer_env:
            self._store.set_data_options({"write_buffer_size": str(size)})
        self._write_buffer_env = size

    @property
    def block_cache_enabled(self) -> bool:
        return self._block_cache_enabled

    def set_block_cache_enabled(self, enabled: bool) -> None:
        """Table env ``replica.rocksdb_block_cache_enabled``: whether reads fill the block
        cache (a table read once, in a scan for example, need not push out the blocks
        other tables' reads keep coming back to)."""
        if enabled != self._block_cache_enabled:
            self._store.set_fill_cache(enabled)
            self._block_cache_enabled = enabled

    def set_partition_count(self, partition_count: int) -> None:
        """After a partition split: the records this partition serves change."""
        self._scope = PartitionScope(self._scope.partition_index, partition_count)
        self._scans.scope = self._scope

    # ---- writes (each at a decree, in increasing decree order) ----

    @contextlib.contextmanager
    def mutation(self, decree: int) -> Iterator[None]:
        """The writes of one replicated mutation, each called with ``decree``: applied as one
        atomic batch when the block ends (nothing of them if it raises), each seeing the
        ones before it, and the decree advancing once."""
        with self._write_lock:
            self._store.begin_group(decree)
            try:
                yield
            except BaseException:
                self._store.abort_group()
                raise
            self._store.commit_group()

    def empty_write(self, decree: int) -> None:
        """An empty mutation: advance the decree only."""
        with self._write_lock:
            self._writes.empty_put(decree)

    def put(
        self, decree: int, request: UpdateRequest, *, timestamp_us: int | None = None
    ) -> UpdateResponse:
        with self._write_lock:
            return self._writes.put(decree, request, env=self._env, timestamp_us=timestamp_us)

    def remove(self, decree: int, key: bytes) -> UpdateResponse:
        with self._write_lock:
            return self._writes.remove(decree, key)

    def batch_write(
        self,
        decree: int,
        writes: Sequence[UpdateRequest | bytes],
        *,
        timestamp_us: int | None = None,
    ) -> UpdateResponse:
        """Several puts (``UpdateRequest``) and removes (encoded key) of one mutation."""
        with self._write_lock:
            return self._writes.batch_write(
                decree, writes, env=self._env, timestamp_us=timestamp_us
            )

    def multi_put(
        self, decree: int, request: MultiPutRequest, *, timestamp_us: int | None = None
    ) -> UpdateResponse:
        with self._write_lock:
            return self._writes.multi_put(decree, request, env=self._env, timestamp_us=timestamp_us)

    def multi_remove(self, decree: int, request: MultiRemoveRequest) -> MultiRemoveResponse:
        with self._write_lock:
            return self._writes.multi_remove(decree, request)

    def incr(
        self, decree: int, request: IncrRequest, *, timestamp_us: int | None = None
    ) -> IncrResponse:
        with self._write_lock:
            return self._writes.incr(decree, request, env=self._env, timestamp_us=timestamp_us)

    def check_and_set(
        self, decree: int, request: CheckAndSetRequest, *, timestamp_us: int | None = None
    ) -> CheckAndSetResponse:
        with self._write_lock:
            return self._writes.check_and_set(
                decree, request, env=self._env, timestamp_us=timestamp_us
            )

    def check_and_mutate(
        self, decree: int, request: CheckAndMutateRequest, *, timestamp_us: int | None = None
    ) -> CheckAndMutateResponse:
        with self._write_lock:
            return self._writes.check_and_mutate(
                decree, request, env=self._env, timestamp_us=timestamp_us
            )

    # ---- reads ----

    def get(self, key: bytes) -> ReadResponse:
        """``key`` is the encoded key, as the client sends it."""
        return self._reads.get(key)

    def ttl(self, key: bytes) -> TtlResponse:
        return self._reads.ttl(key)

    def batch_get(self, request: BatchGetRequest) -> BatchGetResponse:
        return self._reads.batch_get(request)

    def multi_get(self, request: MultiGetRequest) -> MultiGetResponse:
        return self._reads.multi_get(request, env=self._env)

    def sortkey_count(self, hash_key: bytes) -> CountResponse:
        return self._reads.sortkey_count(hash_key, env=self._env)

    # ---- scanners ----

    def get_scanner(self, request: GetScannerRequest) -> ScanResponse:
        return self._scans.get_scanner(request, env=self._env)

    def scan(self, request: ScanRequest) -> ScanResponse:
        return self._scans.scan(request, env=self._env)

    def clear_scanner(self, context_id: int) -> None:
        self._scans.clear_scanner(context_id)

    def expire_idle_scanners(self) -> int:
        """Drop scanner contexts idle for ``scanner_idle_timeout_s``; returns how many."""
        return self._scans.expire_idle_scanners()

    def live_scanners(self) -> int:
        return len(self._scans.table)

    # ---- maintenance ----

    def checkpoint(self, dest_dir: str | os.PathLike[str]) -> int:
        """Write a RocksDB checkpoint (hard links where possible) of data and meta to
        ``dest_dir``, which must not exist; returns the last applied decree it holds.
        Open it with ``PartitionStore`` to read it.

        The memtables are flushed first without the write lock (RocksDB takes writes
        meanwhile, and the flush does not hold the GIL), so the checkpoint, which must
        see no write half done, holds the lock only to flush what came in since and link
        the files: writes pause for that, not for the whole flush."""
        with self._maintenance_lock:
            self._store.flush()
            with self._write_lock:
                self._store.checkpoint(dest_dir)
                return self._store.last_applied_decree()

    def compact(self, *, target_level: int = -1, bottommost_force: bool = False) -> CompactionStats:
        """Drop expired (and, with validate_partition_hash, foreign) records, give records
        without TTL the default TTL, then compact the whole key range (RocksDB's
        ``target_level`` and bottommost-level choice, as ``RocksStore.compact_range``).
        Blocking: run it on a worker thread."""
        # Set before the cut is looked at, as close() sets the cut before it looks at
        # this: one of the two always sees the other.
        self._compacting.set()
        try:
            stats = sweep(
                self._store,
                write_lock=self._write_lock,
                clock=self._clock,
                env=self._env,
                scope=self._scope,
                chunk_rows=self._options.compaction_chunk_rows,
                cancelled=self._compact_cut.is_set,
            )
            with self._compact_lock:
                if self._compact_cut.is_set() or self._store.closed:
                    raise StoreClosedError(f"storage at {self._store.path} closed: compaction cut")
                self._store.compact_range(
                    target_level=target_level, bottommost_force=bottommost_force
                )
                if self._compact_cut.is_set():
                    # close() cancelled RocksDB's work: the range was not all compacted
                    raise StoreClosedError(f"storage at {self._store.path} closed: compaction cut")
                # ms since the epoch, as upstream's meta column family holds it
                finished_ms = int(self._clock() * 1000)
                self._store.put_meta_int(META_LAST_MANUAL_COMPACT_FINISH_TIME, finished_ms)
        finally:
            self._compacting.clear()
        return stats

    def last_manual_compact_finish_ms(self) -> int:
        """When the last manual compaction finished (ms since the epoch; 0: never)."""
        return self._store.meta_int(META_LAST_MANUAL_COMPACT_FINISH_TIME)

    def rdb_stats(self) -> RdbStats:
        """RocksDB's figures for this partition (``StoreClosedError`` once closed)."""
        return self._store.stats()

    def close(self) -> None:
        """Drop scanner contexts and close RocksDB. Idempotent. A manual compaction under
        way is cut short (RocksDB's background work is cancelled, which ends a running
        ``compact_range`` within milliseconds), so closing never waits for one."""
        self._compact_cut.set()
        if self._compacting.is_set():
            self._store.cancel_background()
        with self._compact_lock, self._maintenance_lock, self._write_lock:
            self._scans.table.clear()
            self._store.close()

    @property
    def closed(self) -> bool:
        return self._store.closed

    def __enter__(self) -> PartitionStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
