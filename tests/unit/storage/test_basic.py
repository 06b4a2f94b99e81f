"""Storage-level versions of upstream's base_api/test_basic cases: set/get/del, multi_get
over ranges and filters (forward and reverse), multi_set/multi_get/multi_del."""

from __future__ import annotations

import pytest

from pegasus_log.storage import StorageStatus as S
from pegasus_log.storage.schema import encode_key
from pegasus_log.storage.types import FilterType as FT
from pegasus_log.storage.types import (
    KeyValue,
    MultiGetRequest,
    MultiPutRequest,
    MultiRemoveRequest,
    UpdateRequest,
)
from tests.unit.storage.helpers import Client

HK = b"basic_test_multi_get"
KVS = {
    k: k if k else b"0"
    for k in [
        b"",
        b"1",
        b"1-abcdefg",
        b"2",
        b"2-abcdefg",
        b"3",
        b"3-efghijk",
        b"4",
        b"4-hijklmn",
        b"5",
        b"5-hijklmn",
        b"6",
        b"7",
    ]
}


def test_set_get_del(client: Client) -> None:
    hk, sk = b"basic_test_hash_key_1", b"basic_test_sort_key_1"
    assert client.set(hk, sk, b"basic_test_value_1") == S.kOk
    assert client.get(hk, sk) == (S.kOk, b"basic_test_value_1")
    assert client.get(hk, b"basic_test_sort_key_2") == (S.kNotFound, b"")
    assert client.sortkey_count(hk) == (S.kOk, 1)
    assert client.delete(hk, sk) == S.kOk
    assert client.get(hk, sk) == (S.kNotFound, b"")
    assert client.sortkey_count(hk) == (S.kOk, 0)
    assert client.delete(hk, sk) == S.kOk  # deleting a missing key is fine


def test_empty_hash_key_and_sort_key(client: Client) -> None:
    assert client.set(b"", b"", b"v0") == S.kOk
    assert client.set(b"", b"s", b"v1") == S.kOk
    assert client.get(b"", b"") == (S.kOk, b"v0")
    assert client.sortkey_count(b"") == (S.kOk, 2)
    assert client.multi_get(b"") == (S.kOk, {b"": b"v0", b"s": b"v1"})


def test_malformed_or_too_long_keys_are_invalid_argument(client: Client) -> None:
    store = client.store
    assert store.put(client.next_decree(), UpdateRequest(key=b"\x00")).error == S.kInvalidArgument
    assert store.put(client.next_decree(), UpdateRequest(key=b"\x00\x09a")).error == (
        S.kInvalidArgument
    )
    assert store.remove(client.next_decree(), b"").error == S.kInvalidArgument
    assert store.last_applied_decree() == client.decree  # the decree still advanced
    too_long = b"h" * 65535
    response = store.multi_put(
        client.next_decree(), MultiPutRequest(too_long, [KeyValue(b"s", b"v")])
    )
    assert response.error == S.kInvalidArgument
    assert store.multi_get(MultiGetRequest(too_long)).error == S.kInvalidArgument
    assert store.sortkey_count(too_long).error == S.kInvalidArgument
    assert store.get(b"\x00").error == S.kNotFound


def expected(
    start: bytes = b"",
    stop: bytes = b"",
    *,
    start_inclusive: bool = True,
    stop_inclusive: bool = False,
    filter_type: int = FT.FT_NO_FILTER,
    pattern: bytes = b"",
) -> dict[bytes, bytes]:
    """The rows of KVS a range multi_get should return, computed naively."""

    def in_range(k: bytes) -> bool:
        lower = k >= start if start_inclusive else k > start
        upper = not stop or (k <= stop if stop_inclusive else k < stop)
        return lower and upper

    def passes(k: bytes) -> bool:
        if filter_type == FT.FT_NO_FILTER or not pattern:
            return True
        if filter_type == FT.FT_MATCH_ANYWHERE:
            return pattern in k
        if filter_type == FT.FT_MATCH_PREFIX:
            return k.startswith(pattern)
        return k.endswith(pattern)

    return {k: v for k, v in KVS.items() if in_range(k) and passes(k)}


