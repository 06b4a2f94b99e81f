"""The Pegasus key hash: CRC-64 as upstream's ``dsn::utils::crc64_calc`` computes it.

Reflected (LSB-first) table-driven CRC-64 with the polynomial constant
0x9a6c9329ac4bc9b5 (upstream writes it as a sum of ``BIT64(n)`` terms), initial register
and final XOR all ones. Check values: ``crc64(b"123456789") == 0xae8b14860a799888``,
``crc64(b"") == 0``.

Clients route a record by ``partition_hash % partition_count``; a replica checks
``partition_hash & (partition_count - 1)``, which is why partition counts are powers of
two.

This is pure Python on purpose: no package that is kept up to date computes this exact
variant in C (crcmod, the usual candidate, has had no release since 2010 and builds its C
extension only where a compiler is present). Hash keys are short, so the byte loop over a
precomputed 256-entry table costs a few microseconds per call.
"""

from __future__ import annotations

from pegasus_log.frozen import frozen
from pegasus_log.storage.schema import decode_key

CRC64_POLY = 0x9A6C9329AC4BC9B5
_MASK64 = 0xFFFF_FFFF_FFFF_FFFF


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ CRC64_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc64(data: bytes, crc: int = 0) -> int:
    """CRC-64 of ``data``; ``crc`` continues an earlier checksum (0 to start)."""
    table = _TABLE
    reg = crc ^ _MASK64
    for byte in data:
        reg = table[(reg ^ byte) & 0xFF] ^ (reg >> 8)
    return reg ^ _MASK64


def partition_hash(hash_key: bytes, sort_key: bytes) -> int:
    """The 64-bit routing hash of a record: of its hash key, or of its sort key when the
    hash key is empty."""
    if hash_key:
        return crc64(hash_key)
    return crc64(sort_key)


def key_hash(raw_key: bytes) -> int:
    """``partition_hash`` of an encoded key (raises ``MalformedKeyError`` if it is not one)."""
    hash_key, sort_key = decode_key(raw_key)
    return partition_hash(hash_key, sort_key)


def partition_index_of(hash_value: int, partition_count: int) -> int:
    """The partition a replica expects ``hash_value`` in (``hash & (count - 1)``)."""
    assert partition_count > 0 and partition_count & (partition_count - 1) == 0
    return hash_value & (partition_count - 1)


@frozen
class PartitionScope:
    """Which records a partition serves: those with ``key_hash & (count - 1) == index``.
    (Upstream calls ``count - 1`` the partition version; it changes with a split.)"""

    partition_index: int
    partition_count: int

    def __post_init__(self) -> None:
        count = self.partition_count
        if count <= 0 or count & (count - 1) != 0:
            raise ValueError(f"partition count {count} is not a power of two")
        if not 0 <= self.partition_index < count:
            raise ValueError(f"partition index {self.partition_index} outside [0, {count})")

    def serves(self, raw_key: bytes) -> bool:
        return key_hash(raw_key) & (self.partition_count - 1) == self.partition_index
