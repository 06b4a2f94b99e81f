"""count_data, copy_data and clear_data: one scanner per partition ("split"), all splits
at once, each with a bounded number of requests in flight, as upstream's shell runs them.

The workers are coroutines on the client's event loop; they only add to counters in a
``Job``, which the shell's thread reads to draw progress. The first failing split stops
every other (upstream's ``error_occurred``).
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pegasus_log.client.aio import AsyncTable, ScanItem, Scanner, ScanOptions
from pegasus_log.client.errors import PegasusError
from pegasus_log.rpc.messages import CasCheckType
from pegasus_log.shell.shell.commands import ScanFilters
from pegasus_log.storage.schema import PEGASUS_EPOCH

# Size classes of the stat_size histograms: powers of two up to 2**40 bytes.
_HISTOGRAM_BUCKETS = 41


@dataclass
class Split:
    index: int  # partition index
    rows: int = 0
    hash_keys: int = 0
    done: bool = False
    last_hash_key: bytes | None = None


@dataclass
class SizeHistogram:
    """Sizes seen, in power-of-two buckets: bounded memory over any table."""

    count: int = 0
    total: int = 0
    min: int = 0
    max: int = 0
    buckets: list[int] = field(default_factory=lambda: [0] * _HISTOGRAM_BUCKETS)

    def add(self, size: int) -> None:
        self.min = size if self.count == 0 else min(self.min, size)
        self.max = max(self.max, size)
        self.count += 1
        self.total += size
        self.buckets[min(size.bit_length(), _HISTOGRAM_BUCKETS - 1)] += 1

    def percentile(self, p: float) -> int:
        """Upper bound of the bucket holding the p-th percentile (capped at max)."""
        if self.count == 0:
            return 0
        rank = p / 100 * self.count
        seen = 0
        for i, n in enumerate(self.buckets):
            seen += n
            if seen >= rank:
                return min((1 << i) - 1 if i else 0, self.max)
        return self.max

    def summary(self) -> str:
        avg = self.total / self.count if self.count else 0.0
        return (
            f"Count: {self.count} Average: {avg:.4f} Min: {self.min} Max: {self.max} "
            f"P50: {self.percentile(50)} P99: {self.percentile(99)}"
        )


@dataclass
class SizeStats:
    hash_key: SizeHistogram = field(default_factory=SizeHistogram)
    sort_key: SizeHistogram = field(default_factory=SizeHistogram)
    value: SizeHistogram = field(default_factory=SizeHistogram)
    row: SizeHistogram = field(default_factory=SizeHistogram)
    top_count: int = 0
    # min-heap of (row_size, hash_key, sort_key), at most top_count long
    top: list[tuple[int, bytes, bytes]] = field(default_factory=list)

    def add(self, item: ScanItem) -> None:
        hk, sk, v = len(item.hash_key), len(item.sort_key), len(item.value)
        self.hash_key.add(hk)
        self.sort_key.add(sk)
        self.value.add(v)
        self.row.add(hk + sk + v)
        if self.top_count <= 0:
            return
        entry = (hk + sk + v, item.hash_key, item.sort_key)
        if len(self.top) < self.top_count:
            heapq.heappush(self.top, entry)
        elif entry[0] > self.top[0][0]:
            heapq.heapreplace(self.top, entry)

    def largest(self) -> list[tuple[int, bytes, bytes]]:
        return sorted(self.top, key=lambda e: -e[0])


@dataclass
class Job:
    splits: list[Split]
    error: str | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.splits)

    @property
    def hash_keys(self) -> int:
        return sum(s.hash_keys for s in self.splits)

    @property
    def completed(self) -> int:
        return sum(1 for s in self.splits if s.done)


def scan_options(
    filters: ScanFilters, *, no_value: bool, batch_size: int, **extra: Any
) -> ScanOptions:
    """Scanner options for a filtered full scan (the shell-side part of the filters is
    applied by ``ScanFilters.keep``)."""
    return ScanOptions(
        batch_size=batch_size,
        hash_key_filter_type=filters.hash_key.server_type,
        hash_key_filter_pattern=filters.hash_key.pattern,
        sort_key_filter_type=filters.sort_key.server_type,
        sort_key_filter_pattern=filters.sort_key.pattern,
        no_value=no_value,
        **extra,
    )


async def run_splits(
    job: Job, scanners: Sequence[Scanner], work: Callable[[Split, Scanner], Awaitable[None]]
) -> None:
    """Run ``work`` for every split at once; the first failure cancels the rest and is
    recorded in ``job.error``."""

    async def one(split: Split, scanner: Scanner) -> None:
        try:
            await work(split, scanner)
            split.done = True
        except PegasusError as e:
            if job.error is None:
                job.error = f"split[{split.index}] failed: {e}"
            raise
        finally:
            await scanner.close()

    try:
        async with asyncio.TaskGroup() as tg:
            for split, scanner in zip(job.splits, scanners, strict=True):
                tg.create_task(one(split, scanner))
    except* PegasusError:
        pass  # recorded in job.error


async def _bounded(limit: int, calls: Sequence[Callable[[], Awaitable[int]]]) -> int:
    """Run ``calls`` at most ``limit`` at a time; the sum of what they return."""
    sem = asyncio.Semaphore(limit)
    results: list[int] = []

    async def one(call: Callable[[], Awaitable[int]]) -> None:
        async with sem:
            results.append(await call())

    async with asyncio.TaskGroup() as tg:
        for call in calls:
            tg.create_task(one(call))
    return sum(results)


def _group_by_hash_key(items: Sequence[ScanItem]) -> dict[bytes, list[ScanItem]]:
    groups: dict[bytes, list[ScanItem]] = {}
    for item in items:
        groups.setdefault(item.hash_key, []).append(item)
    return groups


def _raise_first(eg: BaseExceptionGroup[Any]) -> None:
    """Re-raise the first leaf of a TaskGroup's exception group."""
    first: BaseException = eg
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    raise first


