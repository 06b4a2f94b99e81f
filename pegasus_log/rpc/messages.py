"""The wire messages of the Pegasus client protocol (rrdb data service and meta query).

Field ids and names follow Apache Pegasus's IDL (idl/rrdb.thrift, idl/dsn.layer2.thrift,
src/rpc/request_meta.thrift) so that the official clients understand us. Each struct
declares its schema in ``THRIFT``; ``pegasus_log.rpc.thrift`` encodes and decodes it.
"""

from __future__ import annotations

from dataclasses import field
from typing import ClassVar

from pegasus_log.frozen import frozen
from pegasus_log.rpc.thrift import (
    BLOB,
    BOOL,
    ERROR_CODE,
    GPID,
    HOST_PORT,
    I32,
    I64,
    RPC_ADDRESS,
    STRING,
    Field,
    Gpid,
    HostPort,
    ListOf,
    RpcAddress,
    TypeSpec,
)

# The enums of the data model are the storage engine's; the wire carries them as i32.
from pegasus_log.storage.types import (
    CasCheckType,
    FilterType,
    MutateOperation,
    UpdateType,
)

# ---- rrdb requests and responses -------------------------------------------------------


@frozen
class UpdateRequest:
    key: bytes = b""
    value: bytes = b""
    expire_ts_seconds: int = 0
    type: int | None = None
    check_value_returned: bool | None = None
    check_value_exist: bool | None = None
    check_value: bytes | None = None
    THRIFT: ClassVar = (
        Field(1, "key", BLOB),
        Field(2, "value", BLOB),
        Field(3, "expire_ts_seconds", I32),
        Field(4, "type", I32, optional=True),
        Field(5, "check_value_returned", BOOL, optional=True),
        Field(6, "check_value_exist", BOOL, optional=True),
        Field(7, "check_value", BLOB, optional=True),
    )


@frozen
class UpdateResponse:
    error: int = 0
    app_id: int = 0
    partition_index: int = 0
    decree: int = 0
    server: str = ""
    THRIFT: ClassVar = (
        Field(1, "error", I32),
        Field(2, "app_id", I32),
        Field(3, "partition_index", I32),
        Field(4, "decree", I64),
        Field(5, "server", STRING),
    )


@frozen
class ReadResponse:
    error: int = 0
    value: bytes = b""
    app_id: int = 0
    partition_index: int = 0
    server: str = ""
    THRIFT: ClassVar = (
        Field(1, "error", I32),
        Field(2, "value", BLOB),
        Field(3, "app_id", I32),
        Field(4, "partition_index", I32),
        Field(6, "server", STRING),
    )


@frozen
class TtlResponse:
    error: int = 0
    ttl_seconds: int = 0
    app_id: int = 0
    partition_index: int = 0
    server: str = ""
    THRIFT: ClassVar = (
        Field(1, "error", I32),
        Field(2, "ttl_seconds", I32),
        Field(3, "app_id", I32),
        Field(4, "partition_index", I32),
        Field(6, "server", STRING),
    )


@frozen
class CountResponse:
    error: int = 0
    count: int = 0
    app_id: int = 0
    partition_index: int = 0
    server: str = ""
    THRIFT: ClassVar = (
        Field(1, "error", I32),
        Field(2, "count", I64),
        Field(3, "app_id", I32),
        Field(4, "partition_index", I32),
        Field(6, "server", STRING),
    )


@frozen
class KeyValue:
    key: bytes = b""
    value: bytes = b""
    expire_ts_seconds: int | None = None
    THRIFT: ClassVar = (
        Field(1, "key", BLOB),
        Field(2, "value", BLOB),
        Field(3, "expire_ts_seconds", I32, optional=True),
    )


@frozen
class MultiPutRequest:
    hash_key: bytes = b""
    kvs: list[KeyValue] = field(default_factory=list)
    expire_ts_seconds: int = 0
    THRIFT: ClassVar = (
        Field(1, "hash_key", BLOB),
        Field(2, "kvs", ListOf(KeyValue)),
        Field(3, "expire_ts_seconds", I32),
    )


