"""The chaos tests' fault plan (tests/chaos/nemesis.py) is a function of its seed, and
every fault it draws names servers that exist, within its kind's hold range."""

from __future__ import annotations

import random

from tests.chaos.nemesis import (
    CUTS,
    GAP_S,
    HOLD_S,
    META_LOSS_HOLD_S,
    Fault,
    FaultKind,
    plan,
    with_meta_losses,
    with_partition_kills,
)


def test_same_seed_same_plan_and_every_fault_well_formed() -> None:
    a = plan(random.Random(7), replicas=3, metas=2, count=400)
    assert a == plan(random.Random(7), replicas=3, metas=2, count=400)
    assert a != plan(random.Random(8), replicas=3, metas=2, count=400)
    # 400 draws reach every kind but the loss of the metas' state and the partition
    # kills, which are added apart
    assert {f.kind for f in a} == set(FaultKind) - {
        FaultKind.LOSE_META_STATE,
        FaultKind.KILL_PARTITIONS,
    }
    replicas = {"replica1", "replica2", "replica3"}
    for f in a:
        low, high = HOLD_S[f.kind]
        assert low <= f.hold_s <= high and GAP_S[0] <= f.gap_s <= GAP_S[1]
        if f.kind == FaultKind.KILL_META:
            assert len(f.targets) == 1 and f.targets[0] in {"meta1", "meta2"}
        elif f.kind == FaultKind.PAUSE_ZOOKEEPER:
            assert f.targets == ("zookeeper",)
        elif f.kind == FaultKind.KILL_TWO_REPLICAS:
            assert len(set(f.targets)) == 2 and set(f.targets) <= replicas
        elif f.kind == FaultKind.KILL_ALL_REPLICAS:
            assert set(f.targets) == replicas
        else:
            assert f.kind in (FaultKind.KILL_REPLICA, FaultKind.PAUSE_REPLICA, *CUTS)
            assert len(f.targets) == 1 and f.targets[0] in replicas


def test_meta_losses_are_added_between_the_planned_faults() -> None:
    planned = plan(random.Random(7), replicas=3, metas=2, count=20)
    got = with_meta_losses(planned, 3, random.Random(1))
    assert got == with_meta_losses(planned, 3, random.Random(1))
    losses = [f for f in got if f.kind == FaultKind.LOSE_META_STATE]
    assert len(losses) == 3 and len(got) == 23
    assert [f for f in got if f.kind != FaultKind.LOSE_META_STATE] == planned
    for f in losses:
        assert f.targets == () and META_LOSS_HOLD_S[0] <= f.hold_s <= META_LOSS_HOLD_S[1]
    assert with_meta_losses(planned, 0, random.Random(1)) == planned


def test_partition_kills_are_added_between_the_planned_faults() -> None:
    planned = with_meta_losses(
        plan(random.Random(7), replicas=3, metas=2, count=20), 1, random.Random(1)
    )
    got = with_partition_kills(planned, 4, random.Random(2), replicas=3)
    assert got == with_partition_kills(planned, 4, random.Random(2), replicas=3)
    kills = [f for f in got if f.kind == FaultKind.KILL_PARTITIONS]
    assert len(kills) == 4 and len(got) == len(planned) + 4
    assert [f for f in got if f.kind != FaultKind.KILL_PARTITIONS] == planned
    for f in kills:
        assert len(f.targets) == 1 and f.targets[0] in {"replica1", "replica2", "replica3"}
        assert f.hold_s == 0.0 and GAP_S[0] <= f.gap_s <= GAP_S[1]


def test_a_fault_is_described_on_one_line_with_single_blanks() -> None:
    kill = Fault(FaultKind.KILL_TWO_REPLICAS, ("replica1", "replica3"), 1.5, 2.0)
    assert kill.describe() == (
        "kill -9 two replica servers replica1,replica3 for 1.5 s, then 2.0 s"
    )
    loss = Fault(FaultKind.LOSE_META_STATE, (), 2.5, 1.0)
    assert loss.describe() == "the metas' state in ZooKeeper lost for 2.5 s, then 1.0 s"
