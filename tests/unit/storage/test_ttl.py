"""Storage-level versions of upstream's base_api/test_ttl cases."""

from __future__ import annotations

from pegasus_log.storage import StorageStatus as S
from pegasus_log.storage.schema import encode_key, epoch_now
from pegasus_log.storage.types import KeyValue, MultiPutRequest, UpdateRequest
from tests.unit.storage.helpers import Client

HK = b"ttl_test_hash_key"


def test_set_without_default_ttl(client: Client) -> None:
    assert client.set(HK, b"k1", b"v1", ttl_seconds=5) == S.kOk
    assert client.get(HK, b"k1") == (S.kOk, b"v1")
    assert client.ttl(HK, b"k1") == (S.kOk, 5)
    assert client.set(HK, b"k2", b"v2") == S.kOk
    assert client.ttl(HK, b"k2") == (S.kOk, -1)
    client.clock.advance(4.5)
    assert client.ttl(HK, b"k1") == (S.kOk, 1)
    client.clock.advance(0.5)  # expire_ts <= now: gone
    assert client.ttl(HK, b"k1") == (S.kNotFound, 0)
    assert client.get(HK, b"k1") == (S.kNotFound, b"")
    assert client.ttl(HK, b"k2") == (S.kOk, -1)
    stats = client.store.compact()
    assert stats.expired_dropped == 1 and stats.default_ttl_applied == 0
    assert client.ttl(HK, b"k1") == (S.kNotFound, 0)
    assert client.get(HK, b"k2") == (S.kOk, b"v2")
    assert client.ttl(HK, b"k2") == (S.kOk, -1)


def test_set_with_default_ttl(client: Client) -> None:
    assert client.set(HK, b"k0", b"v0") == S.kOk  # before the default TTL
    client.store.set_default_ttl(3600)
    assert client.set(HK, b"k1", b"v1", ttl_seconds=5) == S.kOk
    assert client.ttl(HK, b"k1") == (S.kOk, 5)  # an explicit TTL wins
    assert client.set(HK, b"k2", b"v2") == S.kOk
    assert client.ttl(HK, b"k2") == (S.kOk, 3600)
    client.clock.advance(10)
    assert client.ttl(HK, b"k0") == (S.kOk, -1)  # written before: untouched until compaction
    assert client.get(HK, b"k1") == (S.kNotFound, b"")
    assert client.ttl(HK, b"k2") == (S.kOk, 3590)
    client.clock.advance(31)
    stats = client.store.compact()
    assert stats.expired_dropped == 1 and stats.default_ttl_applied == 1
    assert client.ttl(HK, b"k0") == (S.kOk, 3600)  # compaction gave it the default TTL
    assert client.ttl(HK, b"k2") == (S.kOk, 3600 - 41)


def test_default_ttl_applies_to_every_write_without_ttl(client: Client) -> None:
    store = client.store
    store.set_default_ttl(100)
    store.multi_put(client.next_decree(), MultiPutRequest(HK, [KeyValue(b"m", b"v")]))
    store.put(client.next_decree(), UpdateRequest(encode_key(HK, b"p"), b"v"))
    for sort_key in (b"m", b"p"):
        assert client.ttl(HK, sort_key) == (S.kOk, 100)
    store.set_default_ttl(0)
    assert client.set(HK, b"q", b"v") == S.kOk
    assert client.ttl(HK, b"q") == (S.kOk, -1)


def test_negative_expire_ts_is_stored_as_unsigned(client: Client) -> None:
    # expire_ts_seconds is i32 on the wire and u32 on disk (upstream static_cast)
    request = UpdateRequest(encode_key(HK, b"n"), b"v", expire_ts_seconds=-1)
    assert client.store.put(client.next_decree(), request).error == S.kOk
    status, ttl = client.ttl(HK, b"n")
    assert status == S.kOk
    now = epoch_now(client.clock.now)
    assert ttl == ((0xFFFF_FFFF - now) & 0xFFFF_FFFF) - (1 << 32)  # wrapped to i32


def test_ttl_of_missing_key(client: Client) -> None:
    assert client.ttl(HK, b"nothing") == (S.kNotFound, 0)
