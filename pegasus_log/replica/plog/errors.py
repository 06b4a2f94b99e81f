"""Operating errors of the mutation log.

Each carries the Pegasus ``ErrorCode`` a replica would answer with and whether trying again
later can succeed. Programmer errors (decree order, closed-state misuse) are assertions.
"""

from __future__ import annotations

from pegasus_log.rpc.error_code import RETRIABLE, ErrorCode


class PlogError(Exception):
    code: ErrorCode = ErrorCode.ERR_UNKNOWN

    @property
    def retriable(self) -> bool:
        return self.code in RETRIABLE


class PlogBusyError(PlogError):
    """The pending queue (and its waiters) is full: shed load and retry later."""

    code = ErrorCode.ERR_BUSY


class MutationTooLargeError(PlogError, ValueError):
    """One append does not fit in one block (config ``block_bytes_max``)."""

    code = ErrorCode.ERR_INVALID_DATA


class PlogFailedError(PlogError):
    """A write or fsync failed; the log refuses every append until it is reopened.

    After a failed fsync the kernel may already have dropped the dirty pages and cleared
    the error, so a retried fsync can succeed without the data being on disk. The only
    safe continuation is to reopen, which replays what really is on disk.
    """

    code = ErrorCode.ERR_FILE_OPERATION_FAILED


class PlogClosedError(PlogError):
    """The log was closed."""

    code = ErrorCode.ERR_SERVICE_NOT_ACTIVE


class PlogCorruptionError(PlogError):
    """Damaged data that recovery may not drop on its own (not a torn tail)."""

    code = ErrorCode.ERR_CORRUPTION

    def __init__(self, file_name: str, offset: int, reason: str) -> None:
        super().__init__(
            f"plog corruption in {file_name} at byte {offset}: {reason} "
            "(open with force=True to drop it and everything after it)"
        )
        self.file_name = file_name
        self.offset = offset
        self.reason = reason


class PlogGarbageCollectedError(PlogError):
    """A learning read needed a segment that garbage collection removed meanwhile."""

    code = ErrorCode.ERR_INCOMPLETE_DATA
