"""Errors raised by the pegasus-log client."""

from __future__ import annotations

from pegasus_log.rpc.error_code import REFRESH_CONFIG, RETRIABLE, ErrorCode

# RocksDB status codes carried in the ``error`` field of data responses.
STATUS_NAMES = {
    0: "kOk",
    1: "kNotFound",
    2: "kCorruption",
    3: "kNotSupported",
    4: "kInvalidArgument",
    5: "kIOError",
    6: "kMergeInProgress",
    7: "kIncomplete",
    8: "kShutdownInProgress",
    9: "kTimedOut",
    10: "kAborted",
    11: "kBusy",
    12: "kExpired",
    13: "kTryAgain",
}


class PegasusError(Exception):
    """A failed operation: an RPC error name, or a storage status from the server."""

    def __init__(
        self,
        op: str,
        *,
        code: ErrorCode = ErrorCode.ERR_OK,
        status: int = 0,
        detail: str = "",
    ) -> None:
        what = code.name if code != ErrorCode.ERR_OK else STATUS_NAMES.get(status, str(status))
        super().__init__(f"{op} failed: {what}" + (f" ({detail})" if detail else ""))
        self.op = op
        self.code = code
        self.status = status
        self.detail = detail

    @property
    def retriable(self) -> bool:
        return self.code in RETRIABLE

    @property
    def refresh_config(self) -> bool:
        return self.code in REFRESH_CONFIG


class InvalidArgument(PegasusError, ValueError):
    """Refused by the client before anything was sent."""

    def __init__(self, op: str, detail: str) -> None:
        super().__init__(op, code=ErrorCode.ERR_INVALID_PARAMETERS, detail=detail)