# ---- count -----------------------------------------------------------------------------


def count_worker(
    filters: ScanFilters, *, diff_hash_key: bool, stats: SizeStats | None
) -> Callable[[Split, Scanner], Awaitable[None]]:
    async def work(split: Split, scanner: Scanner) -> None:
        while True:
            before = scanner.count
            batch = await scanner.next_batch()
            if batch is None:
                return
            split.rows += scanner.count - before  # only_return_count scans
            for item in batch:
                if not filters.keep(item.sort_key, item.value):
                    continue
                split.rows += 1
                if stats is not None:
                    stats.add(item)
                if diff_hash_key and item.hash_key != split.last_hash_key:
                    split.hash_keys += 1
                    split.last_hash_key = item.hash_key

    return work


# ---- copy ------------------------------------------------------------------------------


def ttl_left(expire_ts_seconds: int | None, now_unix: float) -> int | None:
    """Seconds to live of a copied record: 0 for never, None when already expired."""
    if not expire_ts_seconds:
        return 0
    left = expire_ts_seconds - (int(now_unix) - PEGASUS_EPOCH)
    return left if left > 0 else None


def copy_worker(
    target: AsyncTable,
    filters: ScanFilters,
    *,
    max_batch_count: int,
    max_multi_set_concurrency: int,
    no_overwrite: bool,
    use_multi_set: bool,
) -> Callable[[Split, Scanner], Awaitable[None]]:
    def put(item: ScanItem, ttl: int) -> Callable[[], Awaitable[int]]:
        async def call() -> int:
            if no_overwrite:
                result = await target.check_and_set(
                    item.hash_key,
                    item.sort_key,
                    CasCheckType.CT_VALUE_NOT_EXIST,
                    b"",
                    item.sort_key,
                    item.value,
                    ttl_seconds=ttl,
                )
                return 1 if result.set_succeed else 0
            await target.set(item.hash_key, item.sort_key, item.value, ttl_seconds=ttl)
            return 1

        return call

    def multi_put(
        hash_key: bytes, rows: list[tuple[ScanItem, int]]
    ) -> Callable[[], Awaitable[int]]:
        # One TTL for the whole call: the longest, or none if any row never expires
        # (upstream warns that multi_set loses per-record TTLs the same way).
        ttls = [ttl for _, ttl in rows]
        ttl = 0 if 0 in ttls else max(ttls)

        async def call() -> int:
            await target.multi_set(
                hash_key, [(i.sort_key, i.value) for i, _ in rows], ttl_seconds=ttl
            )
            return len(rows)

        return call

    async def work(split: Split, scanner: Scanner) -> None:
        while True:
            batch = await scanner.next_batch()
            if batch is None:
                return
            now = time.time()
            live: list[tuple[ScanItem, int]] = []
            for item in batch:
                ttl = ttl_left(item.expire_ts_seconds, now)
                if ttl is not None and filters.keep(item.sort_key, item.value):
                    live.append((item, ttl))
            try:
                if use_multi_set:
                    singles = [put(i, t) for i, t in live if not i.hash_key]
                    groups: dict[bytes, list[tuple[ScanItem, int]]] = {}
                    for i, t in live:
                        if i.hash_key:
                            groups.setdefault(i.hash_key, []).append((i, t))
                    multis = [multi_put(hk, rows) for hk, rows in groups.items()]
                    split.rows += await _bounded(max_multi_set_concurrency, multis)
                    split.rows += await _bounded(max_batch_count, singles)
                else:
                    split.rows += await _bounded(max_batch_count, [put(i, t) for i, t in live])
            except* PegasusError as eg:
                _raise_first(eg)

    return work


# ---- clear -----------------------------------------------------------------------------


def clear_worker(
    table: AsyncTable, filters: ScanFilters, *, max_batch_count: int
) -> Callable[[Split, Scanner], Awaitable[None]]:
    def delete(hash_key: bytes, sort_keys: list[bytes]) -> Callable[[], Awaitable[int]]:
        async def call() -> int:
            if hash_key:
                await table.multi_del(hash_key, sort_keys)
            else:
                # An empty hash key routes by the sort key: one request per record.
                for sk in sort_keys:
                    await table.delete(b"", sk)
            return len(sort_keys)

        return call

    async def work(split: Split, scanner: Scanner) -> None:
        while True:
            batch = await scanner.next_batch()
            if batch is None:
                return
            kept = [i for i in batch if filters.keep(i.sort_key, i.value)]
            groups = _group_by_hash_key(kept)
            calls = [delete(hk, [i.sort_key for i in items]) for hk, items in groups.items()]
            try:
                split.rows += await _bounded(max_batch_count, calls)
            except* PegasusError as eg:
                _raise_first(eg)

    return work
