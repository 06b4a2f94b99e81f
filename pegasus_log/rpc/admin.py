"""Meta server messages: table DDL, app envs, nodes, cluster info, meta level, and the
replica-server <-> meta protocol (beacons, config sync, configuration updates).

Field ids and names follow Apache Pegasus's IDL (idl/meta_admin.thrift,
idl/dsn.layer2.thrift, idl/metadata.thrift, src/failure_detector/fd.thrift) so that the
official admin clients understand us.
"""

from __future__ import annotations

from dataclasses import field
from enum import IntEnum
from typing import ClassVar

from pegasus_log.frozen import frozen
from pegasus_log.rpc.messages import PartitionConfiguration, RpcSpec
from pegasus_log.rpc.thrift import (
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
    MapOf,
    RpcAddress,
    SetOf,
)

_NO_ADDRESS = RpcAddress("", 0)


class AppStatus(IntEnum):
    AS_INVALID = 0
    AS_AVAILABLE = 1
    AS_CREATING = 2
    AS_CREATE_FAILED = 3
    AS_DROPPING = 4
    AS_DROP_FAILED = 5
    AS_DROPPED = 6
    AS_RECALLING = 7


class ConfigType(IntEnum):
    CT_INVALID = 0
    CT_ASSIGN_PRIMARY = 1
    CT_UPGRADE_TO_PRIMARY = 2
    CT_ADD_SECONDARY = 3
    CT_UPGRADE_TO_SECONDARY = 4
    CT_DOWNGRADE_TO_SECONDARY = 5
    CT_DOWNGRADE_TO_INACTIVE = 6
    CT_REMOVE = 7
    CT_ADD_SECONDARY_FOR_LB = 8
    CT_PRIMARY_FORCE_UPDATE_BALLOT = 9
    CT_DROP_PARTITION = 10
    CT_REGISTER_CHILD = 11


class NodeStatus(IntEnum):
    NS_INVALID = 0
    NS_ALIVE = 1
    NS_UNALIVE = 2


class PartitionStatus(IntEnum):
    PS_INVALID = 0
    PS_INACTIVE = 1
    PS_ERROR = 2
    PS_PRIMARY = 3
    PS_SECONDARY = 4
    PS_POTENTIAL_SECONDARY = 5
    PS_PARTITION_SPLIT = 6


class MetaFunctionLevel(IntEnum):
    fl_stopped = 100
    fl_blind = 200
    fl_freezed = 300
    fl_steady = 400
    fl_lively = 500
    fl_invalid = 10000


class PatternMatchType(IntEnum):
    PMT_INVALID = 0
    PMT_MATCH_ALL = 1
    PMT_MATCH_EXACT = 2
    PMT_MATCH_ANYWHERE = 3
    PMT_MATCH_PREFIX = 4
    PMT_MATCH_POSTFIX = 5
    PMT_MATCH_REGEX = 6


class AppEnvOperation(IntEnum):
    APP_ENV_OP_INVALID = 0
    APP_ENV_OP_SET = 1
    APP_ENV_OP_DEL = 2
    APP_ENV_OP_CLEAR = 3


@frozen
class AppInfoMessage:
    """dsn.layer2.app_info."""

    status: int = AppStatus.AS_INVALID
    app_type: str = "pegasus"
    app_name: str = ""
    app_id: int = 0
    partition_count: int = 0
    envs: dict[str, str] = field(default_factory=dict)
    is_stateful: bool = True
    max_replica_count: int = 0
    expire_second: int = 0
    create_second: int = 0
    drop_second: int = 0
    duplicating: bool | None = None
    init_partition_count: int = -1
    is_bulk_loading: bool | None = None
    atomic_idempotent: bool | None = None
    THRIFT: ClassVar = (
        Field(1, "status", I32),
        Field(2, "app_type", STRING),
        Field(3, "app_name", STRING),
        Field(4, "app_id", I32),
        Field(5, "partition_count", I32),
        Field(6, "envs", MapOf(STRING, STRING)),
        Field(7, "is_stateful", BOOL),
        Field(8, "max_replica_count", I32),
        Field(9, "expire_second", I64),
        Field(10, "create_second", I64),
        Field(11, "drop_second", I64),
        Field(12, "duplicating", BOOL, optional=True),
        Field(13, "init_partition_count", I32),
        Field(14, "is_bulk_loading", BOOL, optional=True),
        Field(15, "atomic_idempotent", BOOL, optional=True),
    )


