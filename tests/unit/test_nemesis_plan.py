"""The chaos tests' fault plan (tests/chaos/nemesis.py) is a function of its seed, and
every fault it draws names servers that exist, within its kind's hold range."""

from __future__ import annotations

import random

from tests.chaos.nemesis import CUTS, GAP_S, HOLD_S, FaultKind, plan


def test_same_seed_same_plan_and_every_fault_well_formed() -> None:
    a = plan(random.Random(7), replicas=3, metas=2, count=400)
    assert a == plan(random.Random(7), replicas=3, metas=2, count=400)
    assert a != plan(random.Random(8), replicas=3, metas=2, count=400)
    assert {f.kind for f in a} == set(FaultKind)  # 400 draws reach every kind
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
