"""Storage-level versions of upstream's base_api/test_check_and_set cases."""

from __future__ import annotations

import pytest

from pegasus_log.storage import StorageStatus as S
from pegasus_log.storage.types import CasCheckType as CT
from pegasus_log.storage.types import CheckAndSetRequest
from tests.unit.storage.helpers import Client

HK = b"check_and_set_test"


def cas(
    client: Client,
    check_type: int,
    operand: bytes,
    set_value: bytes,
    *,
    check_sort_key: bytes = b"k1",
    set_sort_key: bytes = b"k1",
    return_check_value: bool = True,
    ttl_seconds: int = 0,
) -> tuple[int, bool, bool, bytes]:
    response = client.check_and_set(
        HK,
        check_sort_key,
        check_type,
        operand,
        set_sort_key,
        set_value,
        ttl_seconds=ttl_seconds,
        return_check_value=return_check_value,
    )
    assert response.decree == client.decree
    return (
        int(response.error),
        response.check_value_returned,
        response.check_value_exist,
        response.check_value,
    )


def test_value_not_exist(client: Client) -> None:
    assert cas(client, CT.CT_VALUE_NOT_EXIST, b"", b"v1") == (S.kOk, True, False, b"")
    assert client.get(HK, b"k1") == (S.kOk, b"v1")
    assert cas(client, CT.CT_VALUE_NOT_EXIST, b"", b"v2") == (S.kTryAgain, True, True, b"v1")
    assert client.get(HK, b"k1") == (S.kOk, b"v1")
    # without return_check_value nothing comes back
    assert cas(client, CT.CT_VALUE_NOT_EXIST, b"", b"v3", return_check_value=False) == (
        S.kTryAgain,
        False,
        False,
        b"",
    )
    # an expired value does not exist
    assert client.set(HK, b"k1", b"old", ttl_seconds=1) == S.kOk
    client.clock.advance(1)
    assert cas(client, CT.CT_VALUE_NOT_EXIST, b"", b"v4") == (S.kOk, True, False, b"")
    assert client.get(HK, b"k1") == (S.kOk, b"v4")


def test_value_exist_and_not_empty(client: Client) -> None:
    assert cas(client, CT.CT_VALUE_EXIST, b"", b"v1") == (S.kTryAgain, True, False, b"")
    assert client.get(HK, b"k1") == (S.kNotFound, b"")
    assert client.set(HK, b"k1", b"") == S.kOk
    assert cas(client, CT.CT_VALUE_NOT_EMPTY, b"", b"v1") == (S.kTryAgain, True, True, b"")
    assert cas(client, CT.CT_VALUE_NOT_EXIST_OR_EMPTY, b"", b"v1") == (S.kOk, True, True, b"")
    assert cas(client, CT.CT_VALUE_EXIST, b"", b"v2") == (S.kOk, True, True, b"v1")
    assert cas(client, CT.CT_VALUE_NOT_EMPTY, b"", b"v3") == (S.kOk, True, True, b"v2")
    assert client.get(HK, b"k1") == (S.kOk, b"v3")


@pytest.mark.parametrize(
    ("check_type", "hit", "miss"),
    [
        (CT.CT_VALUE_MATCH_ANYWHERE, b"234", b"345"),
        (CT.CT_VALUE_MATCH_PREFIX, b"v12", b"12"),
        (CT.CT_VALUE_MATCH_POSTFIX, b"234", b"v12"),
    ],
)
def test_value_match(client: Client, check_type: int, hit: bytes, miss: bytes) -> None:
    assert cas(client, check_type, b"", b"v1234") == (S.kTryAgain, True, False, b"")
    assert client.set(HK, b"k1", b"v1234") == S.kOk
    assert cas(client, check_type, miss, b"x") == (S.kTryAgain, True, True, b"v1234")
    assert cas(client, check_type, b"v12345", b"x") == (S.kTryAgain, True, True, b"v1234")
    assert cas(client, check_type, b"", b"v1234") == (S.kOk, True, True, b"v1234")
    assert cas(client, check_type, hit, b"done") == (S.kOk, True, True, b"v1234")
    assert client.get(HK, b"k1") == (S.kOk, b"done")