@frozen
class MultiRemoveRequest:
    hash_key: bytes = b""
    sort_keys: list[bytes] = field(default_factory=list)
    max_count: int = 0
    THRIFT: ClassVar = (
        Field(1, "hash_key", BLOB),
        Field(2, "sort_keys", ListOf(BLOB)),
        Field(3, "max_count", I64),
    )


@frozen
class MultiRemoveResponse:
    error: int = 0
    count: int = 0
    app_id: int = 0
    partition_index: int = 0
    decree: int = 0
    server: str = ""
    THRIFT: ClassVar = (
        Field(1, "error", I32),
        Field(2, "count", I64),
        Field(3, "app_id", I32),
        Field(4, "partition_index", I32),
        Field(5, "decree", I64),
        Field(6, "server", STRING),
    )


@frozen
class MultiGetRequest:
    hash_key: bytes = b""
    sort_keys: list[bytes] = field(default_factory=list)
    max_kv_count: int = 0
    max_kv_size: int = 0
    no_value: bool = False
    start_sortkey: bytes = b""
    stop_sortkey: bytes = b""
    start_inclusive: bool = False
    stop_inclusive: bool = False
    sort_key_filter_type: int = 0
    sort_key_filter_pattern: bytes = b""
    reverse: bool = False
    THRIFT: ClassVar = (
        Field(1, "hash_key", BLOB),
        Field(2, "sort_keys", ListOf(BLOB)),
        Field(3, "max_kv_count", I32),
        Field(4, "max_kv_size", I32),
        Field(5, "no_value", BOOL),
        Field(6, "start_sortkey", BLOB),
        Field(7, "stop_sortkey", BLOB),
        Field(8, "start_inclusive", BOOL),
        Field(9, "stop_inclusive", BOOL),
        Field(10, "sort_key_filter_type", I32),
        Field(11, "sort_key_filter_pattern", BLOB),
        Field(12, "reverse", BOOL),
    )


@frozen
class MultiGetResponse:
    error: int = 0
    kvs: list[KeyValue] = field(default_factory=list)
    app_id: int = 0
    partition_index: int = 0
    server: str = ""
    THRIFT: ClassVar = (
        Field(1, "error", I32),
        Field(2, "kvs", ListOf(KeyValue)),
        Field(3, "app_id", I32),
        Field(4, "partition_index", I32),
        Field(6, "server", STRING),
    )


@frozen
class FullKey:
    hash_key: bytes = b""
    sort_key: bytes = b""
    THRIFT: ClassVar = (Field(1, "hash_key", BLOB), Field(2, "sort_key", BLOB))


@frozen
class BatchGetRequest:
    keys: list[FullKey] = field(default_factory=list)
    THRIFT: ClassVar = (Field(1, "keys", ListOf(FullKey)),)


@frozen
class FullData:
    hash_key: bytes = b""
    sort_key: bytes = b""
    value: bytes = b""
    THRIFT: ClassVar = (
        Field(1, "hash_key", BLOB),
        Field(2, "sort_key", BLOB),
        Field(3, "value", BLOB),
    )


@frozen
class BatchGetResponse:
    error: int = 0
    data: list[FullData] = field(default_factory=list)
    app_id: int = 0
    partition_index: int = 0
    server: str = ""
    THRIFT: ClassVar = (
        Field(1, "error", I32),
        Field(2, "data", ListOf(FullData)),
        Field(3, "app_id", I32),
        Field(4, "partition_index", I32),
        Field(6, "server", STRING),
    )


@frozen
class IncrRequest:
    key: bytes = b""
    increment: int = 0
    expire_ts_seconds: int = 0
    THRIFT: ClassVar = (
        Field(1, "key", BLOB),
        Field(2, "increment", I64),
        Field(3, "expire_ts_seconds", I32),
    )


