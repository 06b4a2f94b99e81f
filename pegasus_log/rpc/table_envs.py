"""Names of the table envs (``app_info.envs`` keys, upstream's ``replica_envs``) that both
the meta and the replica servers read: the meta writes them, the replicas act on them.
The meta's validator (``meta/app_env.py``) lists every key upstream accepts."""

from __future__ import annotations

# Manual compaction (meta/core/manual_compact.py writes, replica/compact_rules.py reads).
MANUAL_COMPACT_DISABLED = "manual_compact.disabled"
MANUAL_COMPACT_MAX_CONCURRENT_RUNNING_COUNT = "manual_compact.max_concurrent_running_count"
MANUAL_COMPACT_ONCE = "manual_compact.once."
MANUAL_COMPACT_PERIODIC = "manual_compact.periodic."
# Each rule's keys are its prefix and one of these.
TRIGGER_TIME = "trigger_time"
TARGET_LEVEL = "target_level"
BOTTOMMOST_LEVEL_COMPACTION = "bottommost_level_compaction"
BOTTOMMOST_FORCE = "force"
BOTTOMMOST_SKIP = "skip"
