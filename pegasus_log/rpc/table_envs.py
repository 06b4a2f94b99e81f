"""Names of the table envs (``app_info.envs`` keys, upstream's ``replica_envs``) that both
the meta and the replica servers read: the meta writes them, the replicas act on them.
The meta's validator (``meta/app_env.py``) lists every key upstream accepts."""

from __future__ import annotations

from pegasus_log.frozen import frozen

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

# Client request control (replica/client_gate.py reads; meta/app_env.py validates).
WRITE_THROTTLING = "replica.write_throttling"
WRITE_THROTTLING_BY_SIZE = "replica.write_throttling_by_size"
READ_THROTTLING = "replica.read_throttling"
READ_THROTTLING_BY_SIZE = "replica.read_throttling_by_size"
BACKUP_REQUEST_THROTTLING = "replica.backup_request_throttling"
DENY_CLIENT_REQUEST = "replica.deny_client_request"
# Reads slower than this many ms are abnormal (replica/abnormal_reads.py).
SLOW_QUERY_THRESHOLD = "replica.slow_query_threshold"
# Range reads (storage/read.py, storage/scanner.py) stop after this many ms.
ROCKSDB_ITERATION_THRESHOLD_TIME_MS = "replica.rocksdb_iteration_threshold_time_ms"

# Storage (replica/stub.py apply_envs): reads fill the block cache or not; RocksDB options
# by usage scenario (storage/options.py usage_scenario_options).
ROCKSDB_BLOCK_CACHE_ENABLED = "replica.rocksdb_block_cache_enabled"
ROCKSDB_USAGE_SCENARIO = "rocksdb.usage_scenario"
ROCKSDB_WRITE_BUFFER_SIZE = "rocksdb.write_buffer_size"
# Manual compactions also drop or re-time what these rules say (storage/compaction_rules.py).
USER_SPECIFIED_COMPACTION = "user_specified_compaction"

_U64_MAX = (1 << 64) - 1


@frozen
class Throttling:
    """A throttling env's value, ``<units>*delay*<ms>`` and/or ``<units>*reject*<ms>``
    (comma-separated, units ``<n>[K|M]``), for the whole table: 0 units = that part
    absent."""

    delay_units: int = 0
    delay_ms: int = 0
    reject_units: int = 0
    reject_delay_ms: int = 0


def parse_units(arg: str) -> int | str:
    """``<n>[K|M]`` (K = 2^10, M = 2^20): the count, or upstream's hint."""
    multiplier = {"K": 1 << 10, "M": 1 << 20}.get(arg[-1:], 1)
    digits = arg[:-1] if multiplier != 1 else arg
    if not digits.isascii() or not digits.isdigit() or int(digits) > _U64_MAX:
        return f"'{digits}' should be an unsigned integer"
    if int(digits) * multiplier > _U64_MAX:
        return f"'{digits}' result is overflow"
    return int(digits) * multiplier


def _throttling_part(part: str, kind: str) -> tuple[int, int] | str | None:
    """One ``<units>*<kind>*<ms>``: (units, ms); None when it names another kind (then
    the hint is the caller's); a hint when it is malformed."""
    fields = part.split("*")
    if len(fields) != 3:
        return f"The field count of '{part}' separated by '*' must be 3"
    units = parse_units(fields[0])
    if isinstance(units, str):
        return units
    if fields[1] != kind:
        return None
    ms = fields[2]
    if not ms.isascii() or not ms.isdigit() or int(ms) > _U64_MAX:
        return f"'{ms}' should be an unsigned integer"
    return units, int(ms)


def parse_throttling(value: str) -> Throttling | str:
    """A throttling env's value, or upstream's hint for a bad one."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts:
        return "The value shouldn't be empty"
    found: dict[str, tuple[int, int]] = {}
    for part in parts:
        for kind in ("delay", "reject"):
            parsed = _throttling_part(part, kind)
            if parsed is not None:
                break
        if parsed is None:
            return f"'{part.split('*')[1]}' should be 'delay' or 'reject'"
        if isinstance(parsed, str):
            return parsed
        if kind in found:
            return f"duplicate '{kind}' config"
        found[kind] = parsed
    delay, reject = found.get("delay", (0, 0)), found.get("reject", (0, 0))
    return Throttling(delay[0], delay[1], reject[0], reject[1])


def parse_read_size_throttling(value: str) -> int | str | None:
    """``replica.read_throttling_by_size``: the table's read bytes per second, None for a
    value that switches it off, or upstream's hint for a bad one. Upstream takes a plain
    size (``200``, ``200K``), the reject form (its reject units are the bytes; a delay part
    beside it is ignored), and a lone delay part, which it takes but cannot act on (its
    token bucket only rejects), so that value switches the throttling off."""
    size = parse_units(value) if value else None
    if isinstance(size, int) and size > 0:
        return size
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if len(parts) == 1 and isinstance(_throttling_part(parts[0], "delay"), tuple):
        return None
    parsed = parse_throttling(value)
    if isinstance(parsed, str):
        return parsed
    if parsed.reject_units == 0:
        return "reject value should be greater than 0"
    return parsed.reject_units


@frozen
class DenyClient:
    """``replica.deny_client_request``: ``timeout|reconfig`` ``*`` ``all|write|read``.
    Denied requests get no answer (timeout: the client times out and does not hammer
    the server) or ERR_INVALID_STATE (reconfig: the client refreshes its routing)."""

    reads: bool
    writes: bool
    reconfig: bool


def parse_deny_client(value: str) -> DenyClient | None:
    """The env's value, or None when it is not one of the six forms."""
    parts = value.split("*")
    if len(parts) != 2 or parts[0] not in ("timeout", "reconfig"):
        return None
    if parts[1] not in ("all", "write", "read"):
        return None
    return DenyClient(
        reads=parts[1] in ("all", "read"),
        writes=parts[1] in ("all", "write"),
        reconfig=parts[0] == "reconfig",
    )
