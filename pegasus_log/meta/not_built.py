"""Meta RPCs of features pegasus-log has not built yet (duplication, cold backup and
restore, partition split, bulk load): answered at once with
``ERR_NOT_IMPLEMENTED`` in the response's ``err`` (field 1 of every one of these
responses upstream), so an admin tool reports "not implemented" instead of waiting for
its deadline (an unknown RPC gets ERR_HANDLER_NOT_FOUND, which the Go client takes for
a dead meta and retries on every other meta until its deadline).

The request is not read: its fields are skipped. Every request listed here is made of
plain thrift types (strings, integers, bools, lists of them), which a generic skip
handles; RPCs whose requests carry gpids or addresses are not listed.
"""

from __future__ import annotations

from typing import ClassVar

from pegasus_log.frozen import frozen
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.messages import RpcSpec
from pegasus_log.rpc.thrift import ERROR_CODE, Field
from pegasus_log.transport.server import Call, Handler

NOT_BUILT_RPCS = (
    "RPC_CM_ADD_DUPLICATION",
    "RPC_CM_MODIFY_DUPLICATION",
    "RPC_CM_QUERY_DUPLICATION",
    "RPC_CM_START_BACKUP_APP",
    "RPC_CM_QUERY_BACKUP_STATUS",
    "RPC_CM_QUERY_BACKUP_POLICY",
    "RPC_CM_START_RESTORE",
    "RPC_CM_START_PARTITION_SPLIT",
    "RPC_CM_QUERY_PARTITION_SPLIT",
    "RPC_CM_CONTROL_PARTITION_SPLIT",
    "RPC_CM_START_BULK_LOAD",
    "RPC_CM_QUERY_BULK_LOAD_STATUS",
    "RPC_CM_CONTROL_BULK_LOAD",
    "RPC_CM_CLEAR_BULK_LOAD",
)


@frozen
class Unread:
    """A request struct whose fields are all skipped."""

    THRIFT: ClassVar = ()


@frozen
class ErrOnly:
    """A response carrying only its ``err`` (field 1)."""

    err: str = ErrorCode.ERR_NOT_IMPLEMENTED.name
    THRIFT: ClassVar = (Field(1, "err", ERROR_CODE),)


def on_not_built(call: Call) -> ErrOnly:
    return ErrOnly()


def rpcs() -> dict[str, tuple[RpcSpec, Handler]]:
    return {name: (RpcSpec(name, Unread, ErrOnly), on_not_built) for name in NOT_BUILT_RPCS}
