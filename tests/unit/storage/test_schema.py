from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pegasus_log.storage.schema import (
    PEGASUS_EPOCH,
    KeyTooLongError,
    MalformedKeyError,
    MalformedValueError,
    decode_key,
    decode_value,
    encode_key,
    encode_value,
    epoch_now,
    hash_key_stop,
    is_record_expired,
    is_ts_expired,
    is_valid_key,
    key_prefix,
    make_timetag,
    prefix_successor,
    replace_expire_ts,
    sort_key_prefix_stop,
    timetag_cluster_id,
    timetag_deleted,
    timetag_timestamp_us,
)

keys = st.binary(max_size=40)


@given(keys, keys)
def test_key_round_trip(hash_key: bytes, sort_key: bytes) -> None:
    raw = encode_key(hash_key, sort_key)
    assert raw[:2] == len(hash_key).to_bytes(2, "big")
    assert decode_key(raw) == (hash_key, sort_key)
    assert is_valid_key(raw)
    assert key_prefix(raw) == encode_key(hash_key, b"")


@given(keys, keys, keys, keys)
def test_keys_group_by_hash_key_then_order_by_sort_key(
    h1: bytes, s1: bytes, h2: bytes, s2: bytes
) -> None:
    k1, k2 = encode_key(h1, s1), encode_key(h2, s2)
    if h1 == h2:
        assert (k1 < k2) == (s1 < s2)
    # every key of a hash key lies in [encode(h, ""), hash_key_stop(h))
    assert encode_key(h1, b"") <= k1 < hash_key_stop(h1)


def test_hash_key_length_limit() -> None:
    assert decode_key(encode_key(b"h" * 65534, b"s")) == (b"h" * 65534, b"s")
    with pytest.raises(KeyTooLongError):
        encode_key(b"h" * 65535, b"")
    assert issubclass(KeyTooLongError, ValueError)


@pytest.mark.parametrize("raw", [b"", b"\x00", b"\x00\x03ab", b"\xff\xff" + b"x" * 10])
def test_malformed_keys(raw: bytes) -> None:
    assert not is_valid_key(raw)
    assert key_prefix(raw) is None
    with pytest.raises(MalformedKeyError):
        decode_key(raw)


@given(st.binary(min_size=1, max_size=20).filter(lambda b: b.rstrip(b"\xff") != b""), keys)
def test_prefix_successor_bounds_every_extension(prefix: bytes, tail: bytes) -> None:
    successor = prefix_successor(prefix)
    assert prefix < successor
    assert prefix + tail < successor
    assert not successor.startswith(prefix)


def test_prefix_stops() -> None:
    assert hash_key_stop(b"a") == b"\x00\x01b"
    assert hash_key_stop(b"a\xff") == b"\x00\x02b"
    assert hash_key_stop(b"") == b"\x00\x01"
    assert sort_key_prefix_stop(b"h", b"ab") == b"\x00\x01hac"
    assert sort_key_prefix_stop(b"h", b"\xff") == hash_key_stop(b"h")


@given(
    st.binary(max_size=64),
    st.integers(0, 0xFFFF_FFFF),
    st.integers(0, (1 << 56) - 1),
    st.integers(0, 127),
    st.booleans(),
)
def test_value_round_trip(
    data: bytes, expire_ts: int, timestamp_us: int, cluster_id: int, deleted: bool
) -> None:
    timetag = make_timetag(timestamp_us, cluster_id, deleted=deleted)
    assert timetag == timestamp_us << 8 | cluster_id << 1 | int(deleted)
    raw = encode_value(data, expire_ts=expire_ts, timetag=timetag)
    assert raw[:4] == expire_ts.to_bytes(4, "big")
    assert raw[4:12] == timetag.to_bytes(8, "big")
    assert decode_value(raw) == (expire_ts, timetag, data)
    assert timetag_timestamp_us(timetag) == timestamp_us
    assert timetag_cluster_id(timetag) == cluster_id
    assert timetag_deleted(timetag) == deleted
    assert decode_value(replace_expire_ts(raw, 7)) == (7, timetag, data)


def test_short_value_is_malformed() -> None:
    with pytest.raises(MalformedValueError):
        decode_value(b"\x00" * 11)


def test_expiry() -> None:
    assert PEGASUS_EPOCH == 1451606400
    assert epoch_now(PEGASUS_EPOCH + 10.9) == 10
    assert not is_ts_expired(100, 0)  # 0 = never
    assert not is_ts_expired(100, 101)
    assert is_ts_expired(100, 100)  # expires at its second
    assert is_ts_expired(100, 1)
    raw = encode_value(b"v", expire_ts=50, timetag=0)
    assert is_record_expired(50, raw) and not is_record_expired(49, raw)