# ---- DDL -------------------------------------------------------------------------------


@frozen
class CreateAppOptions:
    partition_count: int = 0
    replica_count: int = 0
    success_if_exist: bool = False
    app_type: str = "pegasus"
    is_stateful: bool = True
    envs: dict[str, str] = field(default_factory=dict)
    atomic_idempotent: bool | None = None
    THRIFT: ClassVar = (
        Field(1, "partition_count", I32),
        Field(2, "replica_count", I32),
        Field(3, "success_if_exist", BOOL),
        Field(4, "app_type", STRING),
        Field(5, "is_stateful", BOOL),
        Field(6, "envs", MapOf(STRING, STRING)),
        Field(7, "atomic_idempotent", BOOL, optional=True),
    )


@frozen
class CreateAppRequest:
    app_name: str = ""
    options: CreateAppOptions = CreateAppOptions()
    THRIFT: ClassVar = (Field(1, "app_name", STRING), Field(2, "options", CreateAppOptions))


@frozen
class CreateAppResponse:
    err: str = "ERR_OK"
    appid: int = 0
    THRIFT: ClassVar = (Field(1, "err", ERROR_CODE), Field(2, "appid", I32))


@frozen
class DropAppOptions:
    success_if_not_exist: bool = False
    reserve_seconds: int | None = None
    THRIFT: ClassVar = (
        Field(1, "success_if_not_exist", BOOL),
        Field(2, "reserve_seconds", I64, optional=True),
    )


@frozen
class DropAppRequest:
    app_name: str = ""
    options: DropAppOptions = DropAppOptions()
    THRIFT: ClassVar = (Field(1, "app_name", STRING), Field(2, "options", DropAppOptions))


@frozen
class DropAppResponse:
    err: str = "ERR_OK"
    THRIFT: ClassVar = (Field(1, "err", ERROR_CODE),)


@frozen
class RecallAppRequest:
    app_id: int = 0
    new_app_name: str = ""
    THRIFT: ClassVar = (Field(1, "app_id", I32), Field(2, "new_app_name", STRING))


@frozen
class RecallAppResponse:
    err: str = "ERR_OK"
    info: AppInfoMessage = AppInfoMessage()
    THRIFT: ClassVar = (Field(1, "err", ERROR_CODE), Field(2, "info", AppInfoMessage))


@frozen
class ListAppsRequest:
    status: int = AppStatus.AS_INVALID
    app_name_pattern: str | None = None
    match_type: int | None = None
    THRIFT: ClassVar = (
        Field(1, "status", I32),
        Field(2, "app_name_pattern", STRING, optional=True),
        Field(3, "match_type", I32, optional=True),
    )


@frozen
class ListAppsResponse:
    err: str = "ERR_OK"
    infos: list[AppInfoMessage] = field(default_factory=list)
    hint_message: str | None = None
    THRIFT: ClassVar = (
        Field(1, "err", ERROR_CODE),
        Field(2, "infos", ListOf(AppInfoMessage)),
        Field(3, "hint_message", STRING, optional=True),
    )


@frozen
class UpdateAppEnvRequest:
    app_name: str = ""
    op: int = AppEnvOperation.APP_ENV_OP_INVALID
    keys: list[str] | None = None
    values: list[str] | None = None
    clear_prefix: str | None = None
    THRIFT: ClassVar = (
        Field(1, "app_name", STRING),
        Field(2, "op", I32),
        Field(3, "keys", ListOf(STRING), optional=True),
        Field(4, "values", ListOf(STRING), optional=True),
        Field(5, "clear_prefix", STRING, optional=True),
    )


