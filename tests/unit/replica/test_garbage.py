"""Garbage replicas: which ones a server closes and when, how their data is moved aside
and deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from pegasus_log.replica.garbage import (
    COLLECTED_FILE,
    GarbageCollector,
    GarbageDirs,
    GarbageOptions,
    GarbageRule,
    Hosted,
    expired,
    garbage_name,
    garbage_time_us,
    read_collected,
)
from pegasus_log.rpc.admin import PartitionStatus, ReplicaInfo
from pegasus_log.rpc.thrift import Gpid

G = (1, 2)
OPTS = GarbageOptions(close_delay_s=10.0, remove_delay_s=100.0)
INACTIVE = Hosted(PartitionStatus.PS_INACTIVE, member=False)


def test_closed_only_once_named_for_the_whole_delay() -> None:
    rule = GarbageRule(OPTS)
    assert rule.on_sync([G], hosted={G: INACTIVE}, stored=[G], now=0.0) == []
    assert rule.on_sync([G], hosted={G: INACTIVE}, stored=[G], now=9.0) == []
    assert rule.on_sync([G], hosted={G: INACTIVE}, stored=[G], now=10.0) == [G]
    # once closed it starts over (it is gone from disk in practice)
    assert rule.on_sync([G], hosted={G: INACTIVE}, stored=[G], now=11.0) == []


def test_a_sync_that_does_not_name_it_starts_the_delay_over() -> None:
    rule = GarbageRule(OPTS)
    rule.on_sync([G], hosted={G: INACTIVE}, stored=[G], now=0.0)
    assert rule.on_sync([], hosted={G: INACTIVE}, stored=[G], now=5.0) == []
    assert rule.on_sync([G], hosted={G: INACTIVE}, stored=[G], now=12.0) == []
    assert rule.on_sync([G], hosted={G: INACTIVE}, stored=[G], now=22.0) == [G]


def test_never_a_member_a_learner_or_a_serving_replica() -> None:
    rule = GarbageRule(OPTS)
    for view in (
        Hosted(PartitionStatus.PS_INACTIVE, member=True),  # the latest config names it
        Hosted(PartitionStatus.PS_POTENTIAL_SECONDARY, member=False),  # learning
        Hosted(PartitionStatus.PS_SECONDARY, member=False),
        Hosted(PartitionStatus.PS_PRIMARY, member=False),
    ):
        assert rule.on_sync([G], hosted={G: view}, stored=[G], now=0.0) == []
        assert rule.on_sync([G], hosted={G: view}, stored=[G], now=50.0) == [], view
    # and a replica that was protected starts its delay only once it no longer is
    assert rule.on_sync([G], hosted={G: INACTIVE}, stored=[G], now=51.0) == []
    assert rule.on_sync([G], hosted={G: INACTIVE}, stored=[G], now=61.0) == [G]


def test_a_busy_replica_waits_for_a_sync_when_it_is_idle() -> None:
    rule = GarbageRule(OPTS)
    busy = Hosted(PartitionStatus.PS_INACTIVE, member=False, busy=True)
    assert rule.on_sync([G], hosted={G: INACTIVE}, stored=[G], now=0.0) == []
    assert rule.on_sync([G], hosted={G: busy}, stored=[G], now=10.0) == []
    assert rule.on_sync([G], hosted={G: INACTIVE}, stored=[G], now=11.0) == [G]


def test_stored_but_not_open_is_collected_and_unknown_ones_are_ignored() -> None:
    rule = GarbageRule(OPTS)
    other = (1, 3)
    assert rule.on_sync([G, other], hosted={}, stored=[G], now=0.0) == []
    assert rule.on_sync([G, other], hosted={}, stored=[G], now=10.0) == [G]
    error = Hosted(PartitionStatus.PS_ERROR, member=False)
    assert rule.on_sync([G], hosted={G: error}, stored=[], now=20.0) == []
    assert rule.on_sync([G], hosted={G: error}, stored=[], now=30.0) == [G]


def test_garbage_names_carry_their_time() -> None:
    name = garbage_name("1.2.pegasus", 1_700_000_000_000_000)
    assert name == "1.2.pegasus.1700000000000000.gar"
    assert garbage_time_us(name) == 1_700_000_000_000_000
    assert garbage_time_us("1.2.pegasus") is None
    assert garbage_time_us("1.2.pegasus.x.gar") is None
    old, new = garbage_name("1.2.pegasus", 0), garbage_name("1.3.pegasus", 50_000_000)
    assert expired([old, new, "junk.gar"], now_us=100_000_000, remove_delay_s=100.0) == [old]
    assert expired([new, old], now_us=150_000_000, remove_delay_s=100.0) == sorted([old, new])


def test_dirs_move_aside_then_delete(tmp_path: Path) -> None:
    (tmp_path / "1.2.pegasus").mkdir()
    (tmp_path / "1.2.pegasus" / "CURRENT").write_text("x")
    (tmp_path / "1.2.checkpoints" / "checkpoint.9").mkdir(parents=True)
    (tmp_path / "1.2.fetch").mkdir()
    (tmp_path / "1.2.ballot").write_text("7")
    (tmp_path / "1.3.pegasus").mkdir()
    dirs = GarbageDirs(tmp_path, OPTS)
    dirs.move_aside(G, now_us=1_000_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "1.2.checkpoints.1000000.gar",
        "1.2.pegasus.1000000.gar",
        "1.3.pegasus",
    ]
    assert (tmp_path / "1.2.pegasus.1000000.gar" / "CURRENT").read_text() == "x"
    dirs.sweep(now_us=1_000_000 + 99_000_000)
    assert len(dirs.names()) == 2
    dirs.sweep(now_us=1_000_000 + 100_000_000)
    assert dirs.names() == [] and (tmp_path / "1.3.pegasus").is_dir()
    assert (dirs.moved, dirs.removed) == (1, 2)


def test_collector_closes_before_moving(tmp_path: Path) -> None:
    (tmp_path / "1.2.pegasus").mkdir()
    now = [0.0]
    closed: list[tuple[int, int]] = []
    gc = GarbageCollector(
        tmp_path,
        GarbageOptions(close_delay_s=1.0, remove_delay_s=5.0),
        clock=lambda: now[0],
        wall_clock=lambda: 1000.0 + now[0],
    )

    def close(gpid: tuple[int, int]) -> int:
        assert (tmp_path / "1.2.pegasus").is_dir()  # still in place while it closes
        closed.append(gpid)
        return 42

    named = [ReplicaInfo(pid=Gpid(*G))]
    gc.on_sync(named, hosted={G: INACTIVE}, stored=[G], close=close)
    assert closed == []
    now[0] = 1.0
    gc.on_sync(named, hosted={G: INACTIVE}, stored=[G], close=close)
    assert closed == [G] and not (tmp_path / "1.2.pegasus").exists()
    assert gc.collected == {G: 42}  # its log records up to there may go
    # ... and still may after a restart: the collector remembers it on disk
    again = GarbageCollector(tmp_path, GarbageOptions())
    assert again.collected == {G: 42}
    assert (tmp_path / COLLECTED_FILE).read_text() == "1.2 42\n"
    rows = {name: values[0][1] for name, _help, _labels, values in gc.metric_rows()}
    assert rows["replica_garbage_dirs"] == 1 and rows["moved_garbage_replicas"] == 1
    now[0] = 5.5
    gc.sweep()
    assert len(list(tmp_path.glob("*.gar"))) == 1
    now[0] = 6.0
    gc.sweep()
    rows = {name: values[0][1] for name, _help, _labels, values in gc.metric_rows()}
    assert rows["replica_garbage_dirs"] == 0 and rows["removed_garbage_replicas"] == 1


def test_collected_replicas_are_forgotten_on_request_and_bad_lines_skipped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / COLLECTED_FILE).write_text("1.2 42\n3.4 7\nnot a line\n5.\u00b2 9\n6.7 -1\n")
    gc = GarbageCollector(tmp_path, GarbageOptions())
    assert gc.collected == {(1, 2): 42, (3, 4): 7}
    assert caplog.text.count("unreadable, skipped") == 3
    gc.forget([(1, 2), (9, 9)])
    assert GarbageCollector(tmp_path, GarbageOptions()).collected == {(3, 4): 7}
    assert read_collected(tmp_path / "missing") == {}
