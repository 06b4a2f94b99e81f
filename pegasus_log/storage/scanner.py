"""Server-side scanners: get_scanner, scan and clear_scanner (upstream on_get_scanner,
on_scan, on_clear_scanner and pegasus_scan_context.h).

get_scanner reads the first batch and, if rows remain, parks its RocksDB iterator in a
context under a fresh int64 id; each scan fetches the context (removing it), reads the
next batch, and parks it again under a new id. ``context_id`` is
``SCAN_CONTEXT_ID_COMPLETED`` (-1) once the range is exhausted. A scan on an unknown,
cleared, expired or evicted id answers kNotFound (1) with ``context_id``
``SCAN_CONTEXT_ID_NOT_EXIST`` (-2); clients then restart the scan from their last key.

A context's iterator reads the point-in-time view of its get_scanner: writes after it are
not seen by later batches, as upstream.

Upstream's prefix extractor shapes one detail that is kept: a get_scanner whose start key
has a non-empty hash key (and is not a full scan) iterates within that hash key only.

Deviation, on purpose: an empty key range answers context_id -1 where upstream leaves the
field at 0, a valid-looking id that would send clients into a loop of kNotFound scans.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from rocksdict import RdictIter

from pegasus_log.frozen import frozen
from pegasus_log.storage.keyhash import PartitionScope
from pegasus_log.storage.limiter import IterationLimiter
from pegasus_log.storage.options import StorageOptions, TableEnv
from pegasus_log.storage.predicates import is_filter_type_supported, match_filter
from pegasus_log.storage.read import to_int32
from pegasus_log.storage.rocks import RocksStore
from pegasus_log.storage.schema import (
    HASH_KEY_LEN_MAX,
    decode_key,
    decode_value,
    encode_key,
    epoch_now,
    is_ts_expired,
    key_prefix,
)
from pegasus_log.storage.status import StorageStatus
from pegasus_log.storage.types import (
    SCAN_CONTEXT_ID_COMPLETED,
    SCAN_CONTEXT_ID_NOT_EXIST,
    FilterType,
    GetScannerRequest,
    KeyValue,
    ScanRequest,
    ScanResponse,
)

CONTEXT_ID_MAX = (1 << 63) - 1


@frozen(eq=False)
class ScanContext:
    iterator: RdictIter
    stop: bytes
    stop_inclusive: bool
    # Emulated prefix_same_as_start: the iterator ends where keys leave this hash-key
    # prefix. None for total-order iteration.
    prefix: bytes | None
    hash_key_filter_type: int
    hash_key_filter_pattern: bytes
    sort_key_filter_type: int
    sort_key_filter_pattern: bytes
    batch_size: int
    no_value: bool
    validate_partition_hash: bool
    return_expire_ts: bool
    only_return_count: bool


class ScannerTable:
    """Parked scan contexts by id, bounded in number and idle time. Thread-safe."""

    def __init__(self, *, capacity: int, idle_timeout_s: float, first_id: int) -> None:
        assert capacity > 0 and idle_timeout_s > 0 and 0 <= first_id < CONTEXT_ID_MAX
        self._capacity = capacity
        self._idle_timeout_s = idle_timeout_s
        self._next_id = first_id
        # Ids are handed out in increasing order and re-parking takes a new id, so the
        # insertion order is the recency order: the first entry is the least recently used.
        self._entries: OrderedDict[int, tuple[ScanContext, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, context: ScanContext, now: float) -> int:
        with self._lock:
            while len(self._entries) >= self._capacity:
                self._entries.popitem(last=False)
            context_id = self._next_id
            # Wrap within the positive int64 range; negative ids have special meanings.
            self._next_id = context_id + 1 if context_id < CONTEXT_ID_MAX else 0
            self._entries[context_id] = (context, now + self._idle_timeout_s)
            return context_id

    def fetch(self, context_id: int, now: float) -> ScanContext | None:
        """Take a context out (a concurrent scan on the same id then finds nothing)."""
        with self._lock:
            entry = self._entries.pop(context_id, None)
        if entry is None:
            return None
        context, deadline = entry
        return context if now < deadline else None

    def expire(self, now: float) -> int:
        """Drop the contexts idle past their deadline; returns how many."""
        with self._lock:
            stale = [cid for cid, (_ctx, deadline) in self._entries.items() if now >= deadline]
            for context_id in stale:
                del self._entries[context_id]
        return len(stale)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class _Batch:
    __slots__ = ("complete", "count", "kvs", "size")

    def __init__(self) -> None:
        self.kvs: list[KeyValue] = []
        self.count = 0
        self.size = 0
        self.complete = False


class ScanService:
    def __init__(
        self,
        store: RocksStore,
        *,
        options: StorageOptions,
        clock: Callable[[], float],
        scope: PartitionScope,
        first_context_id: int,
    ) -> None:
        self._store = store
        self._options = options
        self._clock = clock
        self.scope = scope
        self.table = ScannerTable(
            capacity=options.scanner_contexts_max,
            idle_timeout_s=options.scanner_idle_timeout_s,
            first_id=first_context_id,
        )

    def _time_max_ms(self, env: TableEnv) -> int:
        if env.iteration_time_max_ms is not None:
            return env.iteration_time_max_ms
        return self._options.iteration_time_max_ms

    def _batch_count(self, batch_size: int) -> int:
        batch_count = self._options.max_iteration_count
        if 0 < batch_size < batch_count:
            batch_count = batch_size
        return batch_count

    # ---- get_scanner ----

    def get_scanner(self, request: GetScannerRequest, *, env: TableEnv) -> ScanResponse:
        if not is_filter_type_supported(request.hash_key_filter_type):
            return ScanResponse(error=StorageStatus.kInvalidArgument)
        if not is_filter_type_supported(request.sort_key_filter_type):
            return ScanResponse(error=StorageStatus.kInvalidArgument)

        start, start_inclusive = request.start_key, request.start_inclusive
        stop, stop_inclusive = request.stop_key, request.stop_inclusive
        prefix = None if request.full_scan else key_prefix(start)
        if prefix is not None and len(prefix) == 2:
            prefix = None  # empty hash key: a full scan of the partition, total order
        pattern = request.hash_key_filter_pattern
        if request.hash_key_filter_type == FilterType.FT_MATCH_PREFIX and pattern:
            # Keys are ordered by hash-key length first, so a hash-key prefix can only
            # raise the start, not lower the stop.
            if len(pattern) > HASH_KEY_LEN_MAX:
                return ScanResponse(error=StorageStatus.kInvalidArgument)
            prefix_start = encode_key(pattern, b"")
            if prefix_start > start:
                start, start_inclusive = prefix_start, True
                prefix = None
        if start > stop or (start == stop and not (start_inclusive and stop_inclusive)):
            return ScanResponse(error=StorageStatus.kOk, context_id=SCAN_CONTEXT_ID_COMPLETED)

        batch_count = self._batch_count(request.batch_size)
        context = ScanContext(
            iterator=self._store.iterator(),
            stop=stop,
            stop_inclusive=stop_inclusive,
            prefix=prefix,
            hash_key_filter_type=request.hash_key_filter_type,
            hash_key_filter_pattern=pattern,
            sort_key_filter_type=request.sort_key_filter_type,
            sort_key_filter_pattern=request.sort_key_filter_pattern,
            batch_size=batch_count,
            no_value=request.no_value,
            validate_partition_hash=request.validate_partition_hash is not False,
            return_expire_ts=bool(request.return_expire_ts),
            only_return_count=bool(request.only_return_count),
        )
        context.iterator.seek(start)
        limiter = IterationLimiter(
            count_max=self._options.max_iteration_count,
            size_max_bytes=0,
            time_max_ms=self._time_max_ms(env),
            clock=self._clock,
        )
        skip_key = None if start_inclusive else start
        batch = self._read_batch(context, limiter, batch_count, env=env, skip_key=skip_key)
        return self._finish(context, limiter, batch)

    # ---- scan / clear_scanner ----

    def scan(self, request: ScanRequest, *, env: TableEnv) -> ScanResponse:
        context = self.table.fetch(request.context_id, self._clock())
        if context is None:
            return ScanResponse(error=StorageStatus.kNotFound, context_id=SCAN_CONTEXT_ID_NOT_EXIST)
        batch_count = self._batch_count(context.batch_size)
        limiter = IterationLimiter(
            count_max=batch_count,
            size_max_bytes=0,
            time_max_ms=self._time_max_ms(env),
            clock=self._clock,
        )
        batch = self._read_batch(context, limiter, batch_count, env=env, skip_key=None)
        return self._finish(context, limiter, batch)

    def clear_scanner(self, context_id: int) -> None:
        self.table.fetch(context_id, self._clock())

    def expire_idle_scanners(self) -> int:
        return self.table.expire(self._clock())

    # ---- the batch loop ----

    @staticmethod
    def _iterator_valid(context: ScanContext) -> bool:
        it = context.iterator
        if not it.valid():
            return False
        return context.prefix is None or bytes(it.key()).startswith(context.prefix)

    def _read_batch(
        self,
        context: ScanContext,
        limiter: IterationLimiter,
        batch_count: int,
        *,
        env: TableEnv,
        skip_key: bytes | None,
    ) -> _Batch:
        batch = _Batch()
        it = context.iterator
        now = epoch_now(self._clock())
        validate_hash = context.validate_partition_hash and env.validate_partition_hash
        size_max = self._options.scan_batch_size_max_bytes
        while batch.count < batch_count and limiter.valid() and self._iterator_valid(context):
            key: bytes = it.key()
            if key > context.stop or (key == context.stop and not context.stop_inclusive):
                batch.complete = True
                break
            if skip_key is not None:
                first, skip_key = skip_key, None
                if key == first:
                    it.next()
                    continue
            limiter.add_count()
            raw: bytes = it.value()
            kv = self._visit(context, key, raw, now, validate_hash=validate_hash)
            if kv is not None:
                batch.count += 1
                if not context.only_return_count:
                    batch.kvs.append(kv)
                    batch.size += len(kv.key) + len(kv.value)
            if key == context.stop:
                batch.complete = True
                break
            it.next()
            if batch.size >= size_max:
                break  # our own bound: the rest comes in the next batch
        return batch

    def _visit(
        self, context: ScanContext, key: bytes, raw: bytes, now: int, *, validate_hash: bool
    ) -> KeyValue | None:
        """The row as the client sees it, or None if expired, foreign or filtered."""
        expire_ts, _timetag, value = decode_value(raw)
        if is_ts_expired(now, expire_ts):
            return None
        if validate_hash and not self.scope.serves(key):
            return None
        if (
            context.hash_key_filter_type != FilterType.FT_NO_FILTER
            or context.sort_key_filter_type != FilterType.FT_NO_FILTER
        ):
            hash_key, sort_key = decode_key(key)
            if not match_filter(
                context.hash_key_filter_type, context.hash_key_filter_pattern, hash_key
            ):
                return None
            if not match_filter(
                context.sort_key_filter_type, context.sort_key_filter_pattern, sort_key
            ):
                return None
        if context.only_return_count:
            return KeyValue(key)
        return KeyValue(
            key=key,
            value=b"" if context.no_value else value,
            expire_ts_seconds=to_int32(expire_ts) if context.return_expire_ts else None,
        )

    def _finish(
        self, context: ScanContext, limiter: IterationLimiter, batch: _Batch
    ) -> ScanResponse:
        kv_count = batch.count if context.only_return_count else None
        if not batch.complete:
            limiter.time_check_after_incomplete_scan()
        if limiter.exceeded_time:
            return ScanResponse(
                error=StorageStatus.kIncomplete,
                kvs=tuple(batch.kvs),
                context_id=SCAN_CONTEXT_ID_COMPLETED,
                kv_count=kv_count,
            )
        if not batch.complete and self._iterator_valid(context):
            context_id = self.table.put(context, self._clock())
        else:
            context_id = SCAN_CONTEXT_ID_COMPLETED
        return ScanResponse(
            error=StorageStatus.kOk, kvs=tuple(batch.kvs), context_id=context_id, kv_count=kv_count
        )
