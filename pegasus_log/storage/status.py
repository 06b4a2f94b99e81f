"""RocksDB status codes, as Pegasus puts them in the ``error`` field of data responses.

A data RPC that reached the storage engine always succeeds at the RPC level (``ERR_OK``);
the outcome of the operation itself travels as one of these codes (rocksdb::Status::Code).
"Not found" is ``kNotFound`` (1), a failed check of check_and_set / check_and_mutate is
``kTryAgain`` (13), a range read cut short by its limits is ``kIncomplete`` (7).
"""

from __future__ import annotations

from enum import IntEnum


class StorageStatus(IntEnum):
    kOk = 0
    kNotFound = 1
    kCorruption = 2
    kNotSupported = 3
    kInvalidArgument = 4
    kIOError = 5
    kMergeInProgress = 6
    kIncomplete = 7
    kShutdownInProgress = 8
    kTimedOut = 9
    kAborted = 10
    kBusy = 11
    kExpired = 12
    kTryAgain = 13