@frozen
class IncrResponse:
    error: int = 0
    new_value: int = 0
    app_id: int = 0
    partition_index: int = 0
    decree: int = 0
    server: str = ""
    THRIFT: ClassVar = (
        Field(1, "error", I32),
        Field(2, "new_value", I64),
        Field(3, "app_id", I32),
        Field(4, "partition_index", I32),
        Field(5, "decree", I64),
        Field(6, "server", STRING),
    )


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
    THRIFT: ClassVar = (
        Field(1, "hash_key", BLOB),
        Field(2, "check_sort_key", BLOB),
        Field(3, "check_type", I32),
        Field(4, "check_operand", BLOB),
        Field(5, "set_diff_sort_key", BOOL),
        Field(6, "set_sort_key", BLOB),
        Field(7, "set_value", BLOB),
        Field(8, "set_expire_ts_seconds", I32),
        Field(9, "return_check_value", BOOL),
    )


@frozen
class CheckAndSetResponse:
    error: int = 0
    check_value_returned: bool = False
    check_value_exist: bool = False
    check_value: bytes = b""
    app_id: int = 0
    partition_index: int = 0
    decree: int = 0
    server: str = ""
    THRIFT: ClassVar = (
        Field(1, "error", I32),
        Field(2, "check_value_returned", BOOL),
        Field(3, "check_value_exist", BOOL),
        Field(4, "check_value", BLOB),
        Field(5, "app_id", I32),
        Field(6, "partition_index", I32),
        Field(7, "decree", I64),
        Field(8, "server", STRING),
    )


@frozen
class Mutate:
    operation: int = 0
    sort_key: bytes = b""
    value: bytes = b""
    set_expire_ts_seconds: int = 0
    THRIFT: ClassVar = (
        Field(1, "operation", I32),
        Field(2, "sort_key", BLOB),
        Field(3, "value", BLOB),
        Field(4, "set_expire_ts_seconds", I32),
    )


@frozen
class CheckAndMutateRequest:
    hash_key: bytes = b""
    check_sort_key: bytes = b""
    check_type: int = 0
    check_operand: bytes = b""
    mutate_list: list[Mutate] = field(default_factory=list)
    return_check_value: bool = False
    THRIFT: ClassVar = (
        Field(1, "hash_key", BLOB),
        Field(2, "check_sort_key", BLOB),
        Field(3, "check_type", I32),
        Field(4, "check_operand", BLOB),
        Field(5, "mutate_list", ListOf(Mutate)),
        Field(6, "return_check_value", BOOL),
    )


@frozen
class CheckAndMutateResponse:
    error: int = 0
    check_value_returned: bool = False
    check_value_exist: bool = False
    check_value: bytes = b""
    app_id: int = 0
    partition_index: int = 0
    decree: int = 0
    server: str = ""
    THRIFT: ClassVar = CheckAndSetResponse.THRIFT


@frozen
class GetScannerRequest:
    start_key: bytes = b""
    stop_key: bytes = b""
    start_inclusive: bool = False
    stop_inclusive: bool = False
    batch_size: int = 0
    no_value: bool = False
    hash_key_filter_type: int = 0
    hash_key_filter_pattern: bytes = b""
    sort_key_filter_type: int = 0
    sort_key_filter_pattern: bytes = b""
    validate_partition_hash: bool | None = None
    return_expire_ts: bool | None = None
    full_scan: bool | None = None
    only_return_count: bool | None = None
    THRIFT: ClassVar = (
        Field(1, "start_key", BLOB),
        Field(2, "stop_key", BLOB),
        Field(3, "start_inclusive", BOOL),
        Field(4, "stop_inclusive", BOOL),
        Field(5, "batch_size", I32),
        Field(6, "no_value", BOOL),
        Field(7, "hash_key_filter_type", I32),
        Field(8, "hash_key_filter_pattern", BLOB),
        Field(9, "sort_key_filter_type", I32),
        Field(10, "sort_key_filter_pattern", BLOB),
        Field(11, "validate_partition_hash", BOOL, optional=True),
        Field(12, "return_expire_ts", BOOL, optional=True),
        Field(13, "full_scan", BOOL, optional=True),
        Field(14, "only_return_count", BOOL, optional=True),
    )


