"""Table env ``user_specified_compaction``: the operator's own rules for what a compaction
deletes or re-times, as upstream's (src/server/compaction_operation.h,
compaction_filter_rule.h). Pure: the env's JSON in, operations out; a record's keys,
expire time and the current time in, a decision out. The sweep (``compaction.py``) acts.

The value is JSON, each ``params`` itself a JSON string, enum values by name::

    {"ops": [{"type": "COT_DELETE", "params": "",
              "rules": [{"type": "FRT_HASHKEY_PATTERN",
                         "params": "{\\"pattern\\": \\"user_\\",
                                     \\"match_type\\": \\"SMT_MATCH_PREFIX\\"}"}]},
             {"type": "COT_UPDATE_TTL",
              "params": "{\\"type\\": \\"UTOT_FROM_NOW\\", \\"value\\": 86400}",
              "rules": [{"type": "FRT_TTL_RANGE",
                         "params": "{\\"start_ttl\\": 0, \\"stop_ttl\\": 0}"}]}]}

Upstream's rules, kept here:

- An operation applies to a record when every one of its rules matches; an operation
  without a valid rule is left out, as is an operation or rule that does not parse. A
  value that is not such JSON at all gives no operations.
- ``FRT_HASHKEY_PATTERN`` / ``FRT_SORTKEY_PATTERN``: ``pattern`` found anywhere in the
  key, at its start or at its end (``SMT_MATCH_ANYWHERE``, ``SMT_MATCH_PREFIX``,
  ``SMT_MATCH_POSTFIX``); an empty pattern matches nothing.
- ``FRT_TTL_RANGE``: the record expires between ``start_ttl`` and ``stop_ttl`` seconds
  from now, both ends included; with both 0 it matches records without a TTL.
- ``COT_DELETE`` drops the record. ``COT_UPDATE_TTL`` sets its expire time:
  ``UTOT_FROM_NOW`` to now + value, ``UTOT_FROM_CURRENT`` to its expire time + value
  (records without a TTL are left alone), ``UTOT_TIMESTAMP`` to the Unix second value.
- The operations are tried in order: the first delete that applies drops the record;
  every update that applies before it rewrites the expire time, the last one winning.
  Each operation sees the record as it was before any of them.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from typing import Any

from pegasus_log.frozen import frozen
from pegasus_log.storage.schema import EXPIRE_TS_MAX, PEGASUS_EPOCH


class Match(enum.Enum):
    ANYWHERE = "SMT_MATCH_ANYWHERE"
    PREFIX = "SMT_MATCH_PREFIX"
    POSTFIX = "SMT_MATCH_POSTFIX"


class TtlUpdate(enum.Enum):
    FROM_NOW = "UTOT_FROM_NOW"
    FROM_CURRENT = "UTOT_FROM_CURRENT"
    TIMESTAMP = "UTOT_TIMESTAMP"


@frozen
class KeyPattern:
    sort_key: bool  # False: the hash key
    pattern: bytes
    match: Match

    def matches(self, hash_key: bytes, sort_key: bytes, expire_ts: int, now: int) -> bool:
        key = sort_key if self.sort_key else hash_key
        if not self.pattern:
            return False
        if self.match is Match.PREFIX:
            return key.startswith(self.pattern)
        if self.match is Match.POSTFIX:
            return key.endswith(self.pattern)
        return self.pattern in key


@frozen
class TtlRange:
    start_ttl: int
    stop_ttl: int

    def matches(self, hash_key: bytes, sort_key: bytes, expire_ts: int, now: int) -> bool:
        if expire_ts == 0 and self.start_ttl == 0 and self.stop_ttl == 0:
            return True
        return self.start_ttl + now <= expire_ts <= self.stop_ttl + now


Rule = KeyPattern | TtlRange


@frozen
class Operation:
    rules: tuple[Rule, ...]
    # None: delete; else how the expire time is set, and the figure.
    update: TtlUpdate | None = None
    value: int = 0

    def applies(self, hash_key: bytes, sort_key: bytes, expire_ts: int, now: int) -> bool:
        return all(r.matches(hash_key, sort_key, expire_ts, now) for r in self.rules)


@frozen
class Decision:
    delete: bool = False
    expire_ts: int | None = None  # the new expire time (Pegasus epoch seconds)


KEEP = Decision()


def decide(
    operations: Sequence[Operation], hash_key: bytes, sort_key: bytes, expire_ts: int, now: int
) -> Decision:
    """What the operations do to one record (``now`` and ``expire_ts`` in seconds since
    the Pegasus epoch, 2016-01-01)."""
    new_ts: int | None = None
    for op in operations:
        if not op.applies(hash_key, sort_key, expire_ts, now):
            continue
        if op.update is None:
            return Decision(delete=True)
        if op.update is TtlUpdate.FROM_NOW:
            new_ts = now + op.value
        elif op.update is TtlUpdate.FROM_CURRENT:
            if expire_ts == 0:
                continue
            new_ts = expire_ts + op.value
        else:
            new_ts = op.value - PEGASUS_EPOCH
        new_ts &= EXPIRE_TS_MAX  # upstream's u32
    return KEEP if new_ts is None else Decision(expire_ts=new_ts)


def parse(value: str) -> tuple[Operation, ...]:
    """The env's operations; those that do not parse are left out (upstream logs and
    skips them)."""
    try:
        doc = json.loads(value) if value else {}
    except ValueError:
        return ()
    ops = doc.get("ops") if isinstance(doc, dict) else None
    if not isinstance(ops, list):
        return ()
    out = []
    for op in ops:
        parsed = _operation(op) if isinstance(op, dict) else None
        if parsed is not None:
            out.append(parsed)
    return tuple(out)


def _params(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, str):
        return None
    try:
        params = json.loads(raw)
    except ValueError:
        return None
    return params if isinstance(params, dict) else None


def _u32(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= EXPIRE_TS_MAX
    return value if ok else None


def _rule(rule: Any) -> Rule | None:
    if not isinstance(rule, dict):
        return None
    kind, params = rule.get("type"), _params(rule.get("params"))
    if params is None:
        return None
    if kind in ("FRT_HASHKEY_PATTERN", "FRT_SORTKEY_PATTERN"):
        pattern, match = params.get("pattern"), params.get("match_type")
        if not isinstance(pattern, str) or match not in {m.value for m in Match}:
            return None
        return KeyPattern(kind == "FRT_SORTKEY_PATTERN", pattern.encode(), Match(match))
    if kind == "FRT_TTL_RANGE":
        start, stop = _u32(params.get("start_ttl")), _u32(params.get("stop_ttl"))
        if start is None or stop is None:
            return None
        return TtlRange(start, stop)
    return None


def _operation(op: dict[str, Any]) -> Operation | None:
    raw_rules = op.get("rules")
    rules = tuple(
        r for r in (_rule(x) for x in (raw_rules if isinstance(raw_rules, list) else ())) if r
    )
    if not rules:
        return None
    kind = op.get("type")
    if kind == "COT_DELETE":
        return Operation(rules)
    if kind == "COT_UPDATE_TTL":
        params = _params(op.get("params"))
        if params is None or params.get("type") not in {t.value for t in TtlUpdate}:
            return None
        value = _u32(params.get("value"))
        if value is None:
            return None
        return Operation(rules, TtlUpdate(params["type"]), value)
    return None
