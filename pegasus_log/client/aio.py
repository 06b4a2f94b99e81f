"""The asyncio Pegasus client: tables, every data operation, scanners.

    client = AsyncClient(["127.0.0.1:34601"])
    table = await client.open_table("temp")
    await table.set(b"h", b"s", b"v", ttl_seconds=60)
    value = await table.get(b"h", b"s")

Requests are routed by the Pegasus CRC-64 of the hash key; the routing table is cached and
refreshed when a replica says it is stale (ERR_OBJECT_NOT_FOUND, ERR_INVALID_STATE,
ERR_PARENT_PARTITION_MISUSED, ...) or a connection fails, and the call is retried until
its deadline.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from functools import partial
from typing import Any

from pegasus_log.client.errors import InvalidArgument, PegasusError
from pegasus_log.client.routing import ConnectionPool, MetaResolver, Route
from pegasus_log.frozen import frozen
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.error_code import REFRESH_CONFIG, ErrorCode
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.storage.keyhash import partition_hash
from pegasus_log.storage.schema import PEGASUS_EPOCH, decode_key, encode_key
from pegasus_log.transport.connection import CallFailed, Connection

# Default per-operation deadline; upstream's clients default to 1 s, we allow for a
# failover in progress.
DEFAULT_TIMEOUT_S = 5.0
# Pause between retries of a call whose routing went stale (doubles up to the max).
_RETRY_PAUSE_S = 0.05
_RETRY_PAUSE_MAX_S = 1.0
# Each attempt of a call may use a quarter of its deadline, and at least this much.
_ATTEMPTS_PER_DEADLINE = 4
_ATTEMPT_MIN_S = 1.0
# Reads a backup request may carry (upstream's Java client sends these).
_BACKUP_READS = frozenset(
    (m.RRDB_GET, m.RRDB_MULTI_GET, m.RRDB_BATCH_GET, m.RRDB_SORTKEY_COUNT, m.RRDB_TTL)
)
_MAX_HASH_KEY_BYTES = 0xFFFF - 1
_NOT_FOUND = 1
_INCOMPLETE = 7
_TRY_AGAIN = 13


@frozen
class MultiGetOptions:
    start_inclusive: bool = True
    stop_inclusive: bool = False
    sort_key_filter_type: m.FilterType = m.FilterType.FT_NO_FILTER
    sort_key_filter_pattern: bytes = b""
    max_count: int = 0  # <= 0: no limit
    max_size: int = 0  # bytes; <= 0: no limit
    no_value: bool = False
    reverse: bool = False


@frozen
class ScanOptions:
    batch_size: int = 1000
    start_inclusive: bool = True
    stop_inclusive: bool = False
    hash_key_filter_type: m.FilterType = m.FilterType.FT_NO_FILTER
    hash_key_filter_pattern: bytes = b""
    sort_key_filter_type: m.FilterType = m.FilterType.FT_NO_FILTER
    sort_key_filter_pattern: bytes = b""
    no_value: bool = False
    return_expire_ts: bool = False
    only_return_count: bool = False


@frozen
class CheckAndSetResult:
    set_succeed: bool
    check_value_returned: bool
    check_value_exist: bool
    check_value: bytes


@frozen
class Mutation:
    """One step of check_and_mutate: a put (value given) or a delete (value None)."""

    sort_key: bytes
    value: bytes | None = None
    ttl_seconds: int = 0


def expire_ts_of(ttl_seconds: int, now: float | None = None) -> int:
    """Absolute Pegasus-epoch expiry for a TTL; 0 means no expiry."""
    if ttl_seconds < 0:
        raise InvalidArgument("ttl", f"negative ttl {ttl_seconds}")
    if ttl_seconds == 0:
        return 0
    return int(now if now is not None else time.time()) - PEGASUS_EPOCH + ttl_seconds


def _check_hash_key(op: str, hash_key: bytes) -> None:
    if len(hash_key) > _MAX_HASH_KEY_BYTES:
        raise InvalidArgument(op, f"hash key of {len(hash_key)} bytes, limit {_MAX_HASH_KEY_BYTES}")


def _next_prefix(prefix: bytes) -> bytes:
    """The smallest key greater than every key starting with ``prefix`` (b"" if none)."""
    raw = bytearray(prefix)
    while raw and raw[-1] == 0xFF:
        raw.pop()
    if not raw:
        return b""
    raw[-1] += 1
    return bytes(raw)


class AsyncClient:
    """``backup_request_delay_s``: when set, a point read (get, exist, ttl, multi_get,
    batch_get, sortkey_count) that the primary has not answered within this delay is
    sent to one of the partition's secondaries too, as a backup request; the first
    answer wins. A secondary answers from its own state, which may lack the newest
    writes: reads are then no longer linearizable (upstream's Java client option
    ``backupRequestDelayMs``)."""

    def __init__(
        self,
        metas: list[str],
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        backup_request_delay_s: float | None = None,
    ) -> None:
        self._pool = ConnectionPool()
        self._resolver = MetaResolver(metas, self._pool)
        self._timeout_s = timeout_s
        self._tables: dict[str, AsyncTable] = {}
        self.backup_request_delay_s = backup_request_delay_s

    async def open_table(self, name: str) -> AsyncTable:
        table = self._tables.get(name)
        if table is None:
            route = await self._resolver.query(name, timeout_s=self._timeout_s)
            table = AsyncTable(self, name, route)
            self._tables[name] = table
        return table

    async def route(self, name: str) -> Route:
        return await self._resolver.query(name, timeout_s=self._timeout_s)

    @property
    def pool(self) -> ConnectionPool:
        return self._pool

    @property
    def timeout_s(self) -> float:
        return self._timeout_s

    async def close(self) -> None:
        await self._pool.close()


class AsyncTable:
    def __init__(self, client: AsyncClient, name: str, route: Route) -> None:
        self._client = client
        self.name = name
        self._route = route
        self._refreshing: asyncio.Task[Route] | None = None

    @property
    def partition_count(self) -> int:
        return self._route.partition_count

    # ---- plumbing ------------------------------------------------------------------------

    async def _refresh(self, stale: Route) -> None:
        if self._route is not stale:
            return  # someone refreshed already
        if self._refreshing is None or self._refreshing.done():
            self._refreshing = asyncio.create_task(self._client.route(self.name))
        try:
            self._route = await self._refreshing
        except PegasusError:
            pass  # keep the old route; the caller retries until its deadline

    async def _call(
        self,
        spec: m.RpcSpec,
        arg: Any,
        *,
        phash: int,
        pidx: int | None = None,
        timeout_s: float | None = None,
    ) -> Any:
        """Send to the primary of the partition of ``phash`` (or of index ``pidx``),
        refreshing the routing and retrying on stale-routing errors until the deadline.

        A write (``spec.is_write``) is retried only after an answer that proves it
        was not applied (a refusal such as ERR_INVALID_STATE or ERR_OBJECT_NOT_FOUND, or
        no connection at all). After a timeout or a connection lost while it was out,
        the primary may have applied it, or may still: sending it again could apply it
        twice (a check_and_set would then report a failed check for a value it wrote
        itself, a set could overwrite a newer value). Such a write fails with its error
        and an unknown outcome, as in upstream's clients, which do not retry timeouts.
        """
        timeout = timeout_s if timeout_s is not None else self._client.timeout_s
        deadline = time.monotonic() + timeout
        pause = _RETRY_PAUSE_S
        idempotent = not spec.is_write
        while True:
            route = self._route
            index = pidx if pidx is not None else phash % route.partition_count
            primary = route.primaries[index]
            left = deadline - time.monotonic()
            unanswered = False
            try:
                if primary.is_invalid:
                    raise PegasusError(spec.name, code=ErrorCode.ERR_INVALID_STATE)
                conn = self._client.pool.get(primary.host, primary.port)
                # A read attempt gets a share of the deadline, so that a server that
                # stopped answering (paused, partitioned) leaves time to refresh and try
                # the new one. A write that goes unanswered is never sent again: it may
                # use all the time left.
                attempt = (
                    min(left, max(_ATTEMPT_MIN_S, timeout / _ATTEMPTS_PER_DEADLINE))
                    if idempotent
                    else left
                )
                send = partial(
                    Connection.call,
                    spec=spec,
                    arg=arg,
                    timeout_s=max(attempt, 0.001),
                    app_id=route.app_id,
                    partition_index=index,
                    partition_hash=phash,
                )
                delay = self._client.backup_request_delay_s
                if delay is None or spec not in _BACKUP_READS or not route.secondaries:
                    return await send(conn)
                return await self._with_backup(send, conn, route.secondaries[index], delay)
            except CallFailed as e:
                code, unanswered = e.code, e.unanswered
            except PegasusError as e:
                code = e.code
            if not idempotent and (unanswered or code == ErrorCode.ERR_TIMEOUT):
                await self._refresh(route)  # the caller's next call finds the new primary
                raise PegasusError(spec.name, code=code, detail="outcome unknown")
            if code not in REFRESH_CONFIG and code != ErrorCode.ERR_TIMEOUT:
                raise PegasusError(spec.name, code=code)
            if time.monotonic() + pause >= deadline:
                raise PegasusError(spec.name, code=code, detail="deadline passed")
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RETRY_PAUSE_MAX_S)
            await self._refresh(route)

    async def _with_backup(
        self,
        send: Callable[..., Awaitable[Any]],
        primary: Connection,
        secondaries: tuple[RpcAddress, ...],
        delay_s: float,
    ) -> Any:
        """The primary's answer, or a secondary's if the primary has not answered within
        ``delay_s``: whichever succeeds first (the other is abandoned)."""
        first = asyncio.ensure_future(send(primary))
        done, _ = await asyncio.wait({first}, timeout=delay_s)
        if done or not secondaries:
            return await first
        backup = random.choice(secondaries)
        conn = self._client.pool.get(backup.host, backup.port)
        racing = {first, asyncio.ensure_future(send(conn, backup_request=True))}
        error: BaseException | None = None
        try:
            while racing:
                done, racing = await asyncio.wait(racing, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    if task.exception() is None:
                        return task.result()
                    error = task.exception()
            assert error is not None
            raise error
        finally:
            for task in racing:
                task.cancel()

    @staticmethod
    def _raise_status(op: str, status: int) -> None:
        if status != 0:
            raise PegasusError(op, status=status)

    # ---- single keys ---------------------------------------------------------------------

    async def get(self, hash_key: bytes, sort_key: bytes) -> bytes | None:
        _check_hash_key("get", hash_key)
        resp: m.ReadResponse = await self._call(
            m.RRDB_GET, encode_key(hash_key, sort_key), phash=partition_hash(hash_key, sort_key)
        )
        if resp.error == _NOT_FOUND:
            return None
        self._raise_status("get", resp.error)
        return resp.value

    async def set(
        self, hash_key: bytes, sort_key: bytes, value: bytes, *, ttl_seconds: int = 0
    ) -> None:
        _check_hash_key("set", hash_key)
        req = m.UpdateRequest(
            key=encode_key(hash_key, sort_key),
            value=value,
            expire_ts_seconds=expire_ts_of(ttl_seconds),
        )
        resp: m.UpdateResponse = await self._call(
            m.RRDB_PUT, req, phash=partition_hash(hash_key, sort_key)
        )
        self._raise_status("set", resp.error)

    async def delete(self, hash_key: bytes, sort_key: bytes) -> None:
        _check_hash_key("del", hash_key)
        resp: m.UpdateResponse = await self._call(
            m.RRDB_REMOVE, encode_key(hash_key, sort_key), phash=partition_hash(hash_key, sort_key)
        )
        self._raise_status("del", resp.error)

    async def exist(self, hash_key: bytes, sort_key: bytes) -> bool:
        return await self.ttl(hash_key, sort_key) != -2

    async def ttl(self, hash_key: bytes, sort_key: bytes) -> int:
        """Seconds left to live; -1 when the record never expires, -2 when it is absent."""
        _check_hash_key("ttl", hash_key)
        resp: m.TtlResponse = await self._call(
            m.RRDB_TTL, encode_key(hash_key, sort_key), phash=partition_hash(hash_key, sort_key)
        )
        if resp.error == _NOT_FOUND:
            return -2
        self._raise_status("ttl", resp.error)
        return resp.ttl_seconds

    async def incr(
        self, hash_key: bytes, sort_key: bytes, increment: int, *, ttl_seconds: int = 0
    ) -> int:
        """Add to a decimal integer value (absent = 0). ttl_seconds: 0 keeps the TTL, > 0
        sets it, -1 clears it."""
        _check_hash_key("incr", hash_key)
        expire = -1 if ttl_seconds < 0 else expire_ts_of(ttl_seconds)
        req = m.IncrRequest(
            key=encode_key(hash_key, sort_key), increment=increment, expire_ts_seconds=expire
        )
        resp: m.IncrResponse = await self._call(
            m.RRDB_INCR, req, phash=partition_hash(hash_key, sort_key)
        )
        self._raise_status("incr", resp.error)
        return resp.new_value

    # ---- one hash key, many sort keys ----------------------------------------------------

    async def multi_set(
        self,
        hash_key: bytes,
        values: dict[bytes, bytes] | Sequence[tuple[bytes, bytes]],
        *,
        ttl_seconds: int = 0,
    ) -> None:
        _check_hash_key("multi_set", hash_key)
        pairs = list(values.items()) if isinstance(values, dict) else list(values)
        if not pairs:
            raise InvalidArgument("multi_set", "no values given")
        req = m.MultiPutRequest(
            hash_key=hash_key,
            kvs=[m.KeyValue(key=k, value=v) for k, v in pairs],
            expire_ts_seconds=expire_ts_of(ttl_seconds),
        )
        resp: m.UpdateResponse = await self._call(
            m.RRDB_MULTI_PUT, req, phash=partition_hash(hash_key, b"")
        )
        self._raise_status("multi_set", resp.error)

    async def multi_get(
        self,
        hash_key: bytes,
        sort_keys: Iterable[bytes] = (),
        *,
        max_count: int = 0,
        max_size: int = 0,
        no_value: bool = False,
    ) -> tuple[list[tuple[bytes, bytes]], bool]:
        """Values of the given sort keys (all sort keys when none are given). Returns the
        pairs found and whether everything was fetched (False when a limit cut it)."""
        _check_hash_key("multi_get", hash_key)
        req = m.MultiGetRequest(
            hash_key=hash_key,
            sort_keys=list(sort_keys),
            max_kv_count=max_count,
            max_kv_size=max_size,
            no_value=no_value,
            start_inclusive=True,
        )
        return await self._multi_get(req)

    async def multi_get_range(
        self,
        hash_key: bytes,
        start_sort_key: bytes,
        stop_sort_key: bytes,
        options: MultiGetOptions | None = None,
    ) -> tuple[list[tuple[bytes, bytes]], bool]:
        _check_hash_key("multi_get_range", hash_key)
        o = options or MultiGetOptions()
        req = m.MultiGetRequest(
            hash_key=hash_key,
            sort_keys=[],
            max_kv_count=o.max_count,
            max_kv_size=o.max_size,
            no_value=o.no_value,
            start_sortkey=start_sort_key,
            stop_sortkey=stop_sort_key,
            start_inclusive=o.start_inclusive,
            stop_inclusive=o.stop_inclusive,
            sort_key_filter_type=int(o.sort_key_filter_type),
            sort_key_filter_pattern=o.sort_key_filter_pattern,
            reverse=o.reverse,
        )
        return await self._multi_get(req)

    async def _multi_get(self, req: m.MultiGetRequest) -> tuple[list[tuple[bytes, bytes]], bool]:
        resp: m.MultiGetResponse = await self._call(
            m.RRDB_MULTI_GET, req, phash=partition_hash(req.hash_key, b"")
        )
        if resp.error not in (0, _INCOMPLETE):
            raise PegasusError("multi_get", status=resp.error)
        return [(kv.key, kv.value) for kv in resp.kvs], resp.error == 0

    async def multi_del(self, hash_key: bytes, sort_keys: Iterable[bytes]) -> int:
        _check_hash_key("multi_del", hash_key)
        keys = list(sort_keys)
        if not keys:
            raise InvalidArgument("multi_del", "no sort keys given")
        req = m.MultiRemoveRequest(hash_key=hash_key, sort_keys=keys)
        resp: m.MultiRemoveResponse = await self._call(
            m.RRDB_MULTI_REMOVE, req, phash=partition_hash(hash_key, b"")
        )
        self._raise_status("multi_del", resp.error)
        return resp.count

    async def sortkey_count(self, hash_key: bytes) -> int:
        _check_hash_key("sortkey_count", hash_key)
        resp: m.CountResponse = await self._call(
            m.RRDB_SORTKEY_COUNT, hash_key, phash=partition_hash(hash_key, b"")
        )
        self._raise_status("sortkey_count", resp.error)
        return resp.count

    async def check_and_set(
        self,
        hash_key: bytes,
        check_sort_key: bytes,
        check_type: m.CasCheckType,
        check_operand: bytes,
        set_sort_key: bytes,
        set_value: bytes,
        *,
        ttl_seconds: int = 0,
        return_check_value: bool = False,
    ) -> CheckAndSetResult:
        _check_hash_key("check_and_set", hash_key)
        req = m.CheckAndSetRequest(
            hash_key=hash_key,
            check_sort_key=check_sort_key,
            check_type=int(check_type),
            check_operand=check_operand,
            set_diff_sort_key=set_sort_key != check_sort_key,
            set_sort_key=set_sort_key,
            set_value=set_value,
            set_expire_ts_seconds=expire_ts_of(ttl_seconds),
            return_check_value=return_check_value,
        )
        resp: m.CheckAndSetResponse = await self._call(
            m.RRDB_CHECK_AND_SET, req, phash=partition_hash(hash_key, b"")
        )
        return self._cas_result("check_and_set", resp)

    async def check_and_mutate(
        self,
        hash_key: bytes,
        check_sort_key: bytes,
        check_type: m.CasCheckType,
        check_operand: bytes,
        mutations: Sequence[Mutation],
        *,
        return_check_value: bool = False,
    ) -> CheckAndSetResult:
        _check_hash_key("check_and_mutate", hash_key)
        if not mutations:
            raise InvalidArgument("check_and_mutate", "no mutations given")
        mutate_list = [
            m.Mutate(
                operation=int(m.MutateOperation.MO_DELETE)
                if mu.value is None
                else int(m.MutateOperation.MO_PUT),
                sort_key=mu.sort_key,
                value=mu.value or b"",
                set_expire_ts_seconds=0 if mu.value is None else expire_ts_of(mu.ttl_seconds),
            )
            for mu in mutations
        ]
        req = m.CheckAndMutateRequest(
            hash_key=hash_key,
            check_sort_key=check_sort_key,
            check_type=int(check_type),
            check_operand=check_operand,
            mutate_list=mutate_list,
            return_check_value=return_check_value,
        )
        resp: m.CheckAndMutateResponse = await self._call(
            m.RRDB_CHECK_AND_MUTATE, req, phash=partition_hash(hash_key, b"")
        )
        return self._cas_result("check_and_mutate", resp)

    @staticmethod
    def _cas_result(
        op: str, resp: m.CheckAndSetResponse | m.CheckAndMutateResponse
    ) -> CheckAndSetResult:
        if resp.error not in (0, _TRY_AGAIN):
            raise PegasusError(op, status=resp.error)
        return CheckAndSetResult(
            set_succeed=resp.error == 0,
            check_value_returned=resp.check_value_returned,
            check_value_exist=resp.check_value_exist,
            check_value=resp.check_value,
        )

    # ---- many hash keys ------------------------------------------------------------------

    async def batch_get(self, keys: Sequence[tuple[bytes, bytes]]) -> list[bytes | None]:
        """Values of (hash_key, sort_key) pairs, None where absent; one request per
        partition involved, in parallel."""
        for hk, _ in keys:
            _check_hash_key("batch_get", hk)
        groups: dict[int, list[int]] = {}
        count = self._route.partition_count
        hashes = [partition_hash(hk, sk) for hk, sk in keys]
        for i, h in enumerate(hashes):
            groups.setdefault(h % count, []).append(i)
        found: dict[tuple[bytes, bytes], bytes] = {}

        async def one(indexes: list[int]) -> None:
            req = m.BatchGetRequest(
                keys=[m.FullKey(hash_key=keys[i][0], sort_key=keys[i][1]) for i in indexes]
            )
            resp: m.BatchGetResponse = await self._call(
                m.RRDB_BATCH_GET, req, phash=hashes[indexes[0]]
            )
            self._raise_status("batch_get", resp.error)
            for d in resp.data:
                found[(d.hash_key, d.sort_key)] = d.value

        await asyncio.gather(*(one(ix) for ix in groups.values()))
        return [found.get((hk, sk)) for hk, sk in keys]

    # ---- scanners ------------------------------------------------------------------------

    def get_scanner(
        self,
        hash_key: bytes,
        start_sort_key: bytes = b"",
        stop_sort_key: bytes = b"",
        options: ScanOptions | None = None,
    ) -> Scanner:
        """Scan the sort keys of one hash key in order."""
        _check_hash_key("get_scanner", hash_key)
        o = options or ScanOptions()
        start = encode_key(hash_key, start_sort_key)
        if stop_sort_key:
            stop, stop_inclusive = encode_key(hash_key, stop_sort_key), o.stop_inclusive
        else:
            stop, stop_inclusive = _next_prefix(encode_key(hash_key, b"")), False
        req = self._scanner_request(o, start, stop, stop_inclusive, full_scan=False)
        return Scanner(self, req, phash=partition_hash(hash_key, b""), pidx=None)

    def get_unordered_scanners(
        self, max_split: int = 0, options: ScanOptions | None = None
    ) -> list[Scanner]:
        """Scanners covering the whole table, each over one or more partitions."""
        o = options or ScanOptions()
        count = self._route.partition_count
        splits = count if max_split <= 0 else min(max_split, count)
        # Every encoded key lies in [00 00, ff ff): hash keys are shorter than 0xffff bytes.
        req = self._scanner_request(o, b"\x00\x00", b"\xff\xff", False, full_scan=True)
        per = [list(range(count))[i::splits] for i in range(splits)]
        return [MultiPartitionScanner(self, req, parts) for parts in per]

    @staticmethod
    def _scanner_request(
        o: ScanOptions, start: bytes, stop: bytes, stop_inclusive: bool, *, full_scan: bool
    ) -> m.GetScannerRequest:
        return m.GetScannerRequest(
            start_key=start,
            stop_key=stop,
            start_inclusive=o.start_inclusive,
            stop_inclusive=stop_inclusive,
            batch_size=o.batch_size,
            no_value=o.no_value,
            hash_key_filter_type=int(o.hash_key_filter_type),
            hash_key_filter_pattern=o.hash_key_filter_pattern,
            sort_key_filter_type=int(o.sort_key_filter_type),
            sort_key_filter_pattern=o.sort_key_filter_pattern,
            validate_partition_hash=full_scan,
            return_expire_ts=o.return_expire_ts,
            full_scan=full_scan,
            only_return_count=o.only_return_count,
        )

    async def scan_call(
        self, spec: m.RpcSpec, arg: Any, *, phash: int, pidx: int | None
    ) -> m.ScanResponse:
        resp: m.ScanResponse = await self._call(spec, arg, phash=phash, pidx=pidx)
        return resp

    async def clear_scanner(self, context_id: int, *, phash: int, pidx: int | None) -> None:
        await self._call(m.RRDB_CLEAR_SCANNER, context_id, phash=phash, pidx=pidx)


@frozen
class ScanItem:
    hash_key: bytes
    sort_key: bytes
    value: bytes
    expire_ts_seconds: int | None = None


class Scanner:
    """Iterates the records of one scan over one partition, batch by batch."""

    def __init__(
        self, table: AsyncTable, req: m.GetScannerRequest, *, phash: int, pidx: int | None
    ) -> None:
        self._table = table
        self._req = req
        self._phash = phash
        self._pidx = pidx
        self._context: int | None = None  # None: not started
        self._done = False
        self.count = 0  # records counted by only_return_count scans

    async def next_batch(self) -> list[ScanItem] | None:
        """The next batch, or None when the scan is over."""
        if self._done:
            return None
        if self._context is None:
            resp = await self._table.scan_call(
                m.RRDB_GET_SCANNER, self._req, phash=self._phash, pidx=self._pidx
            )
        else:
            resp = await self._table.scan_call(
                m.RRDB_SCAN, m.ScanRequest(self._context), phash=self._phash, pidx=self._pidx
            )
        if resp.error != 0:
            self._done = True
            raise PegasusError("scan", status=resp.error)
        self._context = resp.context_id
        if resp.context_id < 0:
            self._done = True
        if resp.kv_count is not None and resp.kv_count > 0:
            self.count += resp.kv_count
        items = []
        for kv in resp.kvs:
            hk, sk = decode_key(kv.key)
            items.append(ScanItem(hk, sk, kv.value, kv.expire_ts_seconds))
        return items

    async def close(self) -> None:
        if not self._done and self._context is not None and self._context >= 0:
            await self._table.clear_scanner(self._context, phash=self._phash, pidx=self._pidx)
        self._done = True

    async def __aiter__(self) -> AsyncIterator[ScanItem]:
        try:
            while True:
                batch = await self.next_batch()
                if batch is None:
                    return
                for item in batch:
                    yield item
        finally:
            await self.close()


class MultiPartitionScanner(Scanner):
    """An unordered full-table scanner over a list of partitions, one after another."""

    def __init__(self, table: AsyncTable, req: m.GetScannerRequest, partitions: list[int]) -> None:
        super().__init__(table, req, phash=partitions[0], pidx=partitions[0])
        self._partitions = list(partitions)

    async def next_batch(self) -> list[ScanItem] | None:
        while True:
            batch = await super().next_batch()
            if batch is not None:
                return batch
            self._partitions.pop(0)
            if not self._partitions:
                return None
            self._pidx = self._phash = self._partitions[0]
            self._context = None
            self._done = False