@frozen
class UpdateAppEnvResponse:
    err: str = "ERR_OK"
    hint_message: str = ""
    THRIFT: ClassVar = (Field(1, "err", ERROR_CODE), Field(2, "hint_message", STRING))


# ---- nodes, cluster, meta level --------------------------------------------------------


@frozen
class NodeInfo:
    status: int = NodeStatus.NS_INVALID
    node: RpcAddress = _NO_ADDRESS
    hp_node: HostPort | None = None
    THRIFT: ClassVar = (
        Field(1, "status", I32),
        Field(2, "node", RPC_ADDRESS),
        Field(3, "hp_node", HOST_PORT, optional=True),
    )


@frozen
class ListNodesRequest:
    status: int = NodeStatus.NS_INVALID
    THRIFT: ClassVar = (Field(1, "status", I32),)


@frozen
class ListNodesResponse:
    err: str = "ERR_OK"
    infos: list[NodeInfo] = field(default_factory=list)
    THRIFT: ClassVar = (Field(1, "err", ERROR_CODE), Field(2, "infos", ListOf(NodeInfo)))


@frozen
class ClusterInfoRequest:
    THRIFT: ClassVar = ()


@frozen
class ClusterInfoResponse:
    err: str = "ERR_OK"
    keys: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    THRIFT: ClassVar = (
        Field(1, "err", ERROR_CODE),
        Field(2, "keys", ListOf(STRING)),
        Field(3, "values", ListOf(STRING)),
    )


@frozen
class MetaControlRequest:
    level: int = MetaFunctionLevel.fl_invalid
    THRIFT: ClassVar = (Field(1, "level", I32),)


@frozen
class MetaControlResponse:
    err: str = "ERR_OK"
    old_level: int = MetaFunctionLevel.fl_invalid
    THRIFT: ClassVar = (Field(1, "err", ERROR_CODE), Field(2, "old_level", I32))


@frozen
class QueryAppInfoRequest:
    meta_server: RpcAddress = _NO_ADDRESS
    hp_meta_server: HostPort | None = None
    THRIFT: ClassVar = (
        Field(1, "meta_server", RPC_ADDRESS),
        Field(2, "hp_meta_server", HOST_PORT, optional=True),
    )


@frozen
class QueryAppInfoResponse:
    err: str = "ERR_OK"
    apps: list[AppInfoMessage] = field(default_factory=list)
    THRIFT: ClassVar = (Field(1, "err", ERROR_CODE), Field(2, "apps", ListOf(AppInfoMessage)))


# ---- disks of a replica server (replica_admin.thrift) ----------------------------------


@frozen
class DiskInfo:
    tag: str = ""
    full_dir: str = ""
    disk_capacity_mb: int = 0
    disk_available_mb: int = 0
    # app id -> the partitions of it this disk holds as primary / as secondary
    holding_primary_replicas: dict[int, list[Gpid]] = field(default_factory=dict)
    holding_secondary_replicas: dict[int, list[Gpid]] = field(default_factory=dict)
    THRIFT: ClassVar = (
        Field(1, "tag", STRING),
        Field(2, "full_dir", STRING),
        Field(3, "disk_capacity_mb", I64),
        Field(4, "disk_available_mb", I64),
        Field(5, "holding_primary_replicas", MapOf(I32, SetOf(GPID))),
        Field(6, "holding_secondary_replicas", MapOf(I32, SetOf(GPID))),
    )


@frozen
class QueryDiskInfoRequest:
    node1: RpcAddress = _NO_ADDRESS
    # "" for every table, else one table's name (ERR_OBJECT_NOT_FOUND if none is held)
    app_name: str = ""
    hp_node1: HostPort | None = None
    THRIFT: ClassVar = (
        Field(1, "node1", RPC_ADDRESS),
        Field(2, "app_name", STRING),
        Field(3, "hp_node1", HOST_PORT, optional=True),
    )


