"""Between the meta's persisted model (pegasus_log.meta.state.model, members as "host:port")
and the wire messages (pegasus_log.rpc.admin / messages, members as RpcAddress)."""

from __future__ import annotations

from dataclasses import replace

from pegasus_log.meta.state.model import AppState, InvalidState, PartitionConfig
from pegasus_log.rpc.admin import AppInfoMessage, AppStatus
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress

NO_NODE = RpcAddress("", 0)


def address(text: str | None) -> RpcAddress:
    return NO_NODE if not text else RpcAddress.parse(text)


def text(a: RpcAddress) -> str | None:
    return None if a.is_invalid else str(a)


def config_to_wire(pc: PartitionConfig) -> PartitionConfiguration:
    return PartitionConfiguration(
        pid=Gpid(pc.app_id, pc.partition_index),
        ballot=pc.ballot,
        max_replica_count=pc.max_replica_count,
        primary=address(pc.primary),
        secondaries=[address(s) for s in pc.secondaries],
        last_drops=[address(d) for d in pc.last_drops],
        last_committed_decree=pc.last_committed_decree,
        partition_flags=pc.partition_flags,
    )


def config_from_wire(stored: PartitionConfig, wire: PartitionConfiguration) -> PartitionConfig:
    return replace(
        stored,
        ballot=wire.ballot,
        max_replica_count=wire.max_replica_count,
        primary=text(wire.primary),
        secondaries=tuple(str(s) for s in wire.secondaries),
        last_drops=tuple(str(d) for d in wire.last_drops),
        last_committed_decree=wire.last_committed_decree,
        partition_flags=wire.partition_flags,
    )


def app_to_wire(app: AppState) -> AppInfoMessage:
    return AppInfoMessage(
        status=int(app.status),
        app_type=app.app_type,
        app_name=app.app_name,
        app_id=app.app_id,
        partition_count=app.partition_count,
        envs=dict(app.envs),
        is_stateful=app.is_stateful,
        max_replica_count=app.max_replica_count,
        expire_second=app.expire_second,
        create_second=app.create_second,
        drop_second=app.drop_second,
        duplicating=app.duplicating,
        init_partition_count=app.init_partition_count,
        is_bulk_loading=app.is_bulk_loading,
        atomic_idempotent=app.atomic_idempotent,
    )


def app_from_wire(msg: AppInfoMessage) -> AppState:
    """The table a replica server reported (meta recovery); ``InvalidState`` for one
    that breaks the model's rules."""
    try:
        status = AppStatus(msg.status)
    except ValueError:
        raise InvalidState(f"table {msg.app_id}: unknown status {msg.status}") from None
    return AppState(
        app_id=msg.app_id,
        app_name=msg.app_name,
        partition_count=msg.partition_count,
        status=status,
        app_type=msg.app_type,
        envs=dict(msg.envs),
        is_stateful=msg.is_stateful,
        max_replica_count=msg.max_replica_count,
        expire_second=msg.expire_second,
        create_second=msg.create_second,
        drop_second=msg.drop_second,
        duplicating=bool(msg.duplicating),
        init_partition_count=msg.init_partition_count,
        is_bulk_loading=bool(msg.is_bulk_loading),
        atomic_idempotent=bool(msg.atomic_idempotent),
    )
