"""The Pegasus key and value schema (upstream pegasus_key_schema.h, pegasus_value_schema.h).

Key: ``[u16 big-endian len(hash_key)][hash_key][sort_key]``, with ``len(hash_key) < 65535``.
Keys sort by hash-key length first, then hash key, then sort key, so all records of one
hash key are contiguous and ordered by sort key.

Value, data version 1: ``[u32 expire_ts][u64 timetag][user data]``, big-endian.
``expire_ts`` counts seconds since ``PEGASUS_EPOCH`` (2016-01-01T00:00:00Z); 0 means the
record never expires, and a record is expired once ``expire_ts <= now``.
``timetag = timestamp_us << 8 | cluster_id << 1 | delete_flag`` orders writes for
cross-cluster duplication.
"""

from __future__ import annotations

import struct

HASH_KEY_LEN_SIZE = 2
# len(hash_key) must stay below UINT16_MAX (upstream CHECK_LT(hash_key.length(), UINT16_MAX)).
HASH_KEY_LEN_MAX = 0xFFFE

PEGASUS_EPOCH = 1451606400  # 2016-01-01T00:00:00Z in unix seconds
DATA_VERSION = 1
VALUE_HEADER_SIZE = 12  # u32 expire_ts + u64 timetag
EXPIRE_TS_MAX = 0xFFFF_FFFF
TIMESTAMP_US_MAX = (1 << 56) - 1
CLUSTER_ID_MAX = 0x7F

_HEADER = struct.Struct(">IQ")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")


class KeyTooLongError(ValueError):
    """A hash key of 65535 bytes or more cannot be encoded."""


class MalformedKeyError(ValueError):
    """Bytes that are not an encoded Pegasus key."""


class MalformedValueError(ValueError):
    """Bytes that are not a version-1 Pegasus value (shorter than its header)."""


# ---- keys ------------------------------------------------------------------------------


def check_hash_key(hash_key: bytes) -> None:
    if len(hash_key) > HASH_KEY_LEN_MAX:
        raise KeyTooLongError(
            f"hash key of {len(hash_key)} bytes: must be shorter than 65535 bytes"
        )


def encode_key(hash_key: bytes, sort_key: bytes) -> bytes:
    check_hash_key(hash_key)
    return _U16.pack(len(hash_key)) + hash_key + sort_key


def decode_key(raw_key: bytes) -> tuple[bytes, bytes]:
    """Split an encoded key into ``(hash_key, sort_key)``."""
    if len(raw_key) < HASH_KEY_LEN_SIZE:
        raise MalformedKeyError(f"encoded key of {len(raw_key)} bytes: needs at least 2")
    (hash_key_len,) = _U16.unpack_from(raw_key)
    end = HASH_KEY_LEN_SIZE + hash_key_len
    if end > len(raw_key) or hash_key_len > HASH_KEY_LEN_MAX:
        raise MalformedKeyError(
            f"encoded key of {len(raw_key)} bytes announces a {hash_key_len}-byte hash key"
        )
    return raw_key[HASH_KEY_LEN_SIZE:end], raw_key[end:]


def is_valid_key(raw_key: bytes) -> bool:
    if len(raw_key) < HASH_KEY_LEN_SIZE:
        return False
    hash_key_len = int(_U16.unpack_from(raw_key)[0])
    return hash_key_len <= HASH_KEY_LEN_MAX and HASH_KEY_LEN_SIZE + hash_key_len <= len(raw_key)


def key_prefix(raw_key: bytes) -> bytes | None:
    """The ``[len][hash_key]`` prefix of an encoded key, or None if it is malformed."""
    if not is_valid_key(raw_key):
        return None
    (hash_key_len,) = _U16.unpack_from(raw_key)
    return raw_key[: HASH_KEY_LEN_SIZE + hash_key_len]