@frozen
class QueryDiskInfoResponse:
    err: str = "ERR_OK"
    total_capacity_mb: int = 0
    total_available_mb: int = 0
    disk_infos: list[DiskInfo] = field(default_factory=list)
    THRIFT: ClassVar = (
        Field(1, "err", ERROR_CODE),
        Field(2, "total_capacity_mb", I64),
        Field(3, "total_available_mb", I64),
        Field(4, "disk_infos", ListOf(DiskInfo)),
    )


# ---- replica server <-> meta -----------------------------------------------------------


@frozen
class BeaconMsg:
    time: int = 0
    from_node: RpcAddress = _NO_ADDRESS
    to_node: RpcAddress = _NO_ADDRESS
    start_time: int | None = None
    hp_from_node: HostPort | None = None
    hp_to_node: HostPort | None = None
    THRIFT: ClassVar = (
        Field(1, "time", I64),
        Field(2, "from_node", RPC_ADDRESS),
        Field(3, "to_node", RPC_ADDRESS),
        Field(4, "start_time", I64, optional=True),
        Field(5, "hp_from_node", HOST_PORT, optional=True),
        Field(6, "hp_to_node", HOST_PORT, optional=True),
    )


@frozen
class BeaconAck:
    time: int = 0
    this_node: RpcAddress = _NO_ADDRESS
    primary_node: RpcAddress = _NO_ADDRESS
    is_master: bool = False
    allowed: bool = False
    hp_this_node: HostPort | None = None
    hp_primary_node: HostPort | None = None
    THRIFT: ClassVar = (
        Field(1, "time", I64),
        Field(2, "this_node", RPC_ADDRESS),
        Field(3, "primary_node", RPC_ADDRESS),
        Field(4, "is_master", BOOL),
        Field(5, "allowed", BOOL),
        Field(6, "hp_this_node", HOST_PORT, optional=True),
        Field(7, "hp_primary_node", HOST_PORT, optional=True),
    )


@frozen
class ReplicaInfo:
    """metadata.replica_info: what a replica server reports of one stored replica."""

    pid: Gpid = Gpid(0, 0)
    ballot: int = 0
    status: int = PartitionStatus.PS_INVALID
    last_committed_decree: int = 0
    last_prepared_decree: int = 0
    last_durable_decree: int = 0
    app_type: str = "pegasus"
    disk_tag: str = ""
    # metadata.manual_compaction_status (ManualCompactStatus); None: not said (IDLE)
    manual_compact_status: int | None = None
    THRIFT: ClassVar = (
        Field(1, "pid", GPID),
        Field(2, "ballot", I64),
        Field(3, "status", I32),
        Field(4, "last_committed_decree", I64),
        Field(5, "last_prepared_decree", I64),
        Field(6, "last_durable_decree", I64),
        Field(7, "app_type", STRING),
        Field(8, "disk_tag", STRING),
        Field(9, "manual_compact_status", I32, optional=True),
    )


class HotkeyType(IntEnum):
    """replica_admin.hotkey_type."""

    READ = 0
    WRITE = 1


class DetectAction(IntEnum):
    """replica_admin.detect_action."""

    START = 0
    STOP = 1
    QUERY = 2


@frozen
class DetectHotkeyRequest:
    """replica_admin.detect_hotkey_request (the shell's ``detect_hotkey``), sent to the
    replica server holding the partition."""

    type: int = HotkeyType.READ
    action: int = DetectAction.START
    pid: Gpid = Gpid(0, 0)
    THRIFT: ClassVar = (Field(1, "type", I32), Field(2, "action", I32), Field(3, "pid", GPID))


@frozen
class DetectHotkeyResponse:
    err: str = "ERR_OK"
    err_hint: str | None = None
    hotkey_result: str | None = None
    THRIFT: ClassVar = (
        Field(1, "err", ERROR_CODE),
        Field(2, "err_hint", STRING, optional=True),
        Field(3, "hotkey_result", STRING, optional=True),
    )


