"""The Pegasus error names, in the order the Go client numbers them.

Only these names may go on the wire: the Go client refuses a reply whose error name it
does not know. ``RETRIABLE`` and ``REFRESH_CONFIG`` say how a client should react.
"""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    ERR_OK = 0
    ERR_UNKNOWN = 1
    ERR_REPLICATION_FAILURE = 2
    ERR_APP_EXIST = 3
    ERR_APP_NOT_EXIST = 4
    ERR_APP_DROPPED = 5
    ERR_BUSY_CREATING = 6
    ERR_BUSY_DROPPING = 7
    ERR_EXPIRED = 8
    ERR_LOCK_ALREADY_EXIST = 9
    ERR_HOLD_BY_OTHERS = 10
    ERR_RECURSIVE_LOCK = 11
    ERR_NO_OWNER = 12
    ERR_NODE_ALREADY_EXIST = 13
    ERR_INCONSISTENT_STATE = 14
    ERR_ARRAY_INDEX_OUT_OF_RANGE = 15
    ERR_SERVICE_NOT_FOUND = 16
    ERR_SERVICE_ALREADY_RUNNING = 17
    ERR_IO_PENDING = 18
    ERR_TIMEOUT = 19
    ERR_SERVICE_NOT_ACTIVE = 20
    ERR_BUSY = 21
    ERR_NETWORK_INIT_FAILED = 22
    ERR_FORWARD_TO_OTHERS = 23
    ERR_OBJECT_NOT_FOUND = 24
    ERR_HANDLER_NOT_FOUND = 25
    ERR_LEARN_FILE_FAILED = 26
    ERR_GET_LEARN_STATE_FAILED = 27
    ERR_INVALID_VERSION = 28
    ERR_INVALID_PARAMETERS = 29
    ERR_CAPACITY_EXCEEDED = 30
    ERR_INVALID_STATE = 31
    ERR_INACTIVE_STATE = 32
    ERR_NOT_ENOUGH_MEMBER = 33
    ERR_FILE_OPERATION_FAILED = 34
    ERR_HANDLE_EOF = 35
    ERR_WRONG_CHECKSUM = 36
    ERR_INVALID_DATA = 37
    ERR_INVALID_HANDLE = 38
    ERR_INCOMPLETE_DATA = 39
    ERR_VERSION_OUTDATED = 40
    ERR_PATH_NOT_FOUND = 41
    ERR_PATH_ALREADY_EXIST = 42
    ERR_ADDRESS_ALREADY_USED = 43
    ERR_STATE_FREEZED = 44
    ERR_LOCAL_APP_FAILURE = 45
    ERR_BIND_IOCP_FAILED = 46
    ERR_NETWORK_START_FAILED = 47
    ERR_NOT_IMPLEMENTED = 48
    ERR_CHECKPOINT_FAILED = 49
    ERR_WRONG_TIMING = 50
    ERR_NO_NEED_OPERATE = 51
    ERR_CORRUPTION = 52
    ERR_TRY_AGAIN = 53
    ERR_CLUSTER_NOT_FOUND = 54
    ERR_CLUSTER_ALREADY_EXIST = 55
    ERR_SERVICE_ALREADY_EXIST = 56
    ERR_INJECTED = 57
    ERR_NETWORK_FAILURE = 58
    ERR_UNDER_RECOVERY = 59
    ERR_OPERATION_DISABLED = 60
    ERR_ZOOKEEPER_OPERATION = 61
    ERR_CHILD_REGISTERED = 62
    ERR_INGESTION_FAILED = 63
    ERR_UNAUTHENTICATED = 64
    ERR_KRB5_INTERNAL = 65
    ERR_SASL_INTERNAL = 66
    ERR_SASL_INCOMPLETE = 67
    ERR_ACL_DENY = 68
    ERR_SPLITTING = 69
    ERR_PARENT_PARTITION_MISUSED = 70
    ERR_CHILD_NOT_READY = 71
    ERR_DISK_INSUFFICIENT = 72
    ERR_SESSION_RESET = 73


# Errors after which a client should refresh its routing table and try again.
REFRESH_CONFIG: frozenset[ErrorCode] = frozenset(
    {
        ErrorCode.ERR_OBJECT_NOT_FOUND,
        ErrorCode.ERR_INVALID_STATE,
        ErrorCode.ERR_PARENT_PARTITION_MISUSED,
        ErrorCode.ERR_INACTIVE_STATE,
        ErrorCode.ERR_NETWORK_FAILURE,
        ErrorCode.ERR_SESSION_RESET,
        ErrorCode.ERR_FORWARD_TO_OTHERS,
    }
)

# Errors a client may retry unchanged (after a pause) within its deadline.
RETRIABLE: frozenset[ErrorCode] = REFRESH_CONFIG | frozenset(
    {
        ErrorCode.ERR_TIMEOUT,
        ErrorCode.ERR_BUSY,
        ErrorCode.ERR_TRY_AGAIN,
        ErrorCode.ERR_NOT_ENOUGH_MEMBER,
        ErrorCode.ERR_CAPACITY_EXCEEDED,
        ErrorCode.ERR_SPLITTING,
        ErrorCode.ERR_CHILD_NOT_READY,
    }
)


def error_from_name(name: str) -> ErrorCode:
    """The ErrorCode of a wire name; an unknown name is ERR_UNKNOWN."""
    return ErrorCode.__members__.get(name, ErrorCode.ERR_UNKNOWN)
