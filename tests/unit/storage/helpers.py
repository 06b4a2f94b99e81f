"""Test helpers: a fake clock, and a client-like wrapper that speaks hash key / sort key
and numbers decrees, as the C++ and Go clients and the replica would."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from pegasus_log.storage import PartitionStore, StorageOptions
from pegasus_log.storage.schema import encode_key, epoch_now
from pegasus_log.storage.types import (
    SCAN_CONTEXT_ID_COMPLETED,
    BatchGetRequest,
    CheckAndMutateRequest,
    CheckAndMutateResponse,
    CheckAndSetRequest,
    CheckAndSetResponse,
    FullKey,
    GetScannerRequest,
    IncrRequest,
    IncrResponse,
    KeyValue,
    MultiGetRequest,
    MultiGetResponse,
    MultiPutRequest,
    MultiRemoveRequest,
    Mutate,
    ScanRequest,
    ScanResponse,
    UpdateRequest,
)

T0 = 1_700_000_000.0  # 2023-11-14, a plain "now" for the fake clock


class FakeClock:
    """Unix seconds that move only when told, or by ``step`` on every reading."""

    def __init__(self, now: float = T0, *, step: float = 0.0) -> None:
        self.now = now
        self.step = step

    def __call__(self) -> float:
        now = self.now
        self.now += self.step
        return now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def open_store(
    path: Path,
    clock: FakeClock,
    *,
    options: StorageOptions | None = None,
    partition_index: int = 0,
    partition_count: int = 1,
) -> PartitionStore:
    import random

    return PartitionStore(
        path,
        clock=clock,
        cluster_id=3,
        partition_index=partition_index,
        partition_count=partition_count,
        options=options,
        rng=random.Random(7),
    )


def client_expire_ts(clock: FakeClock, ttl_seconds: int) -> int:
    """What a client puts in expire_ts_seconds for a TTL (0 means none)."""
    return 0 if ttl_seconds == 0 else epoch_now(clock.now) + ttl_seconds


class Client:
    """Drives a PartitionStore the way a replica applying client writes would."""

    def __init__(self, store: PartitionStore, clock: FakeClock) -> None:
        self.store = store
        self.clock = clock
        self.decree = store.last_applied_decree()

    def next_decree(self) -> int:
        self.decree += 1
        return self.decree

    # ---- writes ----

    def set(self, hash_key: bytes, sort_key: bytes, value: bytes, ttl_seconds: int = 0) -> int:
        request = UpdateRequest(
            key=encode_key(hash_key, sort_key),
            value=value,
            expire_ts_seconds=client_expire_ts(self.clock, ttl_seconds),
        )
        return int(self.store.put(self.next_decree(), request).error)

    def delete(self, hash_key: bytes, sort_key: bytes) -> int:
        return int(self.store.remove(self.next_decree(), encode_key(hash_key, sort_key)).error)

    def multi_set(self, hash_key: bytes, kvs: Mapping[bytes, bytes], ttl_seconds: int = 0) -> int:
        request = MultiPutRequest(
            hash_key=hash_key,
            kvs=[KeyValue(k, v) for k, v in kvs.items()],
            expire_ts_seconds=client_expire_ts(self.clock, ttl_seconds),
        )
        return int(self.store.multi_put(self.next_decree(), request).error)

    def multi_del(self, hash_key: bytes, sort_keys: Iterable[bytes]) -> tuple[int, int]:
        request = MultiRemoveRequest(hash_key=hash_key, sort_keys=sorted(sort_keys))
        response = self.store.multi_remove(self.next_decree(), request)
        return int(response.error), response.count

    def incr(
        self, hash_key: bytes, sort_key: bytes, increment: int, ttl_seconds: int = 0
    ) -> IncrResponse:
        if ttl_seconds > 0:
            expire_ts = epoch_now(self.clock.now) + ttl_seconds
        else:
            expire_ts = ttl_seconds  # 0 keeps, -1 clears
        request = IncrRequest(encode_key(hash_key, sort_key), increment, expire_ts)
        return self.store.incr(self.next_decree(), request)

    def check_and_set(
        self,
        hash_key: bytes,
        check_sort_key: bytes,
        check_type: int,
        check_operand: bytes,
        set_sort_key: bytes,
        set_value: bytes,
        *,
        ttl_seconds: int = 0,
        return_check_value: bool = True,
    ) -> CheckAndSetResponse:
        request = CheckAndSetRequest(
            hash_key=hash_key,
            check_sort_key=check_sort_key,
            check_type=check_type,
            check_operand=check_operand,
            set_diff_sort_key=set_sort_key != check_sort_key,
            set_sort_key=set_sort_key,
            set_value=set_value,
            set_expire_ts_seconds=client_expire_ts(self.clock, ttl_seconds),
            return_check_value=return_check_value,
        )
        return self.store.check_and_set(self.next_decree(), request)

    def check_and_mutate(
        self,
        hash_key: bytes,
        check_sort_key: bytes,
        check_type: int,
        check_operand: bytes,
        mutations: list[Mutate],
        *,
        return_check_value: bool = True,
    ) -> CheckAndMutateResponse:
        request = CheckAndMutateRequest(
            hash_key=hash_key,
            check_sort_key=check_sort_key,
            check_type=check_type,
            check_operand=check_operand,
            mutate_list=mutations,
            return_check_value=return_check_value,
        )
        return self.store.check_and_mutate(self.next_decree(), request)

    # ---- reads ----

    def get(self, hash_key: bytes, sort_key: bytes) -> tuple[int, bytes]:
        response = self.store.get(encode_key(hash_key, sort_key))
        return int(response.error), response.value

    def ttl(self, hash_key: bytes, sort_key: bytes) -> tuple[int, int]:
        response = self.store.ttl(encode_key(hash_key, sort_key))
        return int(response.error), response.ttl_seconds

    def sortkey_count(self, hash_key: bytes) -> tuple[int, int]:
        response = self.store.sortkey_count(hash_key)
        return int(response.error), response.count

    def multi_get(self, hash_key: bytes, **fields: object) -> tuple[int, dict[bytes, bytes]]:
        response = self.multi_get_raw(hash_key, **fields)
        return int(response.error), {kv.key: kv.value for kv in response.kvs}

    def multi_get_raw(self, hash_key: bytes, **fields: object) -> MultiGetResponse:
        # the C++ client's defaults: [start, stop), no limits
        fields.setdefault("start_inclusive", True)
        fields.setdefault("stop_inclusive", False)
        request = MultiGetRequest(hash_key=hash_key, **fields)  # type: ignore[arg-type]
        return self.store.multi_get(request)

    def batch_get(self, keys: list[tuple[bytes, bytes]]) -> tuple[int, list[tuple[bytes, ...]]]:
        response = self.store.batch_get(BatchGetRequest([FullKey(h, s) for h, s in keys]))
        return int(response.error), [(d.hash_key, d.sort_key, d.value) for d in response.data]

    def scan_all(self, request: GetScannerRequest) -> tuple[list[KeyValue], list[ScanResponse]]:
        """get_scanner then scan until the context completes; every response is kept."""
        responses = [self.store.get_scanner(request)]
        while responses[-1].error == 0 and responses[-1].context_id != SCAN_CONTEXT_ID_COMPLETED:
            responses.append(self.store.scan(ScanRequest(responses[-1].context_id)))
        kvs = [kv for response in responses for kv in response.kvs]
        return kvs, responses


def hash_key_scan(
    hash_key: bytes,
    start_sort_key: bytes = b"",
    stop_sort_key: bytes = b"",
    **fields: object,
) -> GetScannerRequest:
    """The get_scanner request a client sends for a scan within one hash key."""
    from pegasus_log.storage.schema import hash_key_stop

    start = encode_key(hash_key, start_sort_key)
    if stop_sort_key:
        stop = encode_key(hash_key, stop_sort_key)
    else:
        stop = hash_key_stop(hash_key)
        fields["stop_inclusive"] = False
    fields.setdefault("start_inclusive", True)
    fields.setdefault("stop_inclusive", False)
    return GetScannerRequest(start_key=start, stop_key=stop, **fields)  # type: ignore[arg-type]


def full_scan(**fields: object) -> GetScannerRequest:
    """The request of an unordered (whole partition) scanner, as the Go client builds it."""
    fields.setdefault("start_inclusive", True)
    fields.setdefault("stop_inclusive", False)
    return GetScannerRequest(start_key=b"\x00\x00", stop_key=b"\xff\xff", **fields)  # type: ignore[arg-type]