RANGES = [
    # (start, stop, start_inclusive, stop_inclusive): upstream's [null, null) ... [2, 1]
    (b"", b"", True, False),
    (b"", b"", True, True),
    (b"", b"", False, False),
    (b"", b"", False, True),
    (b"", b"1", True, True),
    (b"", b"1", True, False),
    (b"", b"1", False, True),
    (b"", b"1", False, False),
    (b"1", b"1", True, True),
    (b"1", b"1", True, False),
    (b"1", b"1", False, True),
    (b"1", b"1", False, False),
    (b"2", b"1", True, True),
    (b"0", b"1", True, False),
    (b"1", b"2", False, True),
    (b"1-abcdefg", b"2", False, True),
]
FILTERS = [
    (FT.FT_NO_FILTER, b""),
    (FT.FT_MATCH_ANYWHERE, b"-"),
    (FT.FT_MATCH_ANYWHERE, b"1"),
    (FT.FT_MATCH_ANYWHERE, b"1-"),
    (FT.FT_MATCH_ANYWHERE, b"abc"),
    (FT.FT_MATCH_PREFIX, b"1"),
    (FT.FT_MATCH_PREFIX, b"1-"),
    (FT.FT_MATCH_PREFIX, b"1-x"),
    (FT.FT_MATCH_PREFIX, b"abc"),
    (FT.FT_MATCH_PREFIX, b"5-hijklmn"),
    (FT.FT_MATCH_POSTFIX, b"1"),
    (FT.FT_MATCH_POSTFIX, b"1-"),
    (FT.FT_MATCH_POSTFIX, b"efg"),
    (FT.FT_MATCH_POSTFIX, b"lmn"),
    (FT.FT_MATCH_POSTFIX, b"5-hijklmn"),
]


@pytest.mark.parametrize("reverse", [False, True])
def test_multi_get_ranges_and_filters(client: Client, reverse: bool) -> None:
    assert client.multi_set(HK, KVS) == S.kOk
    assert client.sortkey_count(HK) == (S.kOk, 13)
    # a neighbouring hash key must never leak in
    assert client.multi_set(HK + b"x", {b"1": b"other"}) == S.kOk
    for start, stop, start_inclusive, stop_inclusive in RANGES:
        for filter_type, pattern in FILTERS:
            response = client.multi_get_raw(
                HK,
                start_sortkey=start,
                stop_sortkey=stop,
                start_inclusive=start_inclusive,
                stop_inclusive=stop_inclusive,
                sort_key_filter_type=filter_type,
                sort_key_filter_pattern=pattern,
                reverse=reverse,
            )
            want = expected(
                start,
                stop,
                start_inclusive=start_inclusive,
                stop_inclusive=stop_inclusive,
                filter_type=filter_type,
                pattern=pattern,
            )
            case = (start, stop, start_inclusive, stop_inclusive, filter_type, pattern)
            assert response.error == S.kOk, case
            assert [kv.key for kv in response.kvs] == sorted(want), case
            assert {kv.key: kv.value for kv in response.kvs} == want, case


def test_multi_get_max_count(client: Client) -> None:
    assert client.multi_set(HK, KVS) == S.kOk
    assert client.multi_get(HK, max_kv_count=4) == (
        S.kIncomplete,
        {b"": b"0", b"1": b"1", b"1-abcdefg": b"1-abcdefg", b"2": b"2"},
    )
    # [5, 6] with max 1: one row, more remain in range
    assert client.multi_get(
        HK, start_sortkey=b"5", stop_sortkey=b"6", stop_inclusive=True, max_kv_count=1
    ) == (S.kIncomplete, {b"5": b"5"})
    assert client.multi_get(
        HK,
        start_sortkey=b"5",
        stop_sortkey=b"6",
        stop_inclusive=True,
        max_kv_count=1,
        reverse=True,
    ) == (S.kIncomplete, {b"6": b"6"})
    # count reached exactly on the inclusive stop key: complete
    assert client.multi_get(
        HK, start_sortkey=b"6", stop_sortkey=b"7", stop_inclusive=True, max_kv_count=2
    ) == (S.kOk, {b"6": b"6", b"7": b"7"})
    # ... but on an exclusive stop, the iterator still shows a row: kIncomplete (upstream)
    assert client.multi_get(HK, start_sortkey=b"5-hijklmn", stop_sortkey=b"7", max_kv_count=2) == (
        S.kIncomplete,
        {b"5-hijklmn": b"5-hijklmn", b"6": b"6"},
    )
    # the last row of the hash key: nothing follows in the same hash key, complete
    assert client.multi_get(HK, start_sortkey=b"6", max_kv_count=2) == (
        S.kOk,
        {b"6": b"6", b"7": b"7"},
    )
    # max_kv_size: the row that crosses the limit is still returned
    status, rows = client.multi_get(HK, max_kv_size=3)
    assert status == S.kIncomplete and list(rows) == [b"", b"1"]


def test_multi_get_skips_expired_but_counts_it(client: Client) -> None:
    assert client.multi_set(HK, KVS) == S.kOk
    assert client.set(HK, b"", b"expire_value", ttl_seconds=1) == S.kOk
    client.clock.advance(1)
    assert client.multi_get(HK, max_kv_count=2) == (
        S.kIncomplete,
        {b"1": b"1", b"1-abcdefg": b"1-abcdefg"},
    )