def test_value_bytes_compare(client: Client) -> None:
    assert cas(client, CT.CT_VALUE_BYTES_EQUAL, b"", b"v1") == (S.kTryAgain, True, False, b"")
    assert client.set(HK, b"k1", b"") == S.kOk
    assert cas(client, CT.CT_VALUE_BYTES_EQUAL, b"", b"v1") == (S.kOk, True, True, b"")
    assert cas(client, CT.CT_VALUE_BYTES_EQUAL, b"", b"v2") == (S.kTryAgain, True, True, b"v1")
    assert cas(client, CT.CT_VALUE_BYTES_EQUAL, b"v1", b"v2") == (S.kOk, True, True, b"v1")
    steps = [
        (CT.CT_VALUE_BYTES_LESS, b"v3", b"v3"),  # v2 < v3
        (CT.CT_VALUE_BYTES_LESS_OR_EQUAL, b"v3", b"v4"),  # v3 <= v3
        (CT.CT_VALUE_BYTES_LESS_OR_EQUAL, b"v5", b"v5"),  # v4 <= v5
        (CT.CT_VALUE_BYTES_GREATER_OR_EQUAL, b"v5", b"v6"),  # v5 >= v5
        (CT.CT_VALUE_BYTES_GREATER_OR_EQUAL, b"v5", b"v7"),  # v6 >= v5
        (CT.CT_VALUE_BYTES_GREATER, b"v6", b"v8"),  # v7 > v6
    ]
    current = b"v2"
    for check_type, operand, new in steps:
        assert cas(client, check_type, operand, new) == (S.kOk, True, True, current)
        current = new
    assert cas(client, CT.CT_VALUE_BYTES_LESS, b"v8", b"x") == (S.kTryAgain, True, True, b"v8")
    assert cas(client, CT.CT_VALUE_BYTES_GREATER, b"v8", b"x") == (S.kTryAgain, True, True, b"v8")
    assert client.get(HK, b"k1") == (S.kOk, b"v8")


def test_value_int_compare(client: Client) -> None:
    assert cas(client, CT.CT_VALUE_INT_EQUAL, b"1", b"2") == (S.kTryAgain, True, False, b"")
    assert client.get(HK, b"k1") == (S.kNotFound, b"")
    assert client.set(HK, b"k1", b"") == S.kOk
    assert cas(client, CT.CT_VALUE_INT_EQUAL, b"1", b"2") == (S.kInvalidArgument, True, True, b"")
    assert client.set(HK, b"k1", b"1") == S.kOk
    assert cas(client, CT.CT_VALUE_INT_EQUAL, b"1", b"2") == (S.kOk, True, True, b"1")
    for bad_operand in (b"", b"v1", b"88888888888888888888888888888888888888888888888"):
        assert cas(client, CT.CT_VALUE_INT_EQUAL, bad_operand, b"3") == (
            S.kInvalidArgument,
            True,
            True,
            b"2",
        )
    assert client.get(HK, b"k1") == (S.kOk, b"2")
    assert client.set(HK, b"k1", b"0") == S.kOk
    assert cas(client, CT.CT_VALUE_INT_EQUAL, b"0", b"-1") == (S.kOk, True, True, b"0")
    assert cas(client, CT.CT_VALUE_INT_EQUAL, b"-1", b"-2") == (S.kOk, True, True, b"-1")
    steps = [
        (CT.CT_VALUE_INT_LESS, b"-1", b"9"),  # -2 < -1
        (CT.CT_VALUE_INT_LESS_OR_EQUAL, b"10", b"10"),  # 9 <= 10 (bytes would say no)
        (CT.CT_VALUE_INT_LESS_OR_EQUAL, b"10", b"11"),
        (CT.CT_VALUE_INT_GREATER_OR_EQUAL, b"11", b"12"),
        (CT.CT_VALUE_INT_GREATER, b"9", b"13"),
    ]
    current = b"-2"
    for check_type, operand, new in steps:
        assert cas(client, check_type, operand, new) == (S.kOk, True, True, current)
        current = new
    assert cas(client, CT.CT_VALUE_INT_GREATER, b"13", b"x") == (S.kTryAgain, True, True, b"13")


def test_set_different_sort_key(client: Client) -> None:
    assert client.set(HK, b"k3", b"3") == S.kOk
    assert cas(
        client, CT.CT_VALUE_INT_EQUAL, b"3", b"4", check_sort_key=b"k3", set_sort_key=b"k4"
    ) == (S.kOk, True, True, b"3")
    assert client.get(HK, b"k3") == (S.kOk, b"3")
    assert client.get(HK, b"k4") == (S.kOk, b"4")


def test_set_with_ttl(client: Client) -> None:
    assert cas(client, CT.CT_NO_CHECK, b"", b"v", ttl_seconds=10) == (S.kOk, True, False, b"")
    status, ttl = client.ttl(HK, b"k1")
    assert status == S.kOk and ttl == 10
    client.clock.advance(10)
    assert client.get(HK, b"k1") == (S.kNotFound, b"")


@pytest.mark.parametrize("check_type", [18, 100, -1])
def test_invalid_check_type(client: Client, check_type: int) -> None:
    assert cas(client, check_type, b"v", b"v1") == (S.kInvalidArgument, False, False, b"")
    assert client.get(HK, b"k1") == (S.kNotFound, b"")
    assert client.store.last_applied_decree() == client.decree


def test_too_long_hash_key_is_invalid(client: Client) -> None:
    request = CheckAndSetRequest(hash_key=b"h" * 65535, check_type=CT.CT_NO_CHECK)
    response = client.store.check_and_set(client.next_decree(), request)
    assert response.error == S.kInvalidArgument
