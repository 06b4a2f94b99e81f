"""Every scripted replication scenario under scenarios/ passes (STYLE rule 9)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pegasus_log.sim.scenario import run_scenario

SCENARIOS = sorted((Path(__file__).parent / "scenarios").glob("*.txt"))


def test_there_are_scenarios_for_each_upstream_case_class() -> None:
    # 0xx normal, 1xx replica<->replica RPC, 2xx disk, 3xx replica<->meta, 4xx mixed.
    classes = {p.name[0] for p in SCENARIOS}
    assert classes >= {"0", "1", "2", "3", "4"}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario(path: Path) -> None:
    run_scenario(path.read_text(), name=path.name)
