"""When a replica runs a manual compaction, decided from its table's envs (pure).

Upstream's replicas start a manual compaction of their RocksDB when the table's envs ask
for one (``pegasus_manual_compact_service``); the meta's ``RPC_CM_START_MANUAL_COMPACT``
and upstream's ``pegasus_manual_compact.sh`` both only write these envs:

- ``manual_compact.disabled``: ``true`` stops any new one;
- ``manual_compact.max_concurrent_running_count``: at most that many run at once on a
  replica server (absent: no limit; 0 or less: none starts);
- ``manual_compact.once.trigger_time`` (Unix seconds): run once, when that second has
  come, if the replica's last manual compaction finished before it (upstream's code runs
  a future trigger at once, and again until one finishes after it; its docs say "only at
  the specified unix time", which is what we do);
- ``manual_compact.periodic.trigger_time`` (``HH:MM[,HH:MM...]``, the server's local
  time): run once a day at each, if the last one finished before today's time and that
  time has passed;
- ``manual_compact.{once,periodic}.target_level`` (-1, or 1 to the number of levels) and
  ``.bottommost_level_compaction`` (``force`` or ``skip``), RocksDB's
  ``CompactRangeOptions``. Upstream's code uses ``skip`` and -1 when they are absent or
  invalid, and so do we.

The once rule wins over the periodic one. A replica's state (queued, running, finished)
gives the ``manual_compaction_status`` it reports to the meta (``status_of``, as
upstream's ``query_compact_status``).
"""

from __future__ import annotations

from collections.abc import Mapping

from pegasus_log.frozen import frozen
from pegasus_log.rpc import table_envs as e
from pegasus_log.rpc.admin import ManualCompactStatus

ONCE = e.MANUAL_COMPACT_ONCE
PERIODIC = e.MANUAL_COMPACT_PERIODIC
_DAY_S = 86400


@frozen
class CompactOptions:
    """RocksDB's ``CompactRangeOptions`` as upstream sets them: -1 keeps the files at
    their level; ``bottommost_force`` compacts the bottommost level too."""

    target_level: int = -1
    bottommost_force: bool = False


def is_disabled(envs: Mapping[str, str]) -> bool:
    return envs.get(e.MANUAL_COMPACT_DISABLED) == "true"


def max_running(envs: Mapping[str, str]) -> int | None:
    """The server-wide bound on running manual compactions the envs set; None: none set
    (or not a number, which upstream logs and ignores)."""
    raw = envs.get(e.MANUAL_COMPACT_MAX_CONCURRENT_RUNNING_COUNT)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return None


def due(
    envs: Mapping[str, str],
    *,
    last_finish_ms: int,
    now_s: float,
    midnight_s: float,
    levels: int,
) -> CompactOptions | None:
    """The compaction ``envs`` ask of a replica whose last manual compaction finished at
    ``last_finish_ms`` (0: never), at ``now_s``; None when none is due. ``midnight_s`` is
    the start of today in the server's local time (the periodic times are local);
    ``levels`` is the number of RocksDB levels (the largest valid target)."""
    if is_disabled(envs):
        return None
    bound = max_running(envs)
    if bound is not None and bound <= 0:
        return None
    if _once_due(envs, last_finish_ms, now_s=now_s):
        return _options(envs, ONCE, levels)
    if _periodic_due(envs, last_finish_ms, now_s=now_s, midnight_s=midnight_s):
        return _options(envs, PERIODIC, levels)
    return None


def once_done(envs: Mapping[str, str], last_finish_ms: int) -> bool:
    """Whether the replica's last manual compaction finished at or after the envs' once
    trigger: the compaction they ask for is done, though perhaps not since it opened
    here (after a restart, or a compaction the same second)."""
    trigger_s = _once_trigger_s(envs)
    return trigger_s is not None and last_finish_ms > 0 and trigger_s <= last_finish_ms // 1000


def status_of(*, queued: bool, running: bool, finished: bool) -> ManualCompactStatus:
    """What a replica reports: running, else queued, else finished (since it opened, or
    after the once trigger), else idle (upstream's ``query_compact_status``, which counts
    only a compaction finished since the replica opened)."""
    if running:
        return ManualCompactStatus.RUNNING
    if queued:
        return ManualCompactStatus.QUEUING
    if finished:
        return ManualCompactStatus.FINISHED
    return ManualCompactStatus.IDLE


def _once_trigger_s(envs: Mapping[str, str]) -> int | None:
    """The once trigger's second; None when absent or not a positive integer."""
    try:
        trigger_s = int(envs.get(ONCE + e.TRIGGER_TIME, ""))
    except ValueError:
        return None
    return trigger_s if trigger_s > 0 else None


def _once_due(envs: Mapping[str, str], last_finish_ms: int, *, now_s: float) -> bool:
    trigger_s = _once_trigger_s(envs)
    return trigger_s is not None and last_finish_ms // 1000 < trigger_s <= now_s


def _periodic_due(
    envs: Mapping[str, str], last_finish_ms: int, *, now_s: float, midnight_s: float
) -> bool:
    raw = envs.get(PERIODIC + e.TRIGGER_TIME)
    if raw is None:
        return False
    for part in raw.split(","):
        seconds = _hh_mm_seconds(part.strip())
        if seconds is None:
            continue
        at_ms = int((midnight_s + seconds) * 1000)
        if last_finish_ms < at_ms < now_s * 1000:
            return True
    return False


def _hh_mm_seconds(text: str) -> int | None:
    """Seconds after midnight of ``H:MM`` or ``HH:MM``; None when it is not one."""
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        return None
    h, m = int(hours), int(minutes)
    if h > 23 or m > 59:
        return None
    seconds = h * 3600 + m * 60
    assert 0 <= seconds < _DAY_S
    return seconds


def _options(envs: Mapping[str, str], prefix: str, levels: int) -> CompactOptions:
    target = -1
    raw = envs.get(prefix + e.TARGET_LEVEL)
    if raw is not None:
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value == -1 or 1 <= value <= levels:
            target = value
    return CompactOptions(
        target_level=target,
        bottommost_force=envs.get(prefix + e.BOTTOMMOST_LEVEL_COMPACTION) == e.BOTTOMMOST_FORCE,
    )