class ManualCompactStatus(IntEnum):
    """metadata.manual_compaction_status: where a replica's manual compaction is."""

    IDLE = 0
    QUEUING = 1
    RUNNING = 2
    FINISHED = 3


@frozen
class StartAppManualCompactRequest:
    """meta_admin.start_app_manual_compact_request (admin-cli's ``manual-compaction
    start``): the table, and what the replicas' once-compaction envs are to say."""

    app_name: str = ""
    trigger_time: int | None = None
    target_level: int | None = None
    bottommost: bool | None = None
    max_running_count: int | None = None
    THRIFT: ClassVar = (
        Field(1, "app_name", STRING),
        Field(2, "trigger_time", I64, optional=True),
        Field(3, "target_level", I32, optional=True),
        Field(4, "bottommost", BOOL, optional=True),
        Field(5, "max_running_count", I32, optional=True),
    )


@frozen
class StartAppManualCompactResponse:
    err: str = "ERR_OK"
    hint_msg: str = ""
    THRIFT: ClassVar = (Field(1, "err", ERROR_CODE), Field(2, "hint_msg", STRING))


@frozen
class QueryAppManualCompactRequest:
    app_name: str = ""
    THRIFT: ClassVar = (Field(1, "app_name", STRING),)


@frozen
class QueryAppManualCompactResponse:
    err: str = "ERR_OK"
    hint_msg: str = ""
    progress: int | None = None
    THRIFT: ClassVar = (
        Field(1, "err", ERROR_CODE),
        Field(2, "hint_msg", STRING),
        Field(3, "progress", I32, optional=True),
    )


@frozen
class QueryReplicaInfoRequest:
    """replica_admin.query_replica_info_request: every replica a replica server stores."""

    node1: RpcAddress = _NO_ADDRESS
    hp_node1: HostPort | None = None
    THRIFT: ClassVar = (
        Field(1, "node1", RPC_ADDRESS),
        Field(2, "hp_node1", HOST_PORT, optional=True),
    )


@frozen
class QueryReplicaInfoResponse:
    err: str = "ERR_OK"
    replicas: list[ReplicaInfo] = field(default_factory=list)
    THRIFT: ClassVar = (Field(1, "err", ERROR_CODE), Field(2, "replicas", ListOf(ReplicaInfo)))


@frozen
class ConfigurationRecoveryRequest:
    """meta_admin.configuration_recovery_request (the shell's ``recover``)."""

    recovery_nodes: list[RpcAddress] = field(default_factory=list)
    skip_bad_nodes: bool = False
    skip_lost_partitions: bool = False
    hp_recovery_nodes: list[HostPort] | None = None
    THRIFT: ClassVar = (
        Field(1, "recovery_nodes", ListOf(RPC_ADDRESS)),
        Field(2, "skip_bad_nodes", BOOL),
        Field(3, "skip_lost_partitions", BOOL),
        Field(4, "hp_recovery_nodes", ListOf(HOST_PORT), optional=True),
    )


@frozen
class ConfigurationRecoveryResponse:
    err: str = "ERR_OK"
    hint_message: str = ""
    THRIFT: ClassVar = (Field(1, "err", ERROR_CODE), Field(2, "hint_message", STRING))


@frozen
class ConfigurationUpdateRequest:
    info: AppInfoMessage = AppInfoMessage()
    config: PartitionConfiguration = PartitionConfiguration()
    type: int = ConfigType.CT_INVALID
    node: RpcAddress = _NO_ADDRESS
    host_node: RpcAddress = _NO_ADDRESS
    THRIFT: ClassVar = (
        Field(1, "info", AppInfoMessage),
        Field(2, "config", PartitionConfiguration),
        Field(3, "type", I32),
        Field(4, "node", RPC_ADDRESS),
        Field(5, "host_node", RPC_ADDRESS),
    )


@frozen
class ConfigurationUpdateResponse:
    err: str = "ERR_OK"
    config: PartitionConfiguration = PartitionConfiguration()
    THRIFT: ClassVar = (Field(1, "err", ERROR_CODE), Field(2, "config", PartitionConfiguration))


