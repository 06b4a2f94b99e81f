"""The meta's part of manual compaction (pure): the envs ``RPC_CM_START_MANUAL_COMPACT``
writes, and the table's progress ``RPC_CM_QUERY_MANUAL_COMPACT_STATUS`` reports.

The meta only writes the table's once-compaction envs; each replica starts its own
compaction from them (``replica/compact_rules.py``) and reports where it is in every
config sync (``replica_info.manual_compact_status``). As upstream's
``server_state::parse_compaction_envs``:

- ``manual_compact.once.target_level``: the request's, -1 when it has none; below -1 is
  refused;
- ``manual_compact.max_concurrent_running_count``: the request's when above 0 (0 leaves
  the env as it is); below 0 is refused;
- ``manual_compact.once.bottommost_level_compaction``: ``force`` when the request says
  bottommost, else ``skip``;
- ``manual_compact.once.trigger_time``: the request's, else the meta's clock (seconds).

Progress, as upstream's ``get_manual_compact_progress``: finished replicas over the
table's partitions x replica count, in percent; when every one of those replicas is
idle (or has not reported), there is no compaction to report (``ERR_INVALID_STATE``).
"""

from __future__ import annotations

from collections.abc import Iterable

from pegasus_log.rpc import table_envs as e
from pegasus_log.rpc.admin import ManualCompactStatus, StartAppManualCompactRequest

DISABLED = e.MANUAL_COMPACT_DISABLED
MAX_CONCURRENT_RUNNING_COUNT = e.MANUAL_COMPACT_MAX_CONCURRENT_RUNNING_COUNT
ONCE_TRIGGER_TIME = e.MANUAL_COMPACT_ONCE + e.TRIGGER_TIME
ONCE_TARGET_LEVEL = e.MANUAL_COMPACT_ONCE + e.TARGET_LEVEL
ONCE_BOTTOMMOST = e.MANUAL_COMPACT_ONCE + e.BOTTOMMOST_LEVEL_COMPACTION


def start_envs(req: StartAppManualCompactRequest, *, now_s: int) -> dict[str, str] | str:
    """The envs to set for ``req``, or upstream's hint for an invalid request."""
    target_level = -1 if req.target_level is None else req.target_level
    if target_level < -1:
        return f"invalid target_level({target_level}), should in range of [-1, num_levels]"
    envs = {ONCE_TARGET_LEVEL: str(target_level)}
    if req.max_running_count is not None:
        if req.max_running_count < 0:
            return f"invalid max_running_count({req.max_running_count}), should be greater than 0"
        if req.max_running_count > 0:
            envs[MAX_CONCURRENT_RUNNING_COUNT] = str(req.max_running_count)
    envs[ONCE_BOTTOMMOST] = e.BOTTOMMOST_FORCE if req.bottommost else e.BOTTOMMOST_SKIP
    envs[ONCE_TRIGGER_TIME] = str(now_s if req.trigger_time is None else req.trigger_time)
    return envs


def progress(statuses: Iterable[ManualCompactStatus], *, total: int) -> int | None:
    """Percent of the ``total`` replicas finished, from what the serving replicas last
    reported; None when none of them is queued, running or finished. A replica that has
    not reported counts as idle (upstream leaves it out of its idle count, so a table
    with a replica not reporting shows 0% rather than no compaction)."""
    assert total > 0, total
    finished = busy = 0
    for status in statuses:
        if status == ManualCompactStatus.FINISHED:
            finished += 1
        elif status != ManualCompactStatus.IDLE:
            busy += 1
    if finished + busy == 0:
        return None
    return finished * 100 // total
