"""Storage-level versions of upstream's base_api/test_range_read cases: iteration limits
count expired rows (multi_get 3000 rows, scan batches 1000 rows by default)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pegasus_log.storage import StorageOptions
from pegasus_log.storage import StorageStatus as S
from tests.unit.storage.helpers import Client, FakeClock, hash_key_scan, open_store

HK = b"range_read_hashkey"


def prepare(client: Client, total: int, expired: int) -> None:
    """``expired`` rows "1-i" that have expired, then live rows "2-i" up to ``total``."""
    if expired:
        rows = {b"1-%d" % i: b"value" for i in range(expired)}
        assert client.multi_set(HK, rows, ttl_seconds=1) == S.kOk
        client.clock.advance(2)
    if total > expired:
        rows = {b"2-%d" % i: b"value" for i in range(expired, total)}
        assert client.multi_set(HK, rows) == S.kOk


MULTI_GET_CASES = [
    # (expired, total, max_kv_count, status, rows): the upstream table
    (50, 50, 100, S.kOk, 0),
    (20, 50, 100, S.kOk, 30),
    (0, 50, 100, S.kOk, 50),
    (3000, 4000, 3500, S.kIncomplete, 0),
    (500, 4000, 3500, S.kIncomplete, 2500),
    (0, 4000, 3500, S.kIncomplete, 3000),
    (3000, 4000, 100, S.kIncomplete, 0),
    (2950, 4000, 100, S.kIncomplete, 50),
    (100, 4000, 100, S.kIncomplete, 100),
    (20, 4000, 100, S.kIncomplete, 100),
    (0, 4000, 100, S.kIncomplete, 100),
]


@pytest.mark.parametrize(("expired", "total", "max_kv_count", "status", "rows"), MULTI_GET_CASES)
def test_multi_get_iteration_limit(
    client: Client, expired: int, total: int, max_kv_count: int, status: int, rows: int
) -> None:
    prepare(client, total, expired)
    got_status, got = client.multi_get(HK, max_kv_count=max_kv_count)
    assert (got_status, len(got)) == (status, rows)
    assert all(k.startswith(b"2-") for k in got)


@pytest.mark.parametrize(("expired", "total", "count"), [(0, 500, 500), (500, 4000, 3500)])
def test_sortkey_count(client: Client, expired: int, total: int, count: int) -> None:
    prepare(client, total, expired)
    assert client.sortkey_count(HK) == (S.kOk, count)


SCAN_CASES = [
    # (expired, total, batch_size): every live row comes back, however the batches fall
    (50, 50, 100),
    (20, 50, 100),
    (0, 50, 100),
    (3000, 4000, 3500),
    (500, 4000, 3500),
    (0, 4000, 3500),
    (3000, 4000, 100),
    (2950, 4000, 100),
    (100, 4000, 100),
    (0, 4000, 100),
]


@pytest.mark.parametrize(("expired", "total", "batch_size"), SCAN_CASES)
def test_scan_iteration_limit(client: Client, expired: int, total: int, batch_size: int) -> None:
    prepare(client, total, expired)
    kvs, responses = client.scan_all(hash_key_scan(HK, batch_size=batch_size))
    assert len(kvs) == total - expired
    assert all(r.error == S.kOk for r in responses)
    batch_count = min(batch_size, 1000)
    # a batch visits at most 1000 rows (get_scanner) / batch_count rows (scan), expired
    # rows included, so no batch returns more than batch_count rows
    assert all(len(r.kvs) <= batch_count for r in responses)
    if expired >= 1000:
        assert responses[0].kvs == ()  # the first 1000 rows visited were all expired
        assert responses[0].context_id >= 0


def test_iteration_time_limit(tmp_path: Path) -> None:
    clock = FakeClock()
    with open_store(tmp_path / "db", clock) as store:
        _check_time_limit(Client(store, clock), clock)


def _check_time_limit(client: Client, clock: FakeClock) -> None:
    assert client.multi_set(HK, {b"%05d" % i: b"v" for i in range(9000)}) == S.kOk
    client.store.set_iteration_time_max_ms(1)
    clock.step = 0.001  # every clock reading takes a millisecond
    assert client.sortkey_count(HK) == (S.kOk, -1)
    status, rows = client.multi_get(HK, max_kv_count=5000)
    assert status == S.kIncomplete and 0 < len(rows) < 5000
    response = client.store.get_scanner(hash_key_scan(HK))
    assert response.error == S.kIncomplete and response.context_id == -1
    client.store.set_iteration_time_max_ms(None)
    assert client.sortkey_count(HK) == (S.kOk, 9000)


def test_multi_get_size_limit_from_config(tmp_path: Path) -> None:
    clock = FakeClock()
    options = StorageOptions(multi_get_max_iteration_size_bytes=100)
    with open_store(tmp_path / "db", clock, options=options) as store:
        client = Client(store, clock)
        assert client.multi_set(HK, {b"%02d" % i: b"x" * 8 for i in range(50)}) == S.kOk
        status, rows = client.multi_get(HK)
        assert status == S.kIncomplete and len(rows) == 10  # 10 rows of 10 bytes reach 100
        status, rows = client.multi_get(HK, max_kv_size=30)
        assert status == S.kIncomplete and len(rows) == 3
