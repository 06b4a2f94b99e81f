"""Table envs: which keys the meta accepts and what it applies to a table's envs.

The key set and the checks of each value are upstream's (src/meta/app_env_validator.cpp,
src/common/replica_envs.cpp): admin tools offer these keys, so a key that upstream takes
must be taken here too, even where pegasus-log's replicas do not act on it yet (it is
then stored and shown, as upstream does for keys its replicas ignore). A refused value
comes back with upstream's hint text.

Pure: strings in, a verdict (hint or None) out.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pegasus_log.frozen import frozen
from pegasus_log.rpc import admin as a
from pegasus_log.rpc.table_envs import (
    parse_deny_client,
    parse_read_size_throttling,
    parse_throttling,
)

# A check returns None when the value is good, else the hint for the client.
Check = Callable[[str], str | None]

_INT = re.compile(r"[+-]?[0-9]+")
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1
# upstream MIN_SLOW_QUERY_THRESHOLD_MS
MIN_SLOW_QUERY_THRESHOLD_MS = 20
WRITE_BUFFER_SIZE_MIN, WRITE_BUFFER_SIZE_MAX = 16 << 20, 512 << 20
NUM_LEVELS_MIN, NUM_LEVELS_MAX = 1, 10


def _bool(value: str) -> str | None:
    if value.lower() in ("true", "false"):
        return None
    return f"invalid value '{value}', should be a boolean"


def _int(bits: int, limit: str, ok: Callable[[int], bool]) -> Check:
    low, high = (I32_MIN, I32_MAX) if bits == 32 else (I64_MIN, I64_MAX)

    def check(value: str) -> str | None:
        if not _INT.fullmatch(value) or not low <= int(value) <= high:
            return f"invalid value '{value}', should be an {bits} bits integer"
        if not ok(int(value)):
            return f"invalid value '{value}', should be '{limit}'"
        return None

    return check


def _one_of(*allowed: str) -> Check:
    hint = " | ".join(sorted(allowed))

    def check(value: str) -> str | None:
        return None if value in allowed else hint

    return check


def _any(value: str) -> str | None:
    return None


def _deny_client(value: str) -> str | None:
    if parse_deny_client(value) is not None:
        return None
    return (
        "Invalid deny client args, valid include: timeout*all, timeout*write, "
        "timeout*read; reconfig*all, reconfig*write, reconfig*read"
    )


def _throttling(value: str) -> str | None:
    parsed = parse_throttling(value)
    return parsed if isinstance(parsed, str) else None


def _size_throttling(value: str) -> str | None:
    """Read size throttling: see ``parse_read_size_throttling``."""
    parsed = parse_read_size_throttling(value)
    return parsed if isinstance(parsed, str) else None


MANUAL_COMPACT_BOTTOMMOST = _one_of("force", "skip")
USAGE_SCENARIO = _one_of("normal", "prefer_write", "bulk_load")

RULES: dict[str, Check] = {
    "replica.slow_query_threshold": _int(
        64, f">= {MIN_SLOW_QUERY_THRESHOLD_MS}", lambda v: v >= MIN_SLOW_QUERY_THRESHOLD_MS
    ),
    "replica.write_throttling": _throttling,
    "replica.write_throttling_by_size": _throttling,
    "replica.rocksdb_iteration_threshold_time_ms": _int(64, ">= 0", lambda v: v >= 0),
    "replica.rocksdb_block_cache_enabled": _bool,
    "replica.read_throttling": _throttling,
    "replica.read_throttling_by_size": _size_throttling,
    "replica.split.validate_partition_hash": _bool,
    "user_specified_compaction": _any,
    "replica.backup_request_throttling": _throttling,
    "rocksdb.allow_ingest_behind": _bool,
    "replica.deny_client_request": _deny_client,
    "rocksdb.write_buffer_size": _int(
        64,
        f"In range [{WRITE_BUFFER_SIZE_MIN}, {WRITE_BUFFER_SIZE_MAX}]",
        lambda v: WRITE_BUFFER_SIZE_MIN <= v <= WRITE_BUFFER_SIZE_MAX,
    ),
    "rocksdb.num_levels": _int(
        64,
        f"In range [{NUM_LEVELS_MIN}, {NUM_LEVELS_MAX}]",
        lambda v: NUM_LEVELS_MIN <= v <= NUM_LEVELS_MAX,
    ),
    "business.info": _any,
    "default_ttl": _int(32, ">= 0", lambda v: v >= 0),
    "rocksdb.usage_scenario": USAGE_SCENARIO,
    "rocksdb.checkpoint.reserve_min_count": _int(32, "> 0", lambda v: v > 0),
    "rocksdb.checkpoint.reserve_time_seconds": _int(32, ">= 0", lambda v: v >= 0),
    "manual_compact.disabled": _bool,
    "manual_compact.max_concurrent_running_count": _int(32, ">= 0", lambda v: v >= 0),
    "manual_compact.once.trigger_time": _int(
        64,
        "> 0, timestamp (in seconds) to trigger the once manual compaction",
        lambda v: v >= 0,
    ),
    "manual_compact.once.target_level": _int(64, "-1 or >= 1", lambda v: v == -1 or v >= 1),
    "manual_compact.once.bottommost_level_compaction": MANUAL_COMPACT_BOTTOMMOST,
    "manual_compact.periodic.trigger_time": _any,
    "manual_compact.periodic.target_level": _int(64, "-1 or >= 1", lambda v: v == -1 or v >= 1),
    "manual_compact.periodic.bottommost_level_compaction": MANUAL_COMPACT_BOTTOMMOST,
    "replica_access_controller.allowed_users": _any,
    "replica_access_controller.ranger_policies": _any,
    "duplication.master_cluster": _any,
    "duplication.master_metas": _any,
    "duplication.master_app_name": _any,
    "duplication.follower_app_status": _any,
}

# The only envs a create checks (upstream's rocksdb static and dynamic options); any
# other key given at create is stored as given (a duplication follower is created with
# duplication.* envs).
CHECKED_AT_CREATE = ("rocksdb.num_levels", "rocksdb.write_buffer_size")


def check(key: str, value: str) -> str | None:
    """None if ``key=value`` may be set, else the hint for the client."""
    rule = RULES.get(key)
    if rule is None:
        return f"app_env '{key}' is not supported"
    return rule(value)


def check_at_create(envs: dict[str, str]) -> str | None:
    for key in CHECKED_AT_CREATE:
        if key in envs:
            hint = check(key, envs[key])
            if hint is not None:
                return f"app env '{key}={envs[key]}' is invalid: {hint}"
    return None


@frozen
class EnvUpdate:
    """The outcome of one update_app_env: the new envs, or a refusal with its hint."""

    envs: dict[str, str]
    refused: bool = False
    hint: str = ""


def apply(envs: dict[str, str], req: a.UpdateAppEnvRequest) -> EnvUpdate:
    """Apply a set / del / clear to ``envs`` (not changed in place)."""
    op = req.op
    if op == a.AppEnvOperation.APP_ENV_OP_SET:
        keys, values = req.keys or [], req.values or []
        if not keys or len(keys) != len(values):
            return EnvUpdate(envs, refused=True, hint="set needs as many values as keys")
        out = dict(envs)
        for k, v in zip(keys, values, strict=True):
            hint = check(k, v)
            if hint is not None:
                return EnvUpdate(envs, refused=True, hint=hint)
            out[k] = v
        return EnvUpdate(out)
    if op == a.AppEnvOperation.APP_ENV_OP_DEL:
        if not req.keys:
            return EnvUpdate(envs, refused=True, hint="del needs keys")
        return EnvUpdate({k: v for k, v in envs.items() if k not in set(req.keys)})
    if op == a.AppEnvOperation.APP_ENV_OP_CLEAR:
        if req.clear_prefix is None:
            return EnvUpdate(
                envs, refused=True, hint="clear needs a prefix (empty clears every env)"
            )
        if not req.clear_prefix:
            return EnvUpdate({})
        dotted = req.clear_prefix + "."
        return EnvUpdate({k: v for k, v in envs.items() if not k.startswith(dotted)})
    return EnvUpdate(
        envs,
        refused=True,
        hint=f"recv a invalid update_app_env request with op = {_op_name(op)}",
    )


def _op_name(op: int) -> str:
    try:
        return a.AppEnvOperation(op).name
    except ValueError:
        return str(op)
