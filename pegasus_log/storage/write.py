"""The write operations, each applied at a decree (upstream pegasus_write_service_impl.h).

Every write advances the partition's last applied decree, whatever its outcome: a write
that fails its check or its validation still writes the decree alone (upstream's "empty
put"), so replaying the log after a restart starts at the right place. Writes are
deterministic given the data, the decree's timestamp and the table env, so every replica
that applies the same mutations reaches the same bytes.

Semantics kept from upstream, with the reason they matter to clients:
- expire_ts fields are i32 on the wire and stored as u32: a negative expire_ts becomes a
  very large one (upstream ``static_cast<uint32_t>``).
- the table's default TTL applies to every record a write stores with expire_ts 0: put,
  multi_put, incr, check_and_set and check_and_mutate puts alike.
- multi_remove reports ``count = len(sort_keys)``, existing or not.
- incr treats a missing, expired or empty value as 0; a value that is not an int64, or a
  sum that overflows, is kInvalidArgument (the overflow case answers the old value).
- a failed check is kTryAgain; an int compare on a non-integer is kInvalidArgument.

Where upstream would crash on client input (a hash key of 65535 bytes or more, an encoded
key that does not decode), this engine answers kInvalidArgument and writes nothing but the
decree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pegasus_log.storage.options import TableEnv
from pegasus_log.storage.predicates import (
    CheckOutcome,
    add_int64,
    evaluate_check,
    is_check_type_supported,
    parse_int64,
)
from pegasus_log.storage.rocks import Delete, Put, RocksStore, WriteOp
from pegasus_log.storage.schema import (
    EXPIRE_TS_MAX,
    HASH_KEY_LEN_MAX,
    decode_value,
    encode_key,
    encode_value,
    epoch_now,
    is_ts_expired,
    is_valid_key,
    make_timetag,
)
from pegasus_log.storage.status import StorageStatus
from pegasus_log.storage.types import (
    CheckAndMutateRequest,
    CheckAndMutateResponse,
    CheckAndSetRequest,
    CheckAndSetResponse,
    IncrRequest,
    IncrResponse,
    MultiPutRequest,
    MultiRemoveRequest,
    MultiRemoveResponse,
    MutateOperation,
    UpdateRequest,
    UpdateResponse,
)

OK = StorageStatus.kOk
INVALID = StorageStatus.kInvalidArgument


class _Record:
    """The current state of one key, as a write sees it before changing it."""

    __slots__ = ("exists", "expire_ts", "value")

    def __init__(self, raw: bytes | None, now_epoch: int) -> None:
        self.exists = False
        self.expire_ts = 0
        self.value = b""
        if raw is None:
            return
        expire_ts, _timetag, value = decode_value(raw)
        if is_ts_expired(now_epoch, expire_ts):
            return
        self.exists = True
        self.expire_ts = expire_ts
        self.value = value


class WriteService:
    def __init__(self, store: RocksStore, *, clock: Callable[[], float], cluster_id: int) -> None:
        self._store = store
        self._clock = clock
        self._cluster_id = cluster_id

    # ---- helpers ----

    def _encoder(self, env: TableEnv, timestamp_us: int | None) -> Callable[[bytes, int], bytes]:
        """A function building stored values for one write: ``(user_data, expire_ts_i32)``."""
        now = self._clock()
        if timestamp_us is None:
            timestamp_us = int(now * 1_000_000)
        timetag = make_timetag(timestamp_us, self._cluster_id, deleted=False)
        now_epoch = epoch_now(now)
        default_ttl = env.default_ttl_seconds

        def encode(user_data: bytes, expire_ts: int) -> bytes:
            stored_ts = expire_ts & EXPIRE_TS_MAX
            if stored_ts == 0 and default_ttl != 0:
                stored_ts = (now_epoch + default_ttl) & EXPIRE_TS_MAX
            return encode_value(user_data, expire_ts=stored_ts, timetag=timetag)

        return encode

    def _now_epoch(self) -> int:
        return epoch_now(self._clock())

    def _read(self, key: bytes) -> _Record:
        return _Record(self._store.get_for_write(key), self._now_epoch())

    def _apply(self, decree: int, ops: Sequence[WriteOp]) -> None:
        self._store.apply(decree, ops)

    # ---- put / remove ----

    def empty_put(self, decree: int) -> None:
        """Advance the decree without changing data (an empty mutation)."""
        self._apply(decree, ())

    def put(
        self, decree: int, request: UpdateRequest, *, env: TableEnv, timestamp_us: int | None
    ) -> UpdateResponse:
        return self.batch_write(decree, (request,), env=env, timestamp_us=timestamp_us)

    def remove(self, decree: int, key: bytes) -> UpdateResponse:
        return self.batch_write(decree, (key,), env=TableEnv(), timestamp_us=None)

    def batch_write(
        self,
        decree: int,
        writes: Sequence[UpdateRequest | bytes],
        *,
        env: TableEnv,
        timestamp_us: int | None,
    ) -> UpdateResponse:
        """Puts (``UpdateRequest``) and removes (an encoded key) of one mutation, applied
        together; they share one outcome, as upstream's batched single writes do."""
        encode = self._encoder(env, timestamp_us)
        ops: list[WriteOp] = []
        for write in writes:
            key = write if isinstance(write, bytes) else write.key
            if not is_valid_key(key):
                self.empty_put(decree)
                return UpdateResponse(error=INVALID, decree=decree)
            if isinstance(write, bytes):
                ops.append(Delete(write))
            else:
                ops.append(Put(write.key, encode(write.value, write.expire_ts_seconds)))
        self._apply(decree, ops)
        return UpdateResponse(error=OK, decree=decree)

    # ---- multi_put / multi_remove ----

    def multi_put(
        self,
        decree: int,
        request: MultiPutRequest,
        *,
        env: TableEnv,
        timestamp_us: int | None,
    ) -> UpdateResponse:
        if not request.kvs or len(request.hash_key) > HASH_KEY_LEN_MAX:
            self.empty_put(decree)
            return UpdateResponse(error=INVALID, decree=decree)
        encode = self._encoder(env, timestamp_us)
        ops: list[WriteOp] = [
            # A key_value's own expire_ts_seconds is ignored, as upstream does.
            Put(encode_key(request.hash_key, kv.key), encode(kv.value, request.expire_ts_seconds))
            for kv in request.kvs
        ]
        self._apply(decree, ops)
        return UpdateResponse(error=OK, decree=decree)

    def multi_remove(self, decree: int, request: MultiRemoveRequest) -> MultiRemoveResponse:
        if not request.sort_keys or len(request.hash_key) > HASH_KEY_LEN_MAX:
            self.empty_put(decree)
            return MultiRemoveResponse(error=INVALID, count=0, decree=decree)
        ops: list[WriteOp] = [
            Delete(encode_key(request.hash_key, sort_key)) for sort_key in request.sort_keys
        ]
        self._apply(decree, ops)
        return MultiRemoveResponse(error=OK, count=len(request.sort_keys), decree=decree)

    # ---- incr ----

    def incr(
        self, decree: int, request: IncrRequest, *, env: TableEnv, timestamp_us: int | None
    ) -> IncrResponse:
        if not is_valid_key(request.key):
            self.empty_put(decree)
            return IncrResponse(error=INVALID, decree=decree)
        record = self._read(request.key)
        if not record.exists:
            new_value = request.increment
            new_expire_ts = max(request.expire_ts_seconds, 0)
        else:
            new_expire_ts = _incr_expire_ts(request.expire_ts_seconds, record.expire_ts)
            if not record.value:
                new_value = request.increment
            else:
                old_value = parse_int64(record.value)
                if old_value is None:
                    self.empty_put(decree)
                    return IncrResponse(error=INVALID, decree=decree)
                total = add_int64(old_value, request.increment)
                if total is None:
                    self.empty_put(decree)
                    return IncrResponse(error=INVALID, new_value=old_value, decree=decree)
                new_value = total
        encode = self._encoder(env, timestamp_us)
        stored = encode(str(new_value).encode(), new_expire_ts)
        self._apply(decree, (Put(request.key, stored),))
        return IncrResponse(error=OK, new_value=new_value, decree=decree)

    # ---- check_and_set / check_and_mutate ----

    def check_and_set(
        self,
        decree: int,
        request: CheckAndSetRequest,
        *,
        env: TableEnv,
        timestamp_us: int | None,
    ) -> CheckAndSetResponse:
        if not is_check_type_supported(request.check_type) or len(request.hash_key) > (
            HASH_KEY_LEN_MAX
        ):
            self.empty_put(decree)
            return CheckAndSetResponse(error=INVALID, decree=decree)
        record = self._read(encode_key(request.hash_key, request.check_sort_key))
        returned, exist, value = _check_value_reply(request.return_check_value, record)
        outcome = evaluate_check(
            request.check_type,
            request.check_operand,
            value_exist=record.exists,
            value=record.value,
        )
        if not outcome.passed:
            self.empty_put(decree)
        else:
            set_sort_key = (
                request.set_sort_key if request.set_diff_sort_key else request.check_sort_key
            )
            encode = self._encoder(env, timestamp_us)
            stored = encode(request.set_value, request.set_expire_ts_seconds)
            self._apply(decree, (Put(encode_key(request.hash_key, set_sort_key), stored),))
        return CheckAndSetResponse(
            error=_check_status(outcome),
            check_value_returned=returned,
            check_value_exist=exist,
            check_value=value,
            decree=decree,
        )

    def check_and_mutate(
        self,
        decree: int,
        request: CheckAndMutateRequest,
        *,
        env: TableEnv,
        timestamp_us: int | None,
    ) -> CheckAndMutateResponse:
        known_operations = (MutateOperation.MO_PUT, MutateOperation.MO_DELETE)
        if (
            not request.mutate_list
            or any(m.operation not in known_operations for m in request.mutate_list)
            or not is_check_type_supported(request.check_type)
            or len(request.hash_key) > HASH_KEY_LEN_MAX
        ):
            self.empty_put(decree)
            return CheckAndMutateResponse(error=INVALID, decree=decree)
        record = self._read(encode_key(request.hash_key, request.check_sort_key))
        returned, exist, value = _check_value_reply(request.return_check_value, record)
        outcome = evaluate_check(
            request.check_type,
            request.check_operand,
            value_exist=record.exists,
            value=record.value,
        )
        if not outcome.passed:
            self.empty_put(decree)
        else:
            encode = self._encoder(env, timestamp_us)
            ops: list[WriteOp] = []
            for mutate in request.mutate_list:
                key = encode_key(request.hash_key, mutate.sort_key)
                if mutate.operation == MutateOperation.MO_PUT:
                    ops.append(Put(key, encode(mutate.value, mutate.set_expire_ts_seconds)))
                else:
                    ops.append(Delete(key))
            self._apply(decree, ops)
        return CheckAndMutateResponse(
            error=_check_status(outcome),
            check_value_returned=returned,
            check_value_exist=exist,
            check_value=value,
            decree=decree,
        )


def _incr_expire_ts(requested: int, current: int) -> int:
    """The expire_ts an incr leaves on an existing record: 0 keeps it, < 0 clears it."""
    if requested == 0:
        return current
    if requested < 0:
        return 0
    return requested


def _check_value_reply(return_check_value: bool, record: _Record) -> tuple[bool, bool, bytes]:
    """``(check_value_returned, check_value_exist, check_value)`` of a check response."""
    if not return_check_value:
        return False, False, b""
    if not record.exists:
        return True, False, b""
    return True, True, record.value


def _check_status(outcome: CheckOutcome) -> StorageStatus:
    if outcome.passed:
        return OK
    return INVALID if outcome.invalid_argument else StorageStatus.kTryAgain