@frozen
class ScanRequest:
    context_id: int = 0
    THRIFT: ClassVar = (Field(1, "context_id", I64),)


@frozen
class ScanResponse:
    error: int = 0
    kvs: list[KeyValue] = field(default_factory=list)
    context_id: int = 0
    app_id: int = 0
    partition_index: int = 0
    server: str = ""
    kv_count: int | None = None
    THRIFT: ClassVar = (
        Field(1, "error", I32),
        Field(2, "kvs", ListOf(KeyValue)),
        Field(3, "context_id", I64),
        Field(4, "app_id", I32),
        Field(5, "partition_index", I32),
        Field(6, "server", STRING),
        Field(7, "kv_count", I32, optional=True),
    )


# ---- meta: routing table ---------------------------------------------------------------


@frozen
class PartitionConfiguration:
    pid: Gpid = Gpid(0, 0)
    ballot: int = 0
    max_replica_count: int = 0
    primary: RpcAddress = RpcAddress("", 0)
    secondaries: list[RpcAddress] = field(default_factory=list)
    last_drops: list[RpcAddress] = field(default_factory=list)
    last_committed_decree: int = 0
    partition_flags: int = 0
    hp_primary: HostPort | None = None
    hp_secondaries: list[HostPort] | None = None
    hp_last_drops: list[HostPort] | None = None
    THRIFT: ClassVar = (
        Field(1, "pid", GPID),
        Field(2, "ballot", I64),
        Field(3, "max_replica_count", I32),
        Field(4, "primary", RPC_ADDRESS),
        Field(5, "secondaries", ListOf(RPC_ADDRESS)),
        Field(6, "last_drops", ListOf(RPC_ADDRESS)),
        Field(7, "last_committed_decree", I64),
        Field(8, "partition_flags", I32),
        Field(9, "hp_primary", HOST_PORT, optional=True),
        Field(10, "hp_secondaries", ListOf(HOST_PORT), optional=True),
        Field(11, "hp_last_drops", ListOf(HOST_PORT), optional=True),
    )


@frozen
class QueryCfgRequest:
    app_name: str = ""
    partition_indices: list[int] = field(default_factory=list)
    THRIFT: ClassVar = (
        Field(1, "app_name", STRING),
        Field(2, "partition_indices", ListOf(I32)),
    )


@frozen
class QueryCfgResponse:
    err: str = "ERR_OK"
    app_id: int = 0
    partition_count: int = 0
    is_stateful: bool = True
    partitions: list[PartitionConfiguration] = field(default_factory=list)
    THRIFT: ClassVar = (
        Field(1, "err", ERROR_CODE),
        Field(2, "app_id", I32),
        Field(3, "partition_count", I32),
        Field(4, "is_stateful", BOOL),
        Field(5, "partitions", ListOf(PartitionConfiguration)),
    )


@frozen
class RequestMetaV1:
    """The meta struct of a v1 request header (src/rpc/request_meta.thrift)."""

    app_id: int | None = None
    partition_index: int | None = None
    client_timeout: int | None = None
    client_partition_hash: int | None = None
    is_backup_request: bool | None = None
    THRIFT: ClassVar = (
        Field(1, "app_id", I32, optional=True),
        Field(2, "partition_index", I32, optional=True),
        Field(3, "client_timeout", I32, optional=True),
        Field(4, "client_partition_hash", I64, optional=True),
        Field(5, "is_backup_request", BOOL, optional=True),
    )