def test_multi_set_get_del(client: Client) -> None:
    hk = b"basic_test_hash_key_1"
    kvs = {b"basic_test_sort_key_%d" % i: b"basic_test_value_%d" % i for i in range(1, 5)}
    assert client.multi_set(hk, kvs) == S.kOk
    assert client.sortkey_count(hk) == (S.kOk, 4)
    sort_keys = [b"basic_test_sort_key_%d" % i for i in range(5)]
    assert client.multi_get(hk, sort_keys=sort_keys) == (S.kOk, kvs)
    assert client.multi_get(hk, sort_keys=sort_keys, max_kv_count=4) == (S.kOk, kvs)
    three = dict(list(kvs.items())[:3])
    assert client.multi_get(hk, sort_keys=sort_keys, max_kv_count=3) == (S.kIncomplete, three)
    one = dict(list(kvs.items())[:1])
    assert client.multi_get(hk, sort_keys=sort_keys, max_kv_count=1) == (S.kIncomplete, one)
    assert client.multi_get(hk) == (S.kOk, kvs)  # empty sort_keys: the whole hash key
    status, no_values = client.multi_get(hk, no_value=True)
    assert status == S.kOk and no_values == dict.fromkeys(kvs, b"")
    assert client.multi_get(hk, no_value=True, max_kv_count=1)[0] == S.kIncomplete

    # multi_del with no sort keys is invalid (the Java/Go "delete all" is a client thing)
    response = client.store.multi_remove(client.next_decree(), MultiRemoveRequest(hk, []))
    assert (response.error, response.count) == (S.kInvalidArgument, 0)
    # the count is of requested sort keys, existing or not
    assert client.multi_del(hk, sort_keys[:3]) == (S.kOk, 3)
    assert client.sortkey_count(hk) == (S.kOk, 2)
    assert client.multi_get(hk) == (S.kOk, dict(list(kvs.items())[2:]))
    assert client.multi_del(hk, sort_keys[3:]) == (S.kOk, 2)
    assert client.sortkey_count(hk) == (S.kOk, 0)


def test_multi_put_with_no_kvs_is_invalid(client: Client) -> None:
    response = client.store.multi_put(client.next_decree(), MultiPutRequest(b"h", []))
    assert response.error == S.kInvalidArgument
    assert response.decree == client.decree == client.store.last_applied_decree()


def test_multi_get_invalid_filter_type(client: Client) -> None:
    assert client.multi_get_raw(b"h", sort_key_filter_type=4).error == S.kInvalidArgument


def test_batch_of_puts_and_removes_in_one_mutation(client: Client) -> None:
    assert client.set(b"h", b"old", b"x") == S.kOk
    writes: list[UpdateRequest | bytes] = [
        UpdateRequest(encode_key(b"h", b"a"), b"1"),
        encode_key(b"h", b"old"),
        UpdateRequest(encode_key(b"h", b"b"), b"2"),
    ]
    response = client.store.batch_write(client.next_decree(), writes)
    assert response.error == S.kOk and response.decree == client.decree
    assert client.multi_get(b"h") == (S.kOk, {b"a": b"1", b"b": b"2"})


def test_incomplete_depends_on_what_the_iterator_shows_next(client: Client) -> None:
    """A limit reached right after the last row in range: upstream's forward iterator is
    bound to the hash key (prefix extractor), its reverse one sees the whole partition."""
    assert client.multi_set(b"b", {b"1": b"x", b"2": b"y"}) == S.kOk
    # forward: nothing after "2" in hash key "b" -> complete, though hash key "c" follows
    assert client.multi_set(b"c", {b"1": b"z"}) == S.kOk
    assert client.multi_get(b"b", start_sortkey=b"2", max_kv_count=1) == (S.kOk, {b"2": b"y"})
    # reverse: nothing precedes hash key "b" yet -> complete
    assert client.multi_get(b"b", stop_sortkey=b"2", max_kv_count=1, reverse=True) == (
        S.kOk,
        {b"1": b"x"},
    )
    # once any earlier row exists in the partition, the same read is incomplete
    assert client.set(b"a", b"9", b"w") == S.kOk
    assert client.multi_get(b"b", stop_sortkey=b"2", max_kv_count=1, reverse=True) == (
        S.kIncomplete,
        {b"1": b"x"},
    )
    # ... unless the last row was the inclusive start bound itself
    assert client.multi_get(
        b"b", start_sortkey=b"1", stop_sortkey=b"2", max_kv_count=1, reverse=True
    ) == (S.kOk, {b"1": b"x"})
