from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pegasus_log.storage.keyhash import (
    CRC64_POLY,
    PartitionScope,
    crc64,
    key_hash,
    partition_hash,
    partition_index_of,
)
from pegasus_log.storage.schema import MalformedKeyError, encode_key


def bitwise_crc64(data: bytes) -> int:
    """The textbook reflected CRC, one bit at a time: an independent reference."""
    reg = 0xFFFF_FFFF_FFFF_FFFF
    for byte in data:
        reg ^= byte
        for _ in range(8):
            reg = (reg >> 1) ^ CRC64_POLY if reg & 1 else reg >> 1
    return reg ^ 0xFFFF_FFFF_FFFF_FFFF


def test_check_values() -> None:
    assert crc64(b"123456789") == 0xAE8B14860A799888
    assert crc64(b"") == 0


@given(st.binary(max_size=300))
def test_table_matches_bitwise_reference(data: bytes) -> None:
    assert crc64(data) == bitwise_crc64(data)


@given(st.binary(max_size=64), st.binary(max_size=64))
def test_crc_continues_across_chunks(a: bytes, b: bytes) -> None:
    assert crc64(b, crc64(a)) == crc64(a + b)


def test_partition_hash_uses_hash_key_else_sort_key() -> None:
    assert partition_hash(b"hk", b"sk") == crc64(b"hk")
    assert partition_hash(b"", b"sk") == crc64(b"sk")
    assert partition_hash(b"", b"") == 0


@given(st.binary(max_size=40), st.binary(max_size=40))
def test_key_hash_of_encoded_key(hash_key: bytes, sort_key: bytes) -> None:
    assert key_hash(encode_key(hash_key, sort_key)) == partition_hash(hash_key, sort_key)


def test_key_hash_rejects_malformed_key() -> None:
    with pytest.raises(MalformedKeyError):
        key_hash(b"\x00")
    with pytest.raises(MalformedKeyError):
        key_hash(b"\x00\x05ab")


def test_partition_scope() -> None:
    scope = PartitionScope(partition_index=1, partition_count=4)
    key = encode_key(b"a", b"x")
    assert scope.serves(key) == (partition_hash(b"a", b"x") % 4 == 1)
    assert partition_index_of(crc64(b"a"), 4) == crc64(b"a") % 4
    for bad_count in (0, 3, 6):
        with pytest.raises(ValueError):
            PartitionScope(0, bad_count)
    with pytest.raises(ValueError):
        PartitionScope(4, 4)
