"""Storage-level versions of upstream's base_api/test_check_and_mutate cases."""

from __future__ import annotations

import pytest

from pegasus_log.storage import StorageStatus as S
from pegasus_log.storage.schema import epoch_now
from pegasus_log.storage.types import CasCheckType as CT
from pegasus_log.storage.types import Mutate
from pegasus_log.storage.types import MutateOperation as MO
from tests.unit.storage.helpers import Client

HK = b"check_and_mutate_test"


def put(sort_key: bytes, value: bytes, expire_ts: int = 0) -> Mutate:
    return Mutate(MO.MO_PUT, sort_key, value, expire_ts)


def delete(sort_key: bytes) -> Mutate:
    return Mutate(MO.MO_DELETE, sort_key)


def cam(
    client: Client, check_type: int, operand: bytes, mutations: list[Mutate]
) -> tuple[int, bool, bool, bytes]:
    response = client.check_and_mutate(HK, b"k1", check_type, operand, mutations)
    assert response.decree == client.decree
    return (
        int(response.error),
        response.check_value_returned,
        response.check_value_exist,
        response.check_value,
    )


def test_value_not_exist_then_exist(client: Client) -> None:
    mutations = [put(b"k1", b"v1"), put(b"k2", b"v2")]
    assert cam(client, CT.CT_VALUE_NOT_EXIST, b"", mutations) == (S.kOk, True, False, b"")
    assert client.multi_get(HK) == (S.kOk, {b"k1": b"v1", b"k2": b"v2"})
    assert cam(client, CT.CT_VALUE_NOT_EXIST, b"", [delete(b"k2")]) == (
        S.kTryAgain,
        True,
        True,
        b"v1",
    )
    assert client.get(HK, b"k2") == (S.kOk, b"v2")
    assert cam(client, CT.CT_VALUE_EXIST, b"", [delete(b"k2"), put(b"k3", b"v3")]) == (
        S.kOk,
        True,
        True,
        b"v1",
    )
    assert client.multi_get(HK) == (S.kOk, {b"k1": b"v1", b"k3": b"v3"})


def test_compare_checks(client: Client) -> None:
    assert client.set(HK, b"k1", b"5") == S.kOk
    assert cam(client, CT.CT_VALUE_INT_GREATER, b"4", [put(b"k1", b"6")])[0] == S.kOk
    assert cam(client, CT.CT_VALUE_INT_GREATER, b"6", [put(b"k1", b"7")])[0] == S.kTryAgain
    assert cam(client, CT.CT_VALUE_INT_EQUAL, b"x", [put(b"k1", b"7")])[0] == S.kInvalidArgument
    assert cam(client, CT.CT_VALUE_BYTES_LESS, b"7", [put(b"k1", b"7")])[0] == S.kOk
    assert cam(client, CT.CT_VALUE_MATCH_PREFIX, b"7", [put(b"k1", b"8")])[0] == S.kOk
    assert client.get(HK, b"k1") == (S.kOk, b"8")


def test_set_then_delete_same_key_in_one_mutation(client: Client) -> None:
    mutations = [put(b"k1", b"v1"), delete(b"k1")]
    assert cam(client, CT.CT_VALUE_NOT_EXIST, b"", mutations) == (S.kOk, True, False, b"")
    assert client.get(HK, b"k1") == (S.kNotFound, b"")


def test_mutation_ttl(client: Client) -> None:
    expire_ts = epoch_now(client.clock.now) + 10
    assert cam(client, CT.CT_VALUE_NOT_EXIST, b"", [put(b"k1", b"v1", expire_ts)])[0] == S.kOk
    client.clock.advance(12)
    assert client.get(HK, b"k1") == (S.kNotFound, b"")
    # an expired check value does not exist; a mutation whose expire_ts passed is written
    # as is, and is immediately invisible (upstream expire_seconds case)
    stale = [put(b"k1", b"v1", expire_ts), put(b"k2", b"v2")]
    assert cam(client, CT.CT_VALUE_NOT_EXIST, b"", stale) == (S.kOk, True, False, b"")
    assert client.get(HK, b"k1") == (S.kNotFound, b"")
    assert client.get(HK, b"k2") == (S.kOk, b"v2")


@pytest.mark.parametrize(
    "mutations",
    [
        [],
        [Mutate(operation=2, sort_key=b"k1")],
        [put(b"k1", b"v"), Mutate(operation=-1, sort_key=b"k2")],
    ],
)
def test_invalid_mutations(client: Client, mutations: list[Mutate]) -> None:
    assert cam(client, CT.CT_NO_CHECK, b"", mutations) == (S.kInvalidArgument, False, False, b"")
    assert client.get(HK, b"k1") == (S.kNotFound, b"")
    assert client.store.last_applied_decree() == client.decree


def test_invalid_check_type(client: Client) -> None:
    assert cam(client, 100, b"", [put(b"k1", b"v")]) == (S.kInvalidArgument, False, False, b"")
    assert client.get(HK, b"k1") == (S.kNotFound, b"")