# ---- the RPC table ---------------------------------------------------------------------


@frozen
class RpcSpec:
    """One RPC: its wire name, argument type (the args struct has field 1 of this type),
    result type (the result struct has field 0 of this type), and whether it is one-way."""

    name: str
    arg: TypeSpec
    result: TypeSpec | None
    oneway: bool = False
    is_write: bool = False

    @property
    def ack_name(self) -> str:
        return self.name + "_ACK"


RRDB_PUT = RpcSpec("RPC_RRDB_RRDB_PUT", UpdateRequest, UpdateResponse, is_write=True)
RRDB_MULTI_PUT = RpcSpec("RPC_RRDB_RRDB_MULTI_PUT", MultiPutRequest, UpdateResponse, is_write=True)
RRDB_REMOVE = RpcSpec("RPC_RRDB_RRDB_REMOVE", BLOB, UpdateResponse, is_write=True)
RRDB_MULTI_REMOVE = RpcSpec(
    "RPC_RRDB_RRDB_MULTI_REMOVE", MultiRemoveRequest, MultiRemoveResponse, is_write=True
)
RRDB_INCR = RpcSpec("RPC_RRDB_RRDB_INCR", IncrRequest, IncrResponse, is_write=True)
RRDB_CHECK_AND_SET = RpcSpec(
    "RPC_RRDB_RRDB_CHECK_AND_SET", CheckAndSetRequest, CheckAndSetResponse, is_write=True
)
RRDB_CHECK_AND_MUTATE = RpcSpec(
    "RPC_RRDB_RRDB_CHECK_AND_MUTATE", CheckAndMutateRequest, CheckAndMutateResponse, is_write=True
)
RRDB_GET = RpcSpec("RPC_RRDB_RRDB_GET", BLOB, ReadResponse)
RRDB_MULTI_GET = RpcSpec("RPC_RRDB_RRDB_MULTI_GET", MultiGetRequest, MultiGetResponse)
RRDB_BATCH_GET = RpcSpec("RPC_RRDB_RRDB_BATCH_GET", BatchGetRequest, BatchGetResponse)
RRDB_SORTKEY_COUNT = RpcSpec("RPC_RRDB_RRDB_SORTKEY_COUNT", BLOB, CountResponse)
RRDB_TTL = RpcSpec("RPC_RRDB_RRDB_TTL", BLOB, TtlResponse)
RRDB_GET_SCANNER = RpcSpec("RPC_RRDB_RRDB_GET_SCANNER", GetScannerRequest, ScanResponse)
RRDB_SCAN = RpcSpec("RPC_RRDB_RRDB_SCAN", ScanRequest, ScanResponse)
RRDB_CLEAR_SCANNER = RpcSpec("RPC_RRDB_RRDB_CLEAR_SCANNER", I64, None, oneway=True)
CM_QUERY_PARTITION_CONFIG = RpcSpec(
    "RPC_CM_QUERY_PARTITION_CONFIG_BY_INDEX", QueryCfgRequest, QueryCfgResponse
)

RRDB_RPCS: tuple[RpcSpec, ...] = (
    RRDB_PUT,
    RRDB_MULTI_PUT,
    RRDB_REMOVE,
    RRDB_MULTI_REMOVE,
    RRDB_INCR,
    RRDB_CHECK_AND_SET,
    RRDB_CHECK_AND_MUTATE,
    RRDB_GET,
    RRDB_MULTI_GET,
    RRDB_BATCH_GET,
    RRDB_SORTKEY_COUNT,
    RRDB_TTL,
    RRDB_GET_SCANNER,
    RRDB_SCAN,
    RRDB_CLEAR_SCANNER,
)

__all__ = ["CasCheckType", "FilterType", "MutateOperation", "UpdateType"]

RPC_BY_NAME: dict[str, RpcSpec] = {r.name: r for r in (*RRDB_RPCS, CM_QUERY_PARTITION_CONFIG)}
