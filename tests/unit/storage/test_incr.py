"""Storage-level versions of upstream's atomic_write/incr_test cases."""

from __future__ import annotations

import pytest

from pegasus_log.storage import StorageStatus as S
from pegasus_log.storage.predicates import INT64_MAX, INT64_MIN
from tests.unit.storage.helpers import Client

HK, SK = b"incr_test", b"sort_key"


def incr(client: Client, increment: int, ttl_seconds: int = 0) -> tuple[int, int]:
    response = client.incr(HK, SK, increment, ttl_seconds)
    assert response.decree == client.decree == client.store.last_applied_decree()
    return int(response.error), response.new_value


def test_on_non_existing_key(client: Client) -> None:
    assert incr(client, 100) == (S.kOk, 100)
    assert client.get(HK, SK) == (S.kOk, b"100")


@pytest.mark.parametrize(
    ("base", "increment", "expected"),
    [
        (b"", 100, 100),
        (b"0", 1, 1),
        (b"100", 1, 101),
        (b"-100", -1, -101),
        (b"100", 0, 100),
        (b" 0x10", 1, 17),  # upstream parses with strtoll, base 0
    ],
)
def test_on_existing_value(client: Client, base: bytes, increment: int, expected: int) -> None:
    assert client.set(HK, SK, base) == S.kOk
    assert incr(client, increment) == (S.kOk, expected)
    assert client.get(HK, SK) == (S.kOk, str(expected).encode())


def test_multiple_times(client: Client) -> None:
    assert client.set(HK, SK, b"100") == S.kOk
    assert [incr(client, i)[1] for i in (1, 2, 3)] == [101, 103, 106]


@pytest.mark.parametrize("base", [b"aaa", b"10000000000000000000000000000000000000", b"1 "])
def test_on_invalid_value(client: Client, base: bytes) -> None:
    assert client.set(HK, SK, base) == S.kOk
    assert incr(client, 1) == (S.kInvalidArgument, 0)
    assert client.get(HK, SK) == (S.kOk, base)


@pytest.mark.parametrize(("base", "increment"), [(1, INT64_MAX), (-1, INT64_MIN)])
def test_overflow_answers_the_base_value(client: Client, base: int, increment: int) -> None:
    assert client.set(HK, SK, str(base).encode()) == S.kOk
    assert incr(client, increment) == (S.kInvalidArgument, base)
    assert client.get(HK, SK) == (S.kOk, str(base).encode())


def test_preserve_ttl(client: Client) -> None:
    assert incr(client, 100, ttl_seconds=6) == (S.kOk, 100)
    assert client.ttl(HK, SK) == (S.kOk, 6)
    for i in range(3):
        assert incr(client, 1) == (S.kOk, 101 + i)  # 0 keeps the TTL
        assert client.ttl(HK, SK) == (S.kOk, 6 - i)
        client.clock.advance(1)
    client.clock.advance(4)
    assert client.get(HK, SK) == (S.kNotFound, b"")
    # an expired record counts as 0 and loses its TTL
    assert incr(client, 1) == (S.kOk, 1)
    assert client.ttl(HK, SK) == (S.kOk, -1)


def test_update_ttl(client: Client) -> None:
    assert incr(client, 100, ttl_seconds=10) == (S.kOk, 100)
    assert incr(client, 1, ttl_seconds=15) == (S.kOk, 101)
    assert client.ttl(HK, SK) == (S.kOk, 15)
    assert incr(client, 1, ttl_seconds=5) == (S.kOk, 102)
    assert client.ttl(HK, SK) == (S.kOk, 5)
    client.clock.advance(6)
    assert client.get(HK, SK) == (S.kNotFound, b"")
    assert incr(client, 1, ttl_seconds=5) == (S.kOk, 1)
    assert client.ttl(HK, SK) == (S.kOk, 5)


def test_disable_ttl(client: Client) -> None:
    assert incr(client, 100) == (S.kOk, 100)
    assert client.ttl(HK, SK) == (S.kOk, -1)
    assert incr(client, 1, ttl_seconds=-1) == (S.kOk, 101)
    assert client.ttl(HK, SK) == (S.kOk, -1)
    assert incr(client, 1, ttl_seconds=5) == (S.kOk, 102)
    assert client.ttl(HK, SK) == (S.kOk, 5)
    assert incr(client, 1, ttl_seconds=-1) == (S.kOk, 103)
    assert client.ttl(HK, SK) == (S.kOk, -1)
    assert incr(client, 1, ttl_seconds=5) == (S.kOk, 104)
    client.clock.advance(6)
    assert client.get(HK, SK) == (S.kNotFound, b"")
    assert incr(client, 1, ttl_seconds=-1) == (S.kOk, 1)
    assert client.ttl(HK, SK) == (S.kOk, -1)


def test_default_ttl_applies_to_incr_without_ttl(client: Client) -> None:
    client.store.set_default_ttl(100)
    assert incr(client, 1) == (S.kOk, 1)
    assert client.ttl(HK, SK) == (S.kOk, 100)
    assert incr(client, 1, ttl_seconds=-1) == (S.kOk, 2)  # cleared, then defaulted again
    assert client.ttl(HK, SK) == (S.kOk, 100)
