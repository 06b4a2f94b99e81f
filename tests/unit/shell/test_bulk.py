"""The bulk jobs' pieces: splits run together and stop together, TTLs of copied records,
size statistics."""

from __future__ import annotations

import asyncio
import io
import re
import sys
from typing import Any

import pytest

from pegasus_log.client.aio import ScanItem
from pegasus_log.client.errors import PegasusError
from pegasus_log.shell.shell import bulk
from pegasus_log.shell.shell.commands import Filter, ScanFilters
from pegasus_log.shell.shell.progress import LineProgress, make_progress
from pegasus_log.storage.schema import PEGASUS_EPOCH


class FakeScanner:
    """Batches handed out one by one; ``fail_at`` raises instead of that batch."""

    def __init__(self, batches: list[list[ScanItem]], *, fail_at: int = -1, count: int = 0):
        self._batches = list(batches)
        self._fail_at = fail_at
        self._calls = 0
        self.count = 0
        self._count_per_batch = count
        self.closed = False

    async def next_batch(self) -> list[ScanItem] | None:
        await asyncio.sleep(0)
        self._calls += 1
        if self._calls - 1 == self._fail_at:
            raise PegasusError("scan", status=5)
        if not self._batches:
            return None
        self.count += self._count_per_batch
        return self._batches.pop(0)

    async def close(self) -> None:
        self.closed = True


def item(hk: bytes, sk: bytes, v: bytes = b"v") -> ScanItem:
    return ScanItem(hk, sk, v)


def run_count(scanners: list[Any], **kw: Any) -> bulk.Job:
    job = bulk.Job([bulk.Split(i) for i in range(len(scanners))])
    work = bulk.count_worker(kw.pop("filters", ScanFilters()), **kw)
    asyncio.run(bulk.run_splits(job, scanners, work))
    return job


def test_count_rows_and_hash_keys_per_split() -> None:
    scanners = [
        FakeScanner([[item(b"a", b"1"), item(b"a", b"2")], [item(b"b", b"1")]]),
        FakeScanner([]),
    ]
    job = run_count(scanners, diff_hash_key=True, stats=None)
    assert [s.rows for s in job.splits] == [3, 0]
    assert job.hash_keys == 2 and job.completed == 2 and job.error is None
    assert all(s.closed for s in scanners)


def test_count_only_return_count_scans_use_the_server_count() -> None:
    job = run_count([FakeScanner([[], []], count=7)], diff_hash_key=False, stats=None)
    assert job.rows == 14


def test_count_applies_the_shell_side_filters() -> None:
    filters = ScanFilters(sort_key=Filter("exact", b"k"), value=Filter("prefix", b"x"))
    rows = [item(b"h", b"k", b"xy"), item(b"h", b"kk", b"xy"), item(b"h", b"k", b"yx")]
    job = run_count([FakeScanner([rows])], filters=filters, diff_hash_key=False, stats=None)
    assert job.rows == 1


def test_a_failing_split_stops_the_job_and_is_reported() -> None:
    endless = FakeScanner([[item(b"a", b"1")]] * 10_000)
    failing = FakeScanner([[item(b"b", b"1")]], fail_at=1)
    job = run_count([endless, failing], diff_hash_key=False, stats=None)
    assert job.error is not None and job.error.startswith("split[1] failed: scan failed")
    assert not job.splits[1].done
    assert endless.closed and failing.closed
    assert not job.splits[0].done  # cancelled long before its 10000 batches


def test_ttl_left() -> None:
    now = PEGASUS_EPOCH + 1000.5
    assert bulk.ttl_left(None, now) == 0
    assert bulk.ttl_left(0, now) == 0
    assert bulk.ttl_left(1060, now) == 60
    assert bulk.ttl_left(1000, now) is None


def test_size_stats_and_top_rows() -> None:
    stats = bulk.SizeStats(top_count=2)
    for n in (1, 5, 3, 100):
        stats.add(item(b"h", b"s" * n, b""))
    assert stats.sort_key.count == 4 and stats.sort_key.min == 1 and stats.sort_key.max == 100
    assert stats.sort_key.percentile(50) <= 7
    assert stats.sort_key.percentile(100) == 100
    assert [size for size, _, _ in stats.largest()] == [101, 6]
    assert "Count: 4" in stats.row.summary()
    assert bulk.SizeHistogram().percentile(50) == 0


def test_progress_off_a_terminal_is_upstreams_status_line() -> None:
    job = bulk.Job([bulk.Split(0, rows=5, done=True), bulk.Split(1, rows=2)])
    stream = io.StringIO()
    progress = make_progress(job, desc="count_data", stream=stream, hash_keys=False)
    assert isinstance(progress, LineProgress)
    progress.tick()  # less than a second in: quiet
    progress.close()
    assert re.fullmatch(
        r"INFO: processed for \d+ seconds, \(1/2\) splits, total 7 rows, last second 7 rows\n",
        stream.getvalue(),
    )


def test_progress_on_a_terminal_without_tqdm_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    progress = make_progress(bulk.Job([]), desc="x", stream=Tty())
    assert isinstance(progress, LineProgress)
