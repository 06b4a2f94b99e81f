"""The partition-status transition table."""

from __future__ import annotations

import pytest

from pegasus_log.replica.core import status as st
from pegasus_log.replica.core.status import ALLOWED, IllegalTransition, allowed, transition
from pegasus_log.rpc.admin import PartitionStatus

ALL = (st.INACTIVE, st.ERROR, st.PRIMARY, st.SECONDARY, st.POTENTIAL_SECONDARY)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (st.INACTIVE, st.PRIMARY),
        (st.INACTIVE, st.POTENTIAL_SECONDARY),
        (st.SECONDARY, st.PRIMARY),
        (st.SECONDARY, st.POTENTIAL_SECONDARY),
        (st.PRIMARY, st.SECONDARY),
        (st.POTENTIAL_SECONDARY, st.SECONDARY),
    ],
)
def test_allowed_edges(old: PartitionStatus, new: PartitionStatus) -> None:
    assert transition(old, new) == new


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # A replica that stopped may have missed prepares: back only through learning.
        (st.INACTIVE, st.SECONDARY),
        # The meta never makes a learner primary.
        (st.POTENTIAL_SECONDARY, st.PRIMARY),
        (st.PRIMARY, st.POTENTIAL_SECONDARY),
    ],
)
def test_forbidden_edges(old: PartitionStatus, new: PartitionStatus) -> None:
    assert not allowed(old, new)
    with pytest.raises(IllegalTransition):
        transition(old, new)


def test_every_live_status_can_stop_and_fail() -> None:
    for old in (st.INACTIVE, st.PRIMARY, st.SECONDARY, st.POTENTIAL_SECONDARY):
        assert allowed(old, st.ERROR)
        assert old == st.INACTIVE or allowed(old, st.INACTIVE)


def test_error_is_terminal() -> None:
    assert ALLOWED[st.ERROR] == frozenset()
    for new in ALL:
        assert not allowed(st.ERROR, new)


def test_no_self_edges() -> None:
    for s in ALL:
        assert not allowed(s, s)


def test_illegal_transition_is_an_assertion() -> None:
    # A core bug, never bad input: tests and the simulator see it as an AssertionError.
    assert issubclass(IllegalTransition, AssertionError)
