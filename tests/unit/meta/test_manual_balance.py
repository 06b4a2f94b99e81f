"""An operator's ``balance``: which action lists spell which move (as upstream's shell
writes them), and which moves a partition can take."""

from __future__ import annotations

import pytest

from pegasus_log.meta.core.balancer import (
    COPY_PRIMARY,
    COPY_SECONDARY,
    MOVE_PRIMARY,
    Proposal,
    Step,
    manual_proposal,
    requested,
)
from pegasus_log.rpc.admin import ConfigType
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress

A, B, C, D = (RpcAddress("127.0.0.1", 34801 + i) for i in range(4))
NONE = RpcAddress("", 0)
ALIVE = frozenset({A, B, C, D})
CT = ConfigType


def config(primary: RpcAddress, *secondaries: RpcAddress) -> PartitionConfiguration:
    return PartitionConfiguration(
        pid=Gpid(1, 0),
        ballot=5,
        max_replica_count=3,
        primary=primary,
        secondaries=list(secondaries),
    )


MOVE_PRI = [Step(CT.CT_DOWNGRADE_TO_SECONDARY, A, A), Step(CT.CT_UPGRADE_TO_PRIMARY, B, B)]
COPY_PRI = [
    Step(CT.CT_ADD_SECONDARY_FOR_LB, A, D),
    Step(CT.CT_DOWNGRADE_TO_SECONDARY, A, A),
    Step(CT.CT_UPGRADE_TO_PRIMARY, D, D),
]
COPY_SEC = [Step(CT.CT_ADD_SECONDARY_FOR_LB, NONE, D), Step(CT.CT_DOWNGRADE_TO_INACTIVE, NONE, B)]


def test_the_shells_action_lists_spell_their_moves() -> None:
    assert requested(MOVE_PRI) == (MOVE_PRIMARY, A, B)
    assert requested(COPY_PRI) == (COPY_PRIMARY, A, D)
    assert requested(COPY_SEC) == (COPY_SECONDARY, B, D)
    remove = [COPY_SEC[0], Step(CT.CT_REMOVE, NONE, B)]
    assert requested(remove) == (COPY_SECONDARY, B, D)


@pytest.mark.parametrize(
    "actions",
    [
        [],
        MOVE_PRI[:1],
        list(reversed(MOVE_PRI)),
        [Step(CT.CT_DOWNGRADE_TO_SECONDARY, A, B), MOVE_PRI[1]],  # node is not its own target
        [Step(CT.CT_ADD_SECONDARY_FOR_LB, B, D), *COPY_PRI[1:]],  # added by another than from
        [Step(CT.CT_ADD_SECONDARY_FOR_LB, A, C), *COPY_PRI[1:]],  # adds another than to
        [*COPY_SEC, COPY_SEC[1]],
        [Step(CT.CT_ASSIGN_PRIMARY, A, A)],
        [Step(CT.CT_INVALID, A, A), MOVE_PRI[1]],
    ],
)
def test_anything_else_spells_nothing(actions: list[Step]) -> None:
    assert requested(actions) is None


def test_move_pri_swaps_the_primary_with_a_secondary() -> None:
    p = manual_proposal(config(A, B, C), MOVE_PRIMARY, A, B, ALIVE)
    assert isinstance(p, Proposal)
    assert (p.kind, p.source, p.destination) == (MOVE_PRIMARY, A, B)
    assert [s.type for s in p.steps] == [CT.CT_DOWNGRADE_TO_SECONDARY, CT.CT_UPGRADE_TO_PRIMARY]


def test_copies_go_to_a_node_that_is_no_member() -> None:
    p = manual_proposal(config(A, B, C), COPY_PRIMARY, A, D, ALIVE)
    assert isinstance(p, Proposal)
    assert (p.kind, p.source, p.destination) == (COPY_PRIMARY, A, D)
    q = manual_proposal(config(A, B, C), COPY_SECONDARY, B, D, ALIVE)
    assert isinstance(q, Proposal)
    assert (q.kind, q.source, q.destination) == (COPY_SECONDARY, B, D)
    # the steps are asked of the primary, as the balancer's own copies
    assert [(s.type, s.target, s.node) for s in q.steps] == [
        (CT.CT_ADD_SECONDARY_FOR_LB, A, D),
        (CT.CT_REMOVE, A, B),
    ]


@pytest.mark.parametrize(
    ("pc", "kind", "source", "destination", "reason"),
    [
        (config(A, B, C), MOVE_PRIMARY, B, C, "to be the primary"),
        (config(A, B, C), MOVE_PRIMARY, A, D, "a secondary"),
        (config(A, B, C), COPY_PRIMARY, A, B, "no member"),
        (config(A, B, C), COPY_PRIMARY, B, D, "to be the primary"),
        (config(A, B, C), COPY_SECONDARY, A, D, "to be a secondary"),
        (config(A, B, C), COPY_SECONDARY, B, C, "no member"),
        (config(A, B), MOVE_PRIMARY, A, B, "not healthy"),  # a member missing
        (config(NONE, B, C), MOVE_PRIMARY, A, B, "not healthy"),  # no primary
    ],
)
def test_moves_that_do_not_fit_are_refused_with_why(
    pc: PartitionConfiguration,
    kind: str,
    source: RpcAddress,
    destination: RpcAddress,
    reason: str,
) -> None:
    refused = manual_proposal(pc, kind, source, destination, ALIVE)
    assert isinstance(refused, str)
    assert reason in refused


def test_nothing_moves_to_or_within_a_group_with_a_dead_node() -> None:
    dead_destination = manual_proposal(config(A, B, C), COPY_SECONDARY, B, D, ALIVE - {D})
    assert dead_destination == f"{D} is not an alive replica server"
    dead_member = manual_proposal(config(A, B, C), MOVE_PRIMARY, A, B, ALIVE - {C})
    assert isinstance(dead_member, str) and "not healthy" in dead_member
