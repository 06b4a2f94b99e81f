"""Requests and responses of the storage engine, one frozen dataclass per rrdb.thrift struct.

Field names are exactly those of Apache Pegasus's ``idl/rrdb.thrift`` so that the wire
layer can map a decoded message onto these classes by field name. The routing fields
``app_id``, ``partition_index`` and ``server`` are left out: they belong to the replica,
not to the storage engine. Write responses keep ``decree``.

``dsn.blob`` is ``bytes``; thrift enums are plain ``int`` fields (a client may send a value
outside the enum, which the engine must answer with ``kInvalidArgument``, not crash on),
with the known values in the IntEnums below. Thrift ``optional`` fields are ``None`` when
unset. Lists are ``Sequence`` in requests (a list or a tuple will do) and tuples in
responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum

from pegasus_log.frozen import frozen

# ---- enums (values as in rrdb.thrift) --------------------------------------------------


class FilterType(IntEnum):
    FT_NO_FILTER = 0
    FT_MATCH_ANYWHERE = 1
    FT_MATCH_PREFIX = 2
    FT_MATCH_POSTFIX = 3


class CasCheckType(IntEnum):
    CT_NO_CHECK = 0
    # appearance
    CT_VALUE_NOT_EXIST = 1
    CT_VALUE_NOT_EXIST_OR_EMPTY = 2
    CT_VALUE_EXIST = 3
    CT_VALUE_NOT_EMPTY = 4
    # match
    CT_VALUE_MATCH_ANYWHERE = 5
    CT_VALUE_MATCH_PREFIX = 6
    CT_VALUE_MATCH_POSTFIX = 7
    # bytes compare
    CT_VALUE_BYTES_LESS = 8
    CT_VALUE_BYTES_LESS_OR_EQUAL = 9
    CT_VALUE_BYTES_EQUAL = 10
    CT_VALUE_BYTES_GREATER_OR_EQUAL = 11
    CT_VALUE_BYTES_GREATER = 12
    # int compare (both sides parsed as int64)
    CT_VALUE_INT_LESS = 13
    CT_VALUE_INT_LESS_OR_EQUAL = 14
    CT_VALUE_INT_EQUAL = 15
    CT_VALUE_INT_GREATER_OR_EQUAL = 16
    CT_VALUE_INT_GREATER = 17


class MutateOperation(IntEnum):
    MO_PUT = 0
    MO_DELETE = 1


class UpdateType(IntEnum):
    UT_PUT = 0
    UT_INCR = 1
    UT_CHECK_AND_SET = 2
    UT_CHECK_AND_MUTATE_PUT = 3
    UT_CHECK_AND_MUTATE_REMOVE = 4


# Scanner context ids with a special meaning (upstream pegasus_scan_context.h).
SCAN_CONTEXT_ID_VALID_MIN = 0
SCAN_CONTEXT_ID_COMPLETED = -1
SCAN_CONTEXT_ID_NOT_EXIST = -2


# ---- writes ----------------------------------------------------------------------------


@frozen
class UpdateRequest:
    """put: ``key`` is the encoded key ``[u16 len(hash_key)][hash_key][sort_key]``."""

    key: bytes = b""
    value: bytes = b""
    expire_ts_seconds: int = 0
    type: int | None = None
    check_value_returned: bool | None = None
    check_value_exist: bool | None = None
    check_value: bytes | None = None


@frozen
class UpdateResponse:
    error: int = 0
    decree: int = 0


@frozen
class KeyValue:
    key: bytes = b""
    value: bytes = b""
    expire_ts_seconds: int | None = None


@frozen
class MultiPutRequest:
    hash_key: bytes = b""
    kvs: Sequence[KeyValue] = ()
    expire_ts_seconds: int = 0


@frozen
class MultiRemoveRequest:
    hash_key: bytes = b""
    sort_keys: Sequence[bytes] = ()
    max_count: int = 0  # deprecated upstream, ignored


@frozen
class MultiRemoveResponse:
    error: int = 0
    count: int = 0
    decree: int = 0


@frozen
class IncrRequest:
    key: bytes = b""
    increment: int = 0
    # 0 keeps the record's TTL, > 0 sets this absolute expire_ts, < 0 clears the TTL.
    expire_ts_seconds: int = 0


@frozen
class IncrResponse:
    error: int = 0
    new_value: int = 0
    decree: int = 0


@frozen
class CheckAndSetRequest:
    hash_key: bytes = b""
    check_sort_key: bytes = b""
    check_type: int = 0
    check_operand: bytes = b""
    set_diff_sort_key: bool = False
    set_sort_key: bytes = b""
    set_value: bytes = b""
    set_expire_ts_seconds: int = 0
    return_check_value: bool = False


@frozen
class CheckAndSetResponse:
    error: int = 0
    check_value_returned: bool = False
    check_value_exist: bool = False
    check_value: bytes = b""
    decree: int = 0


@frozen
class Mutate:
    operation: int = 0
    sort_key: bytes = b""
    value: bytes = b""
    set_expire_ts_seconds: int = 0


@frozen
class CheckAndMutateRequest:
    hash_key: bytes = b""
    check_sort_key: bytes = b""
    check_type: int = 0
    check_operand: bytes = b""
    mutate_list: Sequence[Mutate] = ()
    return_check_value: bool = False


@frozen
class CheckAndMutateResponse:
    error: int = 0
    check_value_returned: bool = False
    check_value_exist: bool = False
    check_value: bytes = b""
    decree: int = 0


# ---- reads -----------------------------------------------------------------------------


@frozen
class ReadResponse:
    error: int = 0
    value: bytes = b""


@frozen
class TtlResponse:
    error: int = 0
    ttl_seconds: int = 0


@frozen
class CountResponse:
    error: int = 0
    count: int = 0


@frozen
class MultiGetRequest:
    hash_key: bytes = b""
    sort_keys: Sequence[bytes] = ()  # not empty: fetch exactly these sort keys
    max_kv_count: int = 0  # <= 0: no limit but the server's
    max_kv_size: int = 0  # <= 0: no limit but the server's
    no_value: bool = False
    start_sortkey: bytes = b""
    stop_sortkey: bytes = b""  # empty: up to the last sort key of hash_key
    start_inclusive: bool = False
    stop_inclusive: bool = False
    sort_key_filter_type: int = 0
    sort_key_filter_pattern: bytes = b""
    reverse: bool = False


@frozen
class MultiGetResponse:
    error: int = 0
    kvs: tuple[KeyValue, ...] = ()  # key = sort key, ascending


@frozen
class FullKey:
    hash_key: bytes = b""
    sort_key: bytes = b""


@frozen
class BatchGetRequest:
    keys: Sequence[FullKey] = ()


@frozen
class FullData:
    hash_key: bytes = b""
    sort_key: bytes = b""
    value: bytes = b""


@frozen
class BatchGetResponse:
    error: int = 0
    data: tuple[FullData, ...] = ()


@frozen
class GetScannerRequest:
    start_key: bytes = b""  # encoded keys
    stop_key: bytes = b""
    start_inclusive: bool = False
    stop_inclusive: bool = False
    batch_size: int = 0
    no_value: bool = False
    hash_key_filter_type: int = 0
    hash_key_filter_pattern: bytes = b""
    sort_key_filter_type: int = 0
    sort_key_filter_pattern: bytes = b""
    validate_partition_hash: bool | None = None  # unset means true
    return_expire_ts: bool | None = None
    full_scan: bool | None = None
    only_return_count: bool | None = None


@frozen
class ScanRequest:
    context_id: int = 0


@frozen
class ScanResponse:
    error: int = 0
    kvs: tuple[KeyValue, ...] = ()  # key = encoded key
    context_id: int = SCAN_CONTEXT_ID_COMPLETED
    kv_count: int | None = None
