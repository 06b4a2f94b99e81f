"""The point and range reads (upstream pegasus_server_impl.cpp: on_get, on_ttl,
on_batch_get, on_multi_get, on_sortkey_count).

Expired records are invisible to every read. Range reads count every row they visit,
expired and filtered ones included, toward their iteration limit, and a range multi_get
cut short by a limit answers kIncomplete with the rows gathered so far.

Upstream's default RocksDB setup uses a hash-key prefix extractor with
``prefix_same_as_start`` for forward reads, and total-order iteration for reverse reads.
That decides one visible detail, kept here: when a multi_get stops on a limit right after
its last row in range, it answers kIncomplete if the iterator still has a row to show, i.e.
(forward) any later row of the same hash key, even beyond stop_sortkey, or (reverse) any
earlier row of the partition.
"""

from __future__ import annotations

from collections.abc import Callable

from rocksdict import RdictIter

from pegasus_log.storage.limiter import IterationLimiter
from pegasus_log.storage.options import StorageOptions, TableEnv
from pegasus_log.storage.predicates import is_filter_type_supported, match_filter
from pegasus_log.storage.rocks import RocksStore
from pegasus_log.storage.schema import (
    HASH_KEY_LEN_MAX,
    HASH_KEY_LEN_SIZE,
    decode_expire_ts,
    decode_user_data,
    decode_value,
    encode_key,
    epoch_now,
    hash_key_stop,
    is_record_expired,
    is_ts_expired,
    sort_key_prefix_stop,
)
from pegasus_log.storage.status import StorageStatus
from pegasus_log.storage.types import (
    BatchGetRequest,
    BatchGetResponse,
    CountResponse,
    FilterType,
    FullData,
    KeyValue,
    MultiGetRequest,
    MultiGetResponse,
    ReadResponse,
    TtlResponse,
)

INT32_MAX = (1 << 31) - 1

OK = StorageStatus.kOk
NOT_FOUND = StorageStatus.kNotFound
INVALID = StorageStatus.kInvalidArgument
INCOMPLETE = StorageStatus.kIncomplete


def to_int32(value: int) -> int:
    """Wrap to a signed 32-bit integer, as a C++ assignment to int32_t does."""
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value > INT32_MAX else value


class _Range:
    """A multi_get key range on encoded keys, after the prefix filter narrowed it."""

    __slots__ = ("start", "start_inclusive", "stop", "stop_inclusive")

    def __init__(
        self, *, start: bytes, start_inclusive: bool, stop: bytes, stop_inclusive: bool
    ) -> None:
        self.start = start
        self.start_inclusive = start_inclusive
        self.stop = stop
        self.stop_inclusive = stop_inclusive

    def is_empty(self) -> bool:
        if self.start > self.stop:
            return True
        return self.start == self.stop and not (self.start_inclusive and self.stop_inclusive)


def _multi_get_range(request: MultiGetRequest) -> _Range:
    hash_key = request.hash_key
    key_range = _Range(
        start=encode_key(hash_key, request.start_sortkey),
        start_inclusive=request.start_inclusive,
        stop=(
            encode_key(hash_key, request.stop_sortkey)
            if request.stop_sortkey
            else hash_key_stop(hash_key)
        ),
        stop_inclusive=bool(request.stop_sortkey) and request.stop_inclusive,
    )
    pattern = request.sort_key_filter_pattern
    if request.sort_key_filter_type == FilterType.FT_MATCH_PREFIX and pattern:
        prefix_start = encode_key(hash_key, pattern)
        prefix_stop = sort_key_prefix_stop(hash_key, pattern)
        if prefix_start > key_range.start:
            key_range.start = prefix_start
            key_range.start_inclusive = True
        if prefix_stop <= key_range.stop:
            key_range.stop = prefix_stop
            key_range.stop_inclusive = False
    return key_range


class _RangeResult:
    __slots__ = ("complete", "count", "kvs", "size")

    def __init__(self) -> None:
        self.kvs: list[KeyValue] = []
        self.count = 0
        self.size = 0
        self.complete = False