@frozen
class ConfigurationQueryByNodeRequest:
    node: RpcAddress = _NO_ADDRESS
    stored_replicas: list[ReplicaInfo] | None = None
    THRIFT: ClassVar = (
        Field(1, "node", RPC_ADDRESS),
        Field(2, "stored_replicas", ListOf(ReplicaInfo), optional=True),
    )


@frozen
class ConfigurationQueryByNodeResponse:
    err: str = "ERR_OK"
    partitions: list[ConfigurationUpdateRequest] = field(default_factory=list)
    gc_replicas: list[ReplicaInfo] | None = None
    THRIFT: ClassVar = (
        Field(1, "err", ERROR_CODE),
        Field(2, "partitions", ListOf(ConfigurationUpdateRequest)),
        Field(3, "gc_replicas", ListOf(ReplicaInfo), optional=True),
    )


# ---- manual balancing (meta_admin.thrift) ----------------------------------------------


class BalancerRequestType(IntEnum):
    move_primary = 0
    copy_primary = 1
    copy_secondary = 2


@frozen
class ConfigurationProposalAction:
    """One step of a manual balancer proposal: ``target`` carries it out, ``node`` is the
    node it is about (field 4, a period, is retired upstream)."""

    target: RpcAddress = _NO_ADDRESS
    node: RpcAddress = _NO_ADDRESS
    type: int = ConfigType.CT_INVALID
    hp_target: HostPort | None = None
    hp_node: HostPort | None = None
    THRIFT: ClassVar = (
        Field(1, "target", RPC_ADDRESS),
        Field(2, "node", RPC_ADDRESS),
        Field(3, "type", I32),
        Field(5, "hp_target", HOST_PORT, optional=True),
        Field(6, "hp_node", HOST_PORT, optional=True),
    )


@frozen
class ConfigurationBalancerRequest:
    gpid: Gpid = Gpid(0, 0)
    action_list: list[ConfigurationProposalAction] = field(default_factory=list)
    force: bool | None = None
    balance_type: int | None = None
    THRIFT: ClassVar = (
        Field(1, "gpid", GPID),
        Field(2, "action_list", ListOf(ConfigurationProposalAction)),
        Field(3, "force", BOOL, optional=True),
        Field(4, "balance_type", I32, optional=True),
    )


@frozen
class ConfigurationBalancerResponse:
    err: str = "ERR_OK"
    THRIFT: ClassVar = (Field(1, "err", ERROR_CODE),)


# ---- partitions whose every replica died (meta_admin.thrift's ddd_diagnose) -----------

# What a ddd_node_info carries for a replica server that has not reported a replica of
# the partition (upstream's invalid_ballot and invalid_decree).
INVALID_BALLOT = -1
INVALID_DECREE = -1


# ---- a table's replica count (idl/meta_admin.thrift) -------------------------------------


@frozen
class GetMaxReplicaCountRequest:
    app_name: str = ""
    THRIFT: ClassVar = (Field(1, "app_name", STRING),)


@frozen
class GetMaxReplicaCountResponse:
    err: str = "ERR_OK"
    max_replica_count: int = 0
    hint_message: str = ""
    THRIFT: ClassVar = (
        Field(1, "err", ERROR_CODE),
        Field(2, "max_replica_count", I32),
        Field(3, "hint_message", STRING),
    )


@frozen
class SetMaxReplicaCountRequest:
    app_name: str = ""
    max_replica_count: int = 0
    THRIFT: ClassVar = (Field(1, "app_name", STRING), Field(2, "max_replica_count", I32))


@frozen
class GetAtomicIdempotentRequest:
    app_name: str = ""
    THRIFT: ClassVar = (Field(1, "app_name", STRING),)


@frozen
class GetAtomicIdempotentResponse:
    err: str = "ERR_OK"
    atomic_idempotent: bool = False
    hint_message: str = ""
    THRIFT: ClassVar = (
        Field(1, "err", ERROR_CODE),
        Field(2, "atomic_idempotent", BOOL),
        Field(3, "hint_message", STRING),
    )


