"""The mutation log (plog) of a replica server: a durable, segmented, checksummed record
of every mutation, written with group commit and fdatasync, replayed on restart, read by
learners and garbage collected once storage has made its mutations durable.

Layout: ``mutation`` (records), ``format`` (segments and blocks), ``disk`` (the LogDisk
Protocol, files and the in-memory twin), ``core`` (pure decisions), ``recovery`` (open,
replay, repair), ``dump`` (reading a log as it is, for people), ``log`` (the asyncio
runtime).
"""

from pegasus_log.replica.plog.config import PlogConfig, PlogConfigError
from pegasus_log.replica.plog.core import PlogCore, PlogStats, SegmentInfo, WriteBatch
from pegasus_log.replica.plog.disk import DiskFault, DiskOp, FileLogDisk, LogDisk, MemoryLogDisk
from pegasus_log.replica.plog.errors import (
    MutationTooLargeError,
    PlogBusyError,
    PlogClosedError,
    PlogCorruptionError,
    PlogError,
    PlogFailedError,
    PlogGarbageCollectedError,
)
from pegasus_log.replica.plog.format import SegmentName
from pegasus_log.replica.plog.log import GcResult, MutationLog, perform_write
from pegasus_log.replica.plog.mutation import (
    Mutation,
    MutationDecodeError,
    MutationUpdate,
    decode_mutation,
    encode_mutation,
)
from pegasus_log.replica.plog.recovery import (
    DroppedData,
    RecoveryReport,
    newest_per_decree,
    read_mutations,
    recover,
)

__all__ = [
    "DiskFault",
    "DiskOp",
    "DroppedData",
    "FileLogDisk",
    "GcResult",
    "LogDisk",
    "MemoryLogDisk",
    "Mutation",
    "MutationDecodeError",
    "MutationLog",
    "MutationTooLargeError",
    "MutationUpdate",
    "PlogBusyError",
    "PlogClosedError",
    "PlogConfig",
    "PlogConfigError",
    "PlogCore",
    "PlogCorruptionError",
    "PlogError",
    "PlogFailedError",
    "PlogGarbageCollectedError",
    "PlogStats",
    "RecoveryReport",
    "SegmentInfo",
    "SegmentName",
    "WriteBatch",
    "decode_mutation",
    "encode_mutation",
    "newest_per_decree",
    "perform_write",
    "read_mutations",
    "recover",
]
