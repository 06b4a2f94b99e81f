"""Storage-level version of upstream's base_api/test_batch_get case."""

from __future__ import annotations

from pegasus_log.storage import StorageStatus as S
from pegasus_log.storage.types import BatchGetRequest, FullKey
from tests.unit.storage.helpers import Client


def test_set_and_then_batch_get(client: Client) -> None:
    keys = []
    for i in range(100):
        hash_key, sort_key = b"hash_key_prefix_%d" % i, b"sort_key_prefix_%d" % i
        assert client.set(hash_key, sort_key, b"value_%d" % i) == S.kOk
        keys.append((hash_key, sort_key))
    missing = [(b"hash_key_prefix_no_exist_%d" % i, b"sort_key_%d" % i) for i in range(6)]
    status, data = client.batch_get(keys + missing)
    assert status == S.kOk
    assert data == [(h, s, b"value_%d" % i) for i, (h, s) in enumerate(keys)]


def test_batch_get_skips_expired_and_keeps_request_order(client: Client) -> None:
    assert client.set(b"b", b"1", b"x") == S.kOk
    assert client.set(b"a", b"1", b"y") == S.kOk
    assert client.set(b"c", b"1", b"z", ttl_seconds=1) == S.kOk
    client.clock.advance(1)
    status, data = client.batch_get([(b"b", b"1"), (b"c", b"1"), (b"a", b"1"), (b"b", b"1")])
    assert status == S.kOk
    assert data == [(b"b", b"1", b"x"), (b"a", b"1", b"y"), (b"b", b"1", b"x")]


def test_batch_get_without_keys_is_invalid(client: Client) -> None:
    assert client.store.batch_get(BatchGetRequest([])).error == S.kInvalidArgument
    too_long = BatchGetRequest([FullKey(b"h" * 65535, b"s")])
    assert client.store.batch_get(too_long).error == S.kInvalidArgument