class ReadService:
    def __init__(
        self, store: RocksStore, *, options: StorageOptions, clock: Callable[[], float]
    ) -> None:
        self._store = store
        self._options = options
        self._clock = clock

    def _now_epoch(self) -> int:
        return epoch_now(self._clock())

    def _time_max_ms(self, env: TableEnv) -> int:
        if env.iteration_time_max_ms is not None:
            return env.iteration_time_max_ms
        return self._options.iteration_time_max_ms

    # ---- point reads ----

    def get(self, key: bytes) -> ReadResponse:
        raw = self._store.get(key)
        if raw is None:
            return ReadResponse(error=NOT_FOUND)
        expire_ts, _timetag, value = decode_value(raw)
        if is_ts_expired(self._now_epoch(), expire_ts):
            return ReadResponse(error=NOT_FOUND)
        return ReadResponse(error=OK, value=value)

    def ttl(self, key: bytes) -> TtlResponse:
        raw = self._store.get(key)
        if raw is None:
            return TtlResponse(error=NOT_FOUND)
        expire_ts = decode_expire_ts(raw)
        now = self._now_epoch()
        if is_ts_expired(now, expire_ts):
            return TtlResponse(error=NOT_FOUND)
        ttl_seconds = to_int32(expire_ts - now) if expire_ts > 0 else -1
        return TtlResponse(error=OK, ttl_seconds=ttl_seconds)

    def batch_get(self, request: BatchGetRequest) -> BatchGetResponse:
        if not request.keys or any(len(k.hash_key) > HASH_KEY_LEN_MAX for k in request.keys):
            return BatchGetResponse(error=INVALID)
        raws = self._store.multi_get([encode_key(k.hash_key, k.sort_key) for k in request.keys])
        now = self._now_epoch()
        data = []
        for full_key, raw in zip(request.keys, raws, strict=True):
            if raw is None or is_record_expired(now, raw):
                continue
            data.append(FullData(full_key.hash_key, full_key.sort_key, decode_user_data(raw)))
        return BatchGetResponse(error=OK, data=tuple(data))

    # ---- sortkey_count ----

    def sortkey_count(self, hash_key: bytes, *, env: TableEnv) -> CountResponse:
        """Unexpired records of ``hash_key``. Upstream bounds this count by time only: past
        the iteration time limit it answers ``count = -1`` (status kOk)."""
        if len(hash_key) > HASH_KEY_LEN_MAX:
            return CountResponse(error=INVALID)
        stop = hash_key_stop(hash_key)
        it = self._store.iterator()
        it.seek(encode_key(hash_key, b""))
        limiter = IterationLimiter(
            count_max=self._options.max_iteration_count,
            size_max_bytes=0,
            time_max_ms=self._time_max_ms(env),
            clock=self._clock,
        )
        now = self._now_epoch()
        count = 0
        while limiter.time_check() and it.valid() and bytes(it.key()) < stop:
            limiter.add_count()
            if not is_record_expired(now, it.value()):
                count += 1
            it.next()
        if limiter.exceeded_time:
            return CountResponse(error=OK, count=-1)
        return CountResponse(error=OK, count=count)

    # ---- multi_get ----

    def multi_get(self, request: MultiGetRequest, *, env: TableEnv) -> MultiGetResponse:
        if not is_filter_type_supported(request.sort_key_filter_type):
            return MultiGetResponse(error=INVALID)
        if len(request.hash_key) > HASH_KEY_LEN_MAX:
            return MultiGetResponse(error=INVALID)
        iteration_max = self._options.multi_get_max_iteration_count
        max_kv_count = iteration_max
        if 0 < request.max_kv_count < max_kv_count:
            max_kv_count = request.max_kv_count
        max_kv_size = request.max_kv_size if request.max_kv_size > 0 else INT32_MAX
        if request.sort_keys:
            return self._multi_get_sort_keys(request, max_kv_count, max_kv_size)

        key_range = _multi_get_range(request)
        if key_range.is_empty():
            return MultiGetResponse(error=OK)
        size_max = min(max_kv_size, self._options.multi_get_max_iteration_size_bytes or INT32_MAX)
        limiter = IterationLimiter(
            count_max=iteration_max,
            size_max_bytes=size_max,
            time_max_ms=self._time_max_ms(env),
            clock=self._clock,
        )
        it = self._store.iterator()
        if request.reverse:
            result = self._iterate_reverse(it, request, key_range, limiter, max_kv_count)
            # total-order iteration: any earlier row of the partition is "more"
            more = it.valid()
        else:
            result = self._iterate_forward(it, request, key_range, limiter, max_kv_count)
            # prefix_same_as_start: only a later row of the same hash key is "more"
            more = it.valid() and bytes(it.key()).startswith(encode_key(request.hash_key, b""))
        status = INCOMPLETE if more and not result.complete else OK
        return MultiGetResponse(error=status, kvs=tuple(result.kvs))

    def _multi_get_sort_keys(
        self, request: MultiGetRequest, max_kv_count: int, max_kv_size: int
    ) -> MultiGetResponse:
        keys = [encode_key(request.hash_key, sort_key) for sort_key in request.sort_keys]
        raws = self._store.multi_get(keys)
        now = self._now_epoch()
        kvs: list[KeyValue] = []
        size = 0
        for sort_key, raw in zip(request.sort_keys, raws, strict=True):
            if raw is None or is_record_expired(now, raw):
                continue
            if len(kvs) >= max_kv_count or size >= max_kv_size:
                return MultiGetResponse(error=INCOMPLETE, kvs=tuple(kvs))
            value = b"" if request.no_value else decode_user_data(raw)
            kvs.append(KeyValue(sort_key, value))
            size += len(sort_key) + len(value)
        return MultiGetResponse(error=OK, kvs=tuple(kvs))

    def _visit(
        self,
        result: _RangeResult,
        limiter: IterationLimiter,
        request: MultiGetRequest,
        key: bytes,
        raw: bytes,
        now: int,
    ) -> None:
        """One row of a range multi_get: counted, then kept unless expired or filtered."""
        limiter.add_count()
        if is_record_expired(now, raw):
            return
        sort_key = key[HASH_KEY_LEN_SIZE + len(request.hash_key) :]
        if not match_filter(
            request.sort_key_filter_type, request.sort_key_filter_pattern, sort_key
        ):
            return
        value = b"" if request.no_value else decode_user_data(raw)
        result.kvs.append(KeyValue(sort_key, value))
        result.count += 1
        kv_size = len(sort_key) + len(value)
        result.size += kv_size
        limiter.add_size(kv_size)

    def _iterate_forward(
        self,
        it: RdictIter,
        request: MultiGetRequest,
        key_range: _Range,
        limiter: IterationLimiter,
        max_kv_count: int,
    ) -> _RangeResult:
        result = _RangeResult()
        now = self._now_epoch()
        start, stop = key_range.start, key_range.stop
        it.seek(start)
        skip_start = not key_range.start_inclusive
        while result.count < max_kv_count and limiter.valid() and it.valid():
            key: bytes = it.key()
            if key > stop or (key == stop and not key_range.stop_inclusive):
                result.complete = True
                break
            if skip_start:
                skip_start = False
                if key == start:
                    it.next()
                    continue
            self._visit(result, limiter, request, key, it.value(), now)
            if key == stop:
                result.complete = True
                break
            it.next()
        return result

    def _iterate_reverse(
        self,
        it: RdictIter,
        request: MultiGetRequest,
        key_range: _Range,
        limiter: IterationLimiter,
        max_kv_count: int,
    ) -> _RangeResult:
        result = _RangeResult()
        now = self._now_epoch()
        start, stop = key_range.start, key_range.stop
        it.seek_for_prev(stop)
        skip_stop = not key_range.stop_inclusive
        while result.count < max_kv_count and limiter.valid() and it.valid():
            key: bytes = it.key()
            if key < start or (key == start and not key_range.start_inclusive):
                result.complete = True
                break
            if skip_stop:
                skip_stop = False
                if key == stop:
                    it.prev()
                    continue
            self._visit(result, limiter, request, key, it.value(), now)
            if key == start:
                result.complete = True
                break
            it.prev()
        result.kvs.reverse()
        return result