@frozen
class SetAtomicIdempotentRequest:
    app_name: str = ""
    atomic_idempotent: bool = False
    THRIFT: ClassVar = (Field(1, "app_name", STRING), Field(2, "atomic_idempotent", BOOL))


@frozen
class SetAtomicIdempotentResponse:
    err: str = "ERR_OK"
    old_atomic_idempotent: bool = False
    hint_message: str = ""
    THRIFT: ClassVar = (
        Field(1, "err", ERROR_CODE),
        Field(2, "old_atomic_idempotent", BOOL),
        Field(3, "hint_message", STRING),
    )


@frozen
class SetMaxReplicaCountResponse:
    err: str = "ERR_OK"
    old_max_replica_count: int = 0
    hint_message: str = ""
    THRIFT: ClassVar = (
        Field(1, "err", ERROR_CODE),
        Field(2, "old_max_replica_count", I32),
        Field(3, "hint_message", STRING),
    )


@frozen
class RenameAppRequest:
    old_app_name: str = ""
    new_app_name: str = ""
    THRIFT: ClassVar = (Field(1, "old_app_name", STRING), Field(2, "new_app_name", STRING))


@frozen
class RenameAppResponse:
    err: str = "ERR_OK"
    hint_message: str = ""
    THRIFT: ClassVar = (Field(1, "err", ERROR_CODE), Field(2, "hint_message", STRING))


@frozen
class DddDiagnoseRequest:
    """``pid``: app_id -1 for every table, partition_index -1 for every partition."""

    pid: Gpid = Gpid(-1, -1)
    THRIFT: ClassVar = (Field(1, "pid", GPID),)


@frozen
class DddNodeInfo:
    """One dropped member of a partition with no member left, as the meta knows it."""

    node: RpcAddress = _NO_ADDRESS
    drop_time_ms: int = 0
    is_alive: bool = False
    is_collected: bool = False  # it has synced with the meta since it came back
    ballot: int = INVALID_BALLOT
    last_committed_decree: int = INVALID_DECREE
    last_prepared_decree: int = INVALID_DECREE
    hp_node: HostPort | None = None
    THRIFT: ClassVar = (
        Field(1, "node", RPC_ADDRESS),
        Field(2, "drop_time_ms", I64),
        Field(3, "is_alive", BOOL),
        Field(4, "is_collected", BOOL),
        Field(5, "ballot", I64),
        Field(6, "last_committed_decree", I64),
        Field(7, "last_prepared_decree", I64),
        Field(8, "hp_node", HOST_PORT, optional=True),
    )


@frozen
class DddPartitionInfo:
    config: PartitionConfiguration = PartitionConfiguration()
    dropped: list[DddNodeInfo] = field(default_factory=list)
    reason: str = ""
    THRIFT: ClassVar = (
        Field(1, "config", PartitionConfiguration),
        Field(2, "dropped", ListOf(DddNodeInfo)),
        Field(3, "reason", STRING),
    )


@frozen
class DddDiagnoseResponse:
    err: str = "ERR_OK"
    partitions: list[DddPartitionInfo] = field(default_factory=list)
    THRIFT: ClassVar = (
        Field(1, "err", ERROR_CODE),
        Field(2, "partitions", ListOf(DddPartitionInfo)),
    )


# ---- the RPC table ---------------------------------------------------------------------

