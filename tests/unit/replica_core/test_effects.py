"""Order rules carried by the effect types."""

from __future__ import annotations

import pytest

from pegasus_log.replica.core import (
    Apply,
    CommittedLocally,
    LogAppended,
    PrepareAck,
    Reply,
    Send,
    SendPrepareAck,
)
from pegasus_log.rpc.error_code import ErrorCode

from .helpers import GPID, A
from .helpers import mutation as mu


def test_an_ack_cannot_leave_by_a_plain_send() -> None:
    with pytest.raises(AssertionError):
        Send(A, PrepareAck(GPID, 1, 1, A))  # type: ignore[arg-type]


def test_an_ack_needs_the_append_of_that_very_mutation() -> None:
    ack = PrepareAck(GPID, 2, 5, A)
    SendPrepareAck(A, ack, LogAppended(GPID, 2, 5))
    with pytest.raises(AssertionError):
        SendPrepareAck(A, ack, LogAppended(GPID, 1, 5))  # another ballot's record
    with pytest.raises(AssertionError):
        SendPrepareAck(A, ack, LogAppended(GPID, 2, 4))
    with pytest.raises(AssertionError):
        SendPrepareAck(A, ack, LogAppended(GPID, 2, 5, ok=False))


def test_or_a_commit_point_at_or_above_it() -> None:
    ack = PrepareAck(GPID, 2, 5, A)
    SendPrepareAck(A, ack, CommittedLocally(GPID, 5))
    with pytest.raises(AssertionError):
        SendPrepareAck(A, ack, CommittedLocally(GPID, 4))


def test_successes_are_answered_by_apply_not_reply() -> None:
    with pytest.raises(AssertionError):
        Reply(1, ErrorCode.ERR_OK)
    with pytest.raises(AssertionError):
        Apply(mu(1, n=2), (1,))
