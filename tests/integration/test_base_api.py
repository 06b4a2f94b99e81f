"""The case classes of upstream's base_api and atomic_write function tests, driven through
our client against a real replica server over loopback."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from pegasus_log.client.aio import MultiGetOptions, Mutation, ScanOptions
from pegasus_log.client.errors import InvalidArgument, PegasusError
from pegasus_log.client.sync import Client, Table
from pegasus_log.rpc.messages import CasCheckType, FilterType
from tests.cluster import StaticCluster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(cluster: StaticCluster) -> Iterator[Client]:
    with Client([cluster.meta]) as c:
        yield c


@pytest.fixture(scope="module")
def table(client: Client) -> Table:
    return client.open_table("temp")


@pytest.fixture
def hk() -> bytes:
    """A hash key no other test uses."""
    return b"hk-" + uuid.uuid4().hex.encode()


# ---- basic ----------------------------------------------------------------------------


def test_set_get_del(table: Table, hk: bytes) -> None:
    assert table.get(hk, b"s") is None
    table.set(hk, b"s", b"value")
    assert table.get(hk, b"s") == b"value"
    assert table.exist(hk, b"s")
    table.set(hk, b"s", b"")
    assert table.get(hk, b"s") == b""
    table.delete(hk, b"s")
    assert table.get(hk, b"s") is None
    assert not table.exist(hk, b"s")
    table.delete(hk, b"s")  # deleting a missing key is fine


def test_binary_and_empty_keys(table: Table, hk: bytes) -> None:
    table.set(hk + b"\x00\xff", b"\x00", b"\xff\x00")
    assert table.get(hk + b"\x00\xff", b"\x00") == b"\xff\x00"
    table.set(hk, b"", b"empty sort key")
    assert table.get(hk, b"") == b"empty sort key"
    table.set(b"", hk, b"empty hash key")
    assert table.get(b"", hk) == b"empty hash key"


def test_multi_set_get_del(table: Table, hk: bytes) -> None:
    kvs = {b"k%d" % i: b"v%d" % i for i in range(10)}
    table.multi_set(hk, kvs)
    assert table.sortkey_count(hk) == 10
    got, complete = table.multi_get(hk, [b"k1", b"k5", b"missing"])
    assert complete and got == [(b"k1", b"v1"), (b"k5", b"v5")]
    got, complete = table.multi_get(hk)
    assert complete and got == sorted(kvs.items())
    got, complete = table.multi_get(hk, max_count=3)
    assert not complete and got == sorted(kvs.items())[:3]
    got, complete = table.multi_get(hk, no_value=True)
    assert [v for _, v in got] == [b""] * 10
    assert table.multi_del(hk, [b"k1", b"k2", b"nope"]) == 3
    assert table.sortkey_count(hk) == 8
    assert table.sortkey_count(hk + b"-missing") == 0


def test_client_refuses_bad_arguments(table: Table, hk: bytes) -> None:
    with pytest.raises(InvalidArgument):
        table.set(b"x" * 65535, b"s", b"v")
    with pytest.raises(InvalidArgument):
        table.multi_set(hk, {})
    with pytest.raises(InvalidArgument):
        table.multi_del(hk, [])
    with pytest.raises(InvalidArgument):
        table.set(hk, b"s", b"v", ttl_seconds=-1)


def test_writes_over_one_mib_are_refused(table: Table, hk: bytes) -> None:
    with pytest.raises(PegasusError) as e:
        table.set(hk, b"big", b"x" * (1 << 20))
    assert e.value.code.name == "ERR_INVALID_DATA"
    table.set(hk, b"small", b"x" * 1000)  # the server keeps serving
    assert table.get(hk, b"small") == b"x" * 1000


def test_missing_table(client: Client) -> None:
    with pytest.raises(PegasusError) as e:
        client.open_table("no_such_table")
    assert e.value.code.name == "ERR_OBJECT_NOT_FOUND"


# ---- batch_get ------------------------------------------------------------------------


def test_batch_get_across_partitions(table: Table, hk: bytes) -> None:
    keys = [(hk + b"%d" % i, b"s") for i in range(20)]
    for i, (h, s) in enumerate(keys[:15]):
        table.set(h, s, b"v%d" % i)
    got = table.batch_get(keys)
    assert got[:15] == [b"v%d" % i for i in range(15)]
    assert got[15:] == [None] * 5


# ---- check_and_set / check_and_mutate --------------------------------------------------


def test_check_and_set_not_exist(table: Table, hk: bytes) -> None:
    r = table.check_and_set(
        hk, b"k", CasCheckType.CT_VALUE_NOT_EXIST, b"", b"k", b"v1", return_check_value=True
    )
    assert r.set_succeed and r.check_value_returned and not r.check_value_exist
    r = table.check_and_set(
        hk, b"k", CasCheckType.CT_VALUE_NOT_EXIST, b"", b"k", b"v2", return_check_value=True
    )
    assert not r.set_succeed and r.check_value_exist and r.check_value == b"v1"
    assert table.get(hk, b"k") == b"v1"


def test_check_and_set_diff_sort_key_and_compare(table: Table, hk: bytes) -> None:
    table.set(hk, b"check", b"15")
    r = table.check_and_set(
        hk, b"check", CasCheckType.CT_VALUE_INT_GREATER, b"10", b"other", b"set"
    )
    assert r.set_succeed and table.get(hk, b"other") == b"set"
    assert table.get(hk, b"check") == b"15"
    r = table.check_and_set(hk, b"check", CasCheckType.CT_VALUE_INT_LESS, b"10", b"other", b"no")
    assert not r.set_succeed and table.get(hk, b"other") == b"set"
    r = table.check_and_set(hk, b"check", CasCheckType.CT_VALUE_BYTES_EQUAL, b"15", b"check", b"16")
    assert r.set_succeed and table.get(hk, b"check") == b"16"
    r = table.check_and_set(hk, b"check", CasCheckType.CT_VALUE_MATCH_PREFIX, b"1", b"check", b"x")
    assert r.set_succeed
    with pytest.raises(PegasusError) as e:
        table.check_and_set(hk, b"check", CasCheckType.CT_VALUE_INT_EQUAL, b"1", b"check", b"y")
    assert e.value.status == 4  # kInvalidArgument: "x" is no integer


def test_check_and_mutate(table: Table, hk: bytes) -> None:
    table.set(hk, b"gone", b"soon")
    r = table.check_and_mutate(
        hk,
        b"flag",
        CasCheckType.CT_VALUE_NOT_EXIST,
        b"",
        [Mutation(b"flag", b"1"), Mutation(b"a", b"A"), Mutation(b"gone")],
        return_check_value=True,
    )
    assert r.set_succeed and not r.check_value_exist
    assert table.get(hk, b"flag") == b"1" and table.get(hk, b"a") == b"A"
    assert table.get(hk, b"gone") is None
    r = table.check_and_mutate(
        hk,
        b"flag",
        CasCheckType.CT_VALUE_NOT_EXIST,
        b"",
        [Mutation(b"a", b"B")],
        return_check_value=True,
    )
    assert not r.set_succeed and r.check_value == b"1" and table.get(hk, b"a") == b"A"


# ---- range_read -----------------------------------------------------------------------


def test_range_reads(table: Table, hk: bytes) -> None:
    table.multi_set(hk, {b"%02d" % i: b"v%d" % i for i in range(20)})

    def sk(rows: list[tuple[bytes, bytes]]) -> list[bytes]:
        return [k for k, _ in rows]

    rows, done = table.multi_get_range(hk, b"05", b"10")
    assert done and sk(rows) == [b"05", b"06", b"07", b"08", b"09"]
    rows, _ = table.multi_get_range(
        hk, b"05", b"10", MultiGetOptions(start_inclusive=False, stop_inclusive=True)
    )
    assert sk(rows) == [b"06", b"07", b"08", b"09", b"10"]
    rows, _ = table.multi_get_range(hk, b"15", b"")
    assert sk(rows) == [b"15", b"16", b"17", b"18", b"19"]
    rows, done = table.multi_get_range(hk, b"", b"", MultiGetOptions(max_count=4, reverse=True))
    assert not done and sk(rows) == [b"16", b"17", b"18", b"19"]
    rows, _ = table.multi_get_range(
        hk,
        b"",
        b"",
        MultiGetOptions(
            sort_key_filter_type=FilterType.FT_MATCH_POSTFIX, sort_key_filter_pattern=b"5"
        ),
    )
    assert sk(rows) == [b"05", b"15"]
    rows, _ = table.multi_get_range(
        hk,
        b"",
        b"",
        MultiGetOptions(
            sort_key_filter_type=FilterType.FT_MATCH_PREFIX, sort_key_filter_pattern=b"1"
        ),
    )
    assert len(rows) == 10
    rows, done = table.multi_get_range(hk, b"10", b"05")
    assert done and rows == []


# ---- scan -----------------------------------------------------------------------------


def test_hash_scan(table: Table, hk: bytes) -> None:
    data = {b"s%03d" % i: b"v%d" % i for i in range(250)}
    table.multi_set(hk, data)
    table.set(hk + b"\x00", b"s", b"neighbour")  # a hash key sorting right after hk
    items = list(table.scan(hk, options=ScanOptions(batch_size=7)))
    assert [(i.sort_key, i.value) for i in items] == sorted(data.items())
    assert all(i.hash_key == hk for i in items)
    items = list(table.scan(hk, b"s010", b"s020", ScanOptions(stop_inclusive=True)))
    assert [i.sort_key for i in items] == [b"s%03d" % i for i in range(10, 21)]
    items = list(
        table.scan(
            hk,
            options=ScanOptions(
                sort_key_filter_type=FilterType.FT_MATCH_POSTFIX, sort_key_filter_pattern=b"7"
            ),
        )
    )
    assert len(items) == 25


def test_full_scan_sees_every_record(client: Client) -> None:
    other = client.open_table("other")
    keys = {(b"full-%d" % i, b"s") for i in range(100)}
    for h, s in keys:
        other.set(h, s, b"v")
    seen = {(i.hash_key, i.sort_key) for i in other.full_scan(max_split=3)}
    assert keys <= seen
    assert other.count_scan() == len(seen)


def test_abandoned_scanner_is_cleared(table: Table, hk: bytes) -> None:
    table.multi_set(hk, {b"%d" % i: b"v" for i in range(50)})
    it = table.scan(hk, options=ScanOptions(batch_size=5))
    assert next(it).hash_key == hk
    it.close()  # sends clear_scanner; must not break the connection
    assert table.get(hk, b"1") == b"v"


# ---- ttl ------------------------------------------------------------------------------


def test_ttl(table: Table, hk: bytes) -> None:
    table.set(hk, b"forever", b"v")
    assert table.ttl(hk, b"forever") == -1
    assert table.ttl(hk, b"missing") == -2
    table.set(hk, b"short", b"v", ttl_seconds=100)
    assert 98 <= table.ttl(hk, b"short") <= 100
    table.set(hk, b"gone", b"v", ttl_seconds=1)
    table.multi_set(hk, {b"m1": b"v"}, ttl_seconds=1)
    time.sleep(2.1)
    assert table.get(hk, b"gone") is None
    assert table.ttl(hk, b"gone") == -2
    assert table.multi_get(hk, [b"m1", b"forever"])[0] == [(b"forever", b"v")]
    assert table.sortkey_count(hk) == 2


# ---- incr (atomic_write) --------------------------------------------------------------


def test_incr(table: Table, hk: bytes) -> None:
    assert table.incr(hk, b"n", 1) == 1
    assert table.incr(hk, b"n", 41) == 42
    assert table.incr(hk, b"n", -50) == -8
    assert table.get(hk, b"n") == b"-8"
    table.set(hk, b"empty", b"")
    assert table.incr(hk, b"empty", 5) == 5
    table.set(hk, b"text", b"abc")
    with pytest.raises(PegasusError) as e:
        table.incr(hk, b"text", 1)
    assert e.value.status == 4
    table.set(hk, b"max", b"9223372036854775807")
    with pytest.raises(PegasusError):
        table.incr(hk, b"max", 1)
    assert table.incr(hk, b"ttl", 1, ttl_seconds=100) == 1
    assert 98 <= table.ttl(hk, b"ttl") <= 100
    assert table.incr(hk, b"ttl", 1) == 2  # 0 keeps the TTL
    assert 97 <= table.ttl(hk, b"ttl") <= 100
    assert table.incr(hk, b"ttl", 1, ttl_seconds=-1) == 3  # negative clears it
    assert table.ttl(hk, b"ttl") == -1