CM_CREATE_APP = RpcSpec("RPC_CM_CREATE_APP", CreateAppRequest, CreateAppResponse)
CM_DROP_APP = RpcSpec("RPC_CM_DROP_APP", DropAppRequest, DropAppResponse)
CM_RECALL_APP = RpcSpec("RPC_CM_RECALL_APP", RecallAppRequest, RecallAppResponse)
CM_LIST_APPS = RpcSpec("RPC_CM_LIST_APPS", ListAppsRequest, ListAppsResponse)
CM_UPDATE_APP_ENV = RpcSpec("RPC_CM_UPDATE_APP_ENV", UpdateAppEnvRequest, UpdateAppEnvResponse)
CM_LIST_NODES = RpcSpec("RPC_CM_LIST_NODES", ListNodesRequest, ListNodesResponse)
CM_CLUSTER_INFO = RpcSpec("RPC_CM_CLUSTER_INFO", ClusterInfoRequest, ClusterInfoResponse)
CM_CONTROL_META = RpcSpec("RPC_CM_CONTROL_META", MetaControlRequest, MetaControlResponse)
QUERY_APP_INFO = RpcSpec("RPC_QUERY_APP_INFO", QueryAppInfoRequest, QueryAppInfoResponse)
QUERY_DISK_INFO = RpcSpec("RPC_QUERY_DISK_INFO", QueryDiskInfoRequest, QueryDiskInfoResponse)
DETECT_HOTKEY = RpcSpec("RPC_DETECT_HOTKEY", DetectHotkeyRequest, DetectHotkeyResponse)
QUERY_REPLICA_INFO = RpcSpec(
    "RPC_QUERY_REPLICA_INFO", QueryReplicaInfoRequest, QueryReplicaInfoResponse
)
CM_START_RECOVERY = RpcSpec(
    "RPC_CM_START_RECOVERY", ConfigurationRecoveryRequest, ConfigurationRecoveryResponse
)
FD_BEACON = RpcSpec("RPC_FD_FAILURE_DETECTOR_PING", BeaconMsg, BeaconAck)
CM_CONFIG_SYNC = RpcSpec(
    "RPC_CM_CONFIG_SYNC", ConfigurationQueryByNodeRequest, ConfigurationQueryByNodeResponse
)
CM_UPDATE_PARTITION_CONFIGURATION = RpcSpec(
    "RPC_CM_UPDATE_PARTITION_CONFIGURATION",
    ConfigurationUpdateRequest,
    ConfigurationUpdateResponse,
)
CONFIG_PROPOSAL = RpcSpec("RPC_CONFIG_PROPOSAL", ConfigurationUpdateRequest, None, oneway=True)
CM_DDD_DIAGNOSE = RpcSpec("RPC_CM_DDD_DIAGNOSE", DddDiagnoseRequest, DddDiagnoseResponse)
CM_GET_ATOMIC_IDEMPOTENT = RpcSpec(
    "RPC_CM_GET_ATOMIC_IDEMPOTENT", GetAtomicIdempotentRequest, GetAtomicIdempotentResponse
)
CM_SET_ATOMIC_IDEMPOTENT = RpcSpec(
    "RPC_CM_SET_ATOMIC_IDEMPOTENT", SetAtomicIdempotentRequest, SetAtomicIdempotentResponse
)
CM_GET_MAX_REPLICA_COUNT = RpcSpec(
    "RPC_CM_GET_MAX_REPLICA_COUNT", GetMaxReplicaCountRequest, GetMaxReplicaCountResponse
)
CM_SET_MAX_REPLICA_COUNT = RpcSpec(
    "RPC_CM_SET_MAX_REPLICA_COUNT", SetMaxReplicaCountRequest, SetMaxReplicaCountResponse
)
CM_RENAME_APP = RpcSpec("RPC_CM_RENAME_APP", RenameAppRequest, RenameAppResponse)
CM_START_MANUAL_COMPACT = RpcSpec(
    "RPC_CM_START_MANUAL_COMPACT", StartAppManualCompactRequest, StartAppManualCompactResponse
)
CM_QUERY_MANUAL_COMPACT_STATUS = RpcSpec(
    "RPC_CM_QUERY_MANUAL_COMPACT_STATUS",
    QueryAppManualCompactRequest,
    QueryAppManualCompactResponse,
)
CM_PROPOSE_BALANCER = RpcSpec(
    "RPC_CM_PROPOSE_BALANCER", ConfigurationBalancerRequest, ConfigurationBalancerResponse
)
