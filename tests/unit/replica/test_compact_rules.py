"""When a replica's table envs make a manual compaction due (replica/compact_rules.py)."""

from __future__ import annotations

from pegasus_log.replica.compact_rules import CompactOptions, due, once_done, status_of
from pegasus_log.rpc.admin import ManualCompactStatus

MIDNIGHT = 1_700_000_000.0  # a day's start, as the caller's local clock says
NOON = MIDNIGHT + 12 * 3600


def _due(envs: dict[str, str], *, last_finish_ms: int = 0, now_s: float = NOON) -> object:
    return due(envs, last_finish_ms=last_finish_ms, now_s=now_s, midnight_s=MIDNIGHT, levels=7)


def test_once_runs_when_the_last_finished_before_the_trigger() -> None:
    envs = {"manual_compact.once.trigger_time": str(int(NOON) - 60)}
    assert _due(envs) == CompactOptions(target_level=-1, bottommost_force=False)
    # finished one second after the trigger: done; one second before: due again
    assert _due(envs, last_finish_ms=(int(NOON) - 59) * 1000) is None
    assert _due(envs, last_finish_ms=(int(NOON) - 61) * 1000) is not None
    # the trigger's own second counts as done (upstream compares seconds)
    assert _due(envs, last_finish_ms=(int(NOON) - 60) * 1000 + 999) is None
    # a trigger still to come waits for its second
    assert _due(envs, now_s=NOON - 61) is None
    assert _due(envs, now_s=NOON - 60) is not None


def test_once_options_and_invalid_values() -> None:
    envs = {
        "manual_compact.once.trigger_time": "100",
        "manual_compact.once.target_level": "3",
        "manual_compact.once.bottommost_level_compaction": "force",
    }
    assert _due(envs) == CompactOptions(target_level=3, bottommost_force=True)
    for bad_level in ("0", "8", "-2", "x"):
        changed = {**envs, "manual_compact.once.target_level": bad_level}
        assert _due(changed) == CompactOptions(target_level=-1, bottommost_force=True)
    skip = {**envs, "manual_compact.once.bottommost_level_compaction": "whatever"}
    assert _due(skip) == CompactOptions(target_level=3, bottommost_force=False)
    for bad_trigger in ("0", "-5", "soon", ""):
        assert _due({"manual_compact.once.trigger_time": bad_trigger}) is None


def test_disabled_and_no_slots_stop_everything() -> None:
    once = {"manual_compact.once.trigger_time": "100"}
    assert _due({**once, "manual_compact.disabled": "true"}) is None
    assert _due({**once, "manual_compact.disabled": "false"}) is not None
    assert _due({**once, "manual_compact.max_concurrent_running_count": "0"}) is None
    assert _due({**once, "manual_compact.max_concurrent_running_count": "2"}) is not None
    assert _due({**once, "manual_compact.max_concurrent_running_count": "x"}) is not None
    assert _due({}) is None


def test_periodic_runs_once_a_day_after_each_time() -> None:
    envs = {
        "manual_compact.periodic.trigger_time": "3:00, 21:00,bad,25:00",
        "manual_compact.periodic.target_level": "2",
    }
    three = MIDNIGHT + 3 * 3600
    assert _due(envs, now_s=three - 1) is None  # before today's first time
    assert _due(envs, now_s=three + 1) == CompactOptions(target_level=2)
    assert _due(envs, last_finish_ms=int(three * 1000) + 5) is None  # done after 3:00
    # 21:00 has passed too: due again, though one ran after 3:00
    late = MIDNIGHT + 21 * 3600 + 60
    assert _due(envs, last_finish_ms=int(three * 1000) + 5, now_s=late) is not None
    # the once rule wins when both are due
    both = {**envs, "manual_compact.once.trigger_time": "100"}
    assert _due(both, now_s=late) == CompactOptions(target_level=-1)
    assert _due({"manual_compact.periodic.trigger_time": "never"}, now_s=late) is None


def test_status_reported() -> None:
    assert status_of(queued=False, running=False, finished=False) == ManualCompactStatus.IDLE
    assert status_of(queued=True, running=False, finished=True) == ManualCompactStatus.QUEUING
    assert status_of(queued=True, running=True, finished=False) == ManualCompactStatus.RUNNING
    assert status_of(queued=False, running=False, finished=True) == ManualCompactStatus.FINISHED


def test_once_done_when_the_last_finished_at_or_after_the_trigger() -> None:
    envs = {"manual_compact.once.trigger_time": "1000"}
    assert once_done(envs, 1000 * 1000 + 500)  # the same second counts
    assert not once_done(envs, 999 * 1000 + 999)
    assert not once_done(envs, 0)
    assert not once_done({}, 5_000_000)
    assert not once_done({"manual_compact.once.trigger_time": "x"}, 5_000_000)