def prefix_successor(prefix: bytes) -> bytes:
    """The smallest byte string greater than every string starting with ``prefix``:
    drop trailing 0xFF bytes, then add one to the last byte (upstream
    ``pegasus_generate_next_blob``). ``prefix`` must hold a byte other than 0xFF, which an
    encoded key always does (its length field is below 0xFFFF)."""
    stripped = prefix.rstrip(b"\xff")
    assert stripped, "prefix of 0xFF bytes only has no successor"
    return stripped[:-1] + bytes((stripped[-1] + 1,))


def hash_key_stop(hash_key: bytes) -> bytes:
    """The first encoded key after every key of ``hash_key``."""
    return prefix_successor(encode_key(hash_key, b""))


def sort_key_prefix_stop(hash_key: bytes, sort_key_prefix: bytes) -> bytes:
    """The first encoded key after every key of ``hash_key`` whose sort key starts with
    ``sort_key_prefix``."""
    return prefix_successor(encode_key(hash_key, sort_key_prefix))


# ---- values ----------------------------------------------------------------------------


def make_timetag(timestamp_us: int, cluster_id: int, *, deleted: bool) -> int:
    assert 0 <= cluster_id <= CLUSTER_ID_MAX, cluster_id
    return (timestamp_us & TIMESTAMP_US_MAX) << 8 | cluster_id << 1 | int(deleted)


def timetag_timestamp_us(timetag: int) -> int:
    return (timetag >> 8) & TIMESTAMP_US_MAX


def timetag_cluster_id(timetag: int) -> int:
    return (timetag >> 1) & CLUSTER_ID_MAX


def timetag_deleted(timetag: int) -> bool:
    return bool(timetag & 1)


def encode_value(user_data: bytes, *, expire_ts: int, timetag: int) -> bytes:
    assert 0 <= expire_ts <= EXPIRE_TS_MAX, expire_ts
    return _HEADER.pack(expire_ts, timetag) + user_data


def _check_value(raw_value: bytes) -> None:
    if len(raw_value) < VALUE_HEADER_SIZE:
        raise MalformedValueError(f"value of {len(raw_value)} bytes: header needs 12")


def decode_expire_ts(raw_value: bytes) -> int:
    _check_value(raw_value)
    return int(_U32.unpack_from(raw_value)[0])


def decode_timetag(raw_value: bytes) -> int:
    _check_value(raw_value)
    return int(_HEADER.unpack_from(raw_value)[1])


def decode_user_data(raw_value: bytes) -> bytes:
    _check_value(raw_value)
    return raw_value[VALUE_HEADER_SIZE:]


def decode_value(raw_value: bytes) -> tuple[int, int, bytes]:
    """``(expire_ts, timetag, user_data)``."""
    _check_value(raw_value)
    expire_ts, timetag = _HEADER.unpack_from(raw_value)
    return int(expire_ts), int(timetag), raw_value[VALUE_HEADER_SIZE:]


def replace_expire_ts(raw_value: bytes, expire_ts: int) -> bytes:
    _check_value(raw_value)
    assert 0 <= expire_ts <= EXPIRE_TS_MAX, expire_ts
    return _U32.pack(expire_ts) + raw_value[4:]


# ---- time ------------------------------------------------------------------------------


def epoch_now(unix_seconds: float) -> int:
    """Whole seconds since ``PEGASUS_EPOCH`` (upstream ``utils::epoch_now()``)."""
    return max(0, int(unix_seconds) - PEGASUS_EPOCH)


def expire_ts_after(unix_seconds: float, ttl_seconds: int) -> int:
    """The ``expire_ts`` of a record written at ``unix_seconds`` that lives ``ttl_seconds``."""
    return epoch_now(unix_seconds) + ttl_seconds


def is_ts_expired(now_epoch: int, expire_ts: int) -> bool:
    return 0 < expire_ts <= now_epoch


def is_record_expired(now_epoch: int, raw_value: bytes) -> bool:
    return is_ts_expired(now_epoch, decode_expire_ts(raw_value))
