"""PartitionStore against the reference model, under random operation sequences with a
fake clock that moves (TTL), small iteration limits (kIncomplete), table-env changes,
compaction and reopen."""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pegasus_log.storage import PartitionStore, StorageOptions
from pegasus_log.storage.schema import encode_key, epoch_now, hash_key_stop
from pegasus_log.storage.types import (
    SCAN_CONTEXT_ID_COMPLETED,
    BatchGetRequest,
    CheckAndMutateRequest,
    CheckAndSetRequest,
    FullKey,
    GetScannerRequest,
    IncrRequest,
    KeyValue,
    MultiGetRequest,
    MultiPutRequest,
    MultiRemoveRequest,
    Mutate,
    ScanRequest,
    UpdateRequest,
)
from tests.unit.storage.helpers import FakeClock
from tests.unit.storage.reference_model import Model

OPTIONS = StorageOptions(
    multi_get_max_iteration_count=4,
    multi_get_max_iteration_size_bytes=24,
    max_iteration_count=4,
    compaction_chunk_rows=3,
)

# repeated entries weigh more: most rows land in "h", so ranges often reach the limits
hash_keys = st.sampled_from([b"h", b"h", b"h", b"", b"h\xff", b"hx", b"i"])
sort_keys = st.sampled_from([b"", b"a", b"ab", b"abc", b"b", b"ba", b"\xff", b"1"])
values = st.sampled_from(
    [b"", b"0", b"1", b"-3", b"42", b"0x10", b"010", b" 7", b"v", b"ab", b"9223372036854775807"]
)
patterns = st.sampled_from([b"", b"a", b"b", b"ab", b"\xff", b"x"])
expiries = st.sampled_from(["none", "none", "past", "past", "soon", "later", "negative"])
counts = st.sampled_from([0, -1, 1, 1, 2, 3, 100])


class StoreVersusModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # tmpfs when there is one: RocksDB's fsyncs on open make a disk 10x slower here
        shm = Path("/dev/shm")
        base = str(shm) if shm.is_dir() else None
        self.dir = Path(tempfile.mkdtemp(prefix="pegasus-model-", dir=base))
        self.clock = FakeClock()
        self.store = self._open()
        self.model = Model(
            iteration_max=OPTIONS.multi_get_max_iteration_count,
            iteration_size_max=OPTIONS.multi_get_max_iteration_size_bytes,
        )
        self.decree = 0

    def _open(self) -> PartitionStore:
        return PartitionStore(
            self.dir / "db",
            clock=self.clock,
            cluster_id=1,
            partition_index=0,
            partition_count=1,
            options=OPTIONS,
            rng=random.Random(0),
        )

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- helpers ----

    @property
    def now(self) -> int:
        return epoch_now(self.clock.now)

    def next_decree(self) -> int:
        self.decree += 1
        return self.decree

    def expire_ts(self, kind: str) -> int:
        return {
            "none": 0,
            "past": self.now - 5,
            "soon": self.now + 3,
            "later": self.now + 100,
            "negative": -1,
        }[kind]

    # ---- writes ----

    @rule(h=hash_keys, s=sort_keys, v=values, e=expiries)
    def put(self, h: bytes, s: bytes, v: bytes, e: str) -> None:
        expire = self.expire_ts(e)
        response = self.store.put(self.next_decree(), UpdateRequest(encode_key(h, s), v, expire))
        assert (response.error, response.decree) == (
            self.model.put(h, s, v, expire, self.now),
            self.decree,
        )

    @rule(h=hash_keys, s=sort_keys)
    def remove(self, h: bytes, s: bytes) -> None:
        response = self.store.remove(self.next_decree(), encode_key(h, s))
        assert response.error == self.model.remove(h, s)

    @rule(h=hash_keys, kvs=st.dictionaries(sort_keys, values, max_size=6), e=expiries)
    def multi_put(self, h: bytes, kvs: dict[bytes, bytes], e: str) -> None:
        expire = self.expire_ts(e)
        request = MultiPutRequest(h, [KeyValue(k, v) for k, v in kvs.items()], expire)
        response = self.store.multi_put(self.next_decree(), request)
        assert response.error == self.model.multi_put(h, list(kvs.items()), expire, self.now)

    @rule(h=hash_keys, sks=st.lists(sort_keys, max_size=4))
    def multi_remove(self, h: bytes, sks: list[bytes]) -> None:
        response = self.store.multi_remove(self.next_decree(), MultiRemoveRequest(h, sks))
        assert (response.error, response.count) == self.model.multi_remove(h, sks)

    @rule(
        h=hash_keys,
        s=sort_keys,
        increment=st.sampled_from([0, 1, -2, 1 << 62, -(1 << 63)]),
        e=st.sampled_from([0, -1, 10, 1000]),
    )
    def incr(self, h: bytes, s: bytes, increment: int, e: int) -> None:
        expire = e if e <= 0 else self.now + e
        response = self.store.incr(
            self.next_decree(), IncrRequest(encode_key(h, s), increment, expire)
        )
        assert (response.error, response.new_value) == self.model.incr(
            h, s, increment, expire, self.now
        )

    @rule(
        h=hash_keys,
        check=sort_keys,
        check_type=st.integers(0, 18),
        operand=values,
        set_key=sort_keys,
        v=values,
        e=expiries,
        return_check_value=st.booleans(),
    )
    def check_and_set(
        self,
        h: bytes,
        check: bytes,
        check_type: int,
        operand: bytes,
        set_key: bytes,
        v: bytes,
        e: str,
        return_check_value: bool,
    ) -> None:
        expire = self.expire_ts(e)
        request = CheckAndSetRequest(
            h, check, check_type, operand, set_key != check, set_key, v, expire, return_check_value
        )
        response = self.store.check_and_set(self.next_decree(), request)
        want = self.model.check_and_mutate(
            h, check, check_type, operand, [(set_key, v, expire)], return_check_value, self.now
        )
        got = (
            response.error,
            response.check_value_returned,
            response.check_value_exist,
            response.check_value,
        )
        assert got == want

    @rule(
        h=hash_keys,
        check=sort_keys,
        check_type=st.integers(0, 17),
        operand=values,
        mutations=st.lists(st.tuples(sort_keys, st.one_of(st.none(), values)), max_size=3),
    )
    def check_and_mutate(
        self,
        h: bytes,
        check: bytes,
        check_type: int,
        operand: bytes,
        mutations: list[tuple[bytes, bytes | None]],
    ) -> None:
        mutate_list = [Mutate(0, s, v, 0) if v is not None else Mutate(1, s) for s, v in mutations]
        request = CheckAndMutateRequest(h, check, check_type, operand, mutate_list, True)
        response = self.store.check_and_mutate(self.next_decree(), request)
        want = self.model.check_and_mutate(
            h, check, check_type, operand, [(s, v, 0) for s, v in mutations], True, self.now
        )
        got = (
            response.error,
            response.check_value_returned,
            response.check_value_exist,
            response.check_value,
        )
        assert got == want

    # ---- time, table env, maintenance ----

    @rule(seconds=st.sampled_from([1, 2, 3, 50, 200]))
    def advance_clock(self, seconds: int) -> None:
        self.clock.advance(seconds)

    @rule(ttl=st.sampled_from([0, 7]))
    def set_default_ttl(self, ttl: int) -> None:
        self.store.set_default_ttl(ttl)
        self.model.default_ttl = ttl

    @precondition(lambda self: self.decree % 5 == 0)
    @rule()
    def compact(self) -> None:
        self.store.compact()
        self.model.compact(self.now)

    @precondition(lambda self: self.decree % 7 == 3)
    @rule()
    def reopen(self) -> None:
        self.store.close()
        self.store = self._open()
        self.store.set_default_ttl(self.model.default_ttl)
        assert self.store.last_applied_decree() == self.decree

    # ---- reads ----

    @rule(h=hash_keys, s=sort_keys)
    def get_and_ttl(self, h: bytes, s: bytes) -> None:
        got = self.store.get(encode_key(h, s))
        assert (got.error, got.value) == self.model.get(h, s, self.now)
        ttl = self.store.ttl(encode_key(h, s))
        assert (ttl.error, ttl.ttl_seconds) == self.model.ttl(h, s, self.now)

    @rule(h=hash_keys)
    def sortkey_count(self, h: bytes) -> None:
        response = self.store.sortkey_count(h)
        assert (response.error, response.count) == (0, self.model.sortkey_count(h, self.now))

    @rule(keys=st.lists(st.tuples(hash_keys, sort_keys), min_size=1, max_size=5))
    def batch_get(self, keys: list[tuple[bytes, bytes]]) -> None:
        response = self.store.batch_get(BatchGetRequest([FullKey(h, s) for h, s in keys]))
        want = []
        for h, s in keys:
            status, value = self.model.get(h, s, self.now)
            if status == 0:
                want.append((h, s, value))
        assert response.error == 0
        assert [(d.hash_key, d.sort_key, d.value) for d in response.data] == want

    @rule(
        h=hash_keys,
        sks=st.lists(sort_keys, min_size=1, max_size=5),
        max_kv_count=counts,
        max_kv_size=st.sampled_from([0, 1, 4, 10]),
        no_value=st.booleans(),
    )
    def multi_get_sort_keys(
        self, h: bytes, sks: list[bytes], max_kv_count: int, max_kv_size: int, no_value: bool
    ) -> None:
        request = MultiGetRequest(
            h, sks, max_kv_count=max_kv_count, max_kv_size=max_kv_size, no_value=no_value
        )
        response = self.store.multi_get(request)
        want = self.model.multi_get_keys(
            h,
            sks,
            max_kv_count=max_kv_count,
            max_kv_size=max_kv_size,
            no_value=no_value,
            now=self.now,
        )
        assert (response.error, [(kv.key, kv.value) for kv in response.kvs]) == want

    @rule(
        h=hash_keys,
        start=sort_keys,
        stop=sort_keys,
        start_inclusive=st.booleans(),
        stop_inclusive=st.booleans(),
        filter_type=st.integers(0, 4),
        pattern=patterns,
        max_kv_count=counts,
        max_kv_size=st.sampled_from([0, -5, 3, 10, 1000]),
        no_value=st.booleans(),
        reverse=st.booleans(),
    )
    def multi_get_range(
        self,
        h: bytes,
        start: bytes,
        stop: bytes,
        start_inclusive: bool,
        stop_inclusive: bool,
        filter_type: int,
        pattern: bytes,
        max_kv_count: int,
        max_kv_size: int,
        no_value: bool,
        reverse: bool,
    ) -> None:
        request = MultiGetRequest(
            hash_key=h,
            max_kv_count=max_kv_count,
            max_kv_size=max_kv_size,
            no_value=no_value,
            start_sortkey=start,
            stop_sortkey=stop,
            start_inclusive=start_inclusive,
            stop_inclusive=stop_inclusive,
            sort_key_filter_type=filter_type,
            sort_key_filter_pattern=pattern,
            reverse=reverse,
        )
        response = self.store.multi_get(request)
        want = self.model.multi_get_range(
            h,
            start=start,
            stop=stop,
            start_inclusive=start_inclusive,
            stop_inclusive=stop_inclusive,
            filter_type=filter_type,
            pattern=pattern,
            max_kv_count=max_kv_count,
            max_kv_size=max_kv_size,
            no_value=no_value,
            reverse=reverse,
            now=self.now,
        )
        assert (response.error, [(kv.key, kv.value) for kv in response.kvs]) == want

    @rule(h=st.one_of(st.none(), hash_keys), batch_size=st.sampled_from([0, 1, 2, 5]))
    def scan(self, h: bytes | None, batch_size: int) -> None:
        if h is None:
            start, stop = b"\x00\x00", b"\xff\xff"
        else:
            start, stop = encode_key(h, b""), hash_key_stop(h)
        request = GetScannerRequest(start, stop, True, False, batch_size=batch_size)
        responses = [self.store.get_scanner(request)]
        while responses[-1].context_id != SCAN_CONTEXT_ID_COMPLETED:
            assert responses[-1].error == 0
            responses.append(self.store.scan(ScanRequest(responses[-1].context_id)))
        assert all(r.error == 0 and len(r.kvs) <= OPTIONS.max_iteration_count for r in responses)
        got = [(kv.key, kv.value) for r in responses for kv in r.kvs]
        assert got == self.model.alive_rows(self.now, h)

    @invariant()
    def decree_matches(self) -> None:
        assert self.store.last_applied_decree() == self.decree


StoreVersusModel.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestStoreVersusModel = StoreVersusModel.TestCase
