"""The balancer's proposals: even primaries first, then even replica counts, only on
healthy partitions, never more than the bound, and converging when applied."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as hs

from pegasus_log.meta.core.balancer import Proposal, balance_table
from pegasus_log.meta.core.guardian import members
from pegasus_log.rpc.admin import ConfigType
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress

NODES = [RpcAddress("127.0.0.1", 34801 + i) for i in range(4)]
A, B, C, D = NODES


def pc(i: int, primary: RpcAddress, *secondaries: RpcAddress) -> PartitionConfiguration:
    return PartitionConfiguration(
        pid=Gpid(1, i),
        ballot=3,
        max_replica_count=1 + len(secondaries),
        primary=primary,
        secondaries=list(secondaries),
    )


def apply(configs: list[PartitionConfiguration], p: Proposal) -> list[PartitionConfiguration]:
    out = []
    for c in configs:
        if c.pid != p.gpid:
            out.append(c)
            continue
        if p.kind == "move_primary":
            old, new = p.steps[0].node, p.steps[1].node
            c = replace(c, primary=new, secondaries=[old if s == new else s for s in c.secondaries])
        else:
            add, remove = p.steps[0].node, p.steps[1].node
            c = replace(c, secondaries=[add if s == remove else s for s in c.secondaries])
        out.append(c)
    return out


def test_primaries_move_to_where_a_secondary_already_is() -> None:
    configs = [pc(i, A, B, C) for i in range(6)]
    proposals = balance_table(configs, frozenset([A, B, C]))
    assert proposals and all(p.kind == "move_primary" for p in proposals)
    first = proposals[0]
    assert first.steps[0].type == ConfigType.CT_DOWNGRADE_TO_SECONDARY and first.steps[0].node == A
    assert first.steps[1].type == ConfigType.CT_UPGRADE_TO_PRIMARY
    for p in proposals:
        configs = apply(configs, p)
    prim = [sum(c.primary == n for c in configs) for n in (A, B, C)]
    assert max(prim) - min(prim) <= 1


def test_secondaries_copy_to_an_idle_node_once_primaries_are_even() -> None:
    configs = [pc(0, A, B), pc(1, B, A), pc(2, A, B), pc(3, B, A)]
    proposals = balance_table(configs, frozenset([A, B, C]))
    assert proposals and all(p.kind == "copy_secondary" for p in proposals)
    step_add, step_remove = proposals[0].steps
    assert step_add.type == ConfigType.CT_ADD_SECONDARY_FOR_LB and step_add.node == C
    assert step_remove.type == ConfigType.CT_REMOVE and step_remove.node in (A, B)


def test_unhealthy_partitions_are_left_to_the_guardian() -> None:
    configs = [pc(i, A, B) for i in range(4)]
    assert balance_table(configs, frozenset([A, C])) == []  # B dead: every partition ill
    assert balance_table(configs, frozenset([A])) == []


def test_bound_on_proposals() -> None:
    configs = [pc(i, A, B, C) for i in range(40)]
    assert len(balance_table(configs, frozenset([A, B, C]), max_proposals=3)) == 3


@settings(max_examples=60, deadline=None)
@given(
    layout=hs.lists(hs.permutations(NODES).map(lambda p: p[:3]), min_size=1, max_size=24),
)
def test_repeated_rounds_converge(layout: list[list[RpcAddress]]) -> None:
    configs = [pc(i, grp[0], grp[1], grp[2]) for i, grp in enumerate(layout)]
    alive = frozenset(NODES)
    for _ in range(200):
        proposals = balance_table(configs, alive)
        if not proposals:
            break
        for p in proposals:
            configs = apply(configs, p)
            assert all(len(set(members(c))) == 3 for c in configs)
    else:
        raise AssertionError("balancing did not converge")
    prim = {n: sum(c.primary == n for c in configs) for n in NODES}
    busiest = max(NODES, key=lambda n: (prim[n], n.host, n.port))
    idlest = min(NODES, key=lambda n: (prim[n], n.host, n.port))
    # primaries end even, or no partition offers the swap the balancer would need
    swappable = [c for c in configs if c.primary == busiest and idlest in c.secondaries]
    assert prim[busiest] - prim[idlest] <= 1 or not swappable
