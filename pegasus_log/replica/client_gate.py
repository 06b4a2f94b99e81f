"""What a table's envs say about one partition's client requests before they are served:
upstream's throttling (``replica.write_throttling``, ``replica.write_throttling_by_size``,
``replica.read_throttling``, ``replica.backup_request_throttling``) and
``replica.deny_client_request``.

Pure: the envs, the partition count and the current time come in as arguments; a
``Verdict`` comes out, and the runtime carries it out (``replica/runtime.py``).

Upstream's rules (src/utils/throttling_controller.cpp, src/replica/replica_throttle.cpp):

- A table-wide limit is split over the partitions: ``units // partition_count + 1`` per
  partition (a limit of 0 units is off).
- Units are counted per second (one per request; the request's body bytes
  for ``write_throttling_by_size``); the count starts again each new second.
- Past the reject limit the request is refused with ERR_BUSY after the reject delay and
  does not count; past the delay limit it waits the delay, then is served without being
  throttled again. A delay is at most half the client's timeout when it sent one.
- A backup request (a read a client sent to a secondary as well) past its reject limit
  gets no answer at all.
- ``deny_client_request``: denied requests get ERR_INVALID_STATE (``reconfig*``) or no
  answer (``timeout*``), before anything else is looked at.

``replica.read_throttling_by_size`` is upstream's token bucket of read bytes
(src/utils/token_bucket_throttling_controller.cpp, src/server/capacity_unit_calculator.cpp):

- The partition's share is ``bytes // partition_count`` per second, refilled continuously
  and held up to one second's worth.
- A read is refused with ERR_BUSY at once while the bucket is empty or in debt; backup
  requests too. Otherwise it is served, and then what it read is taken from the bucket,
  which may go into debt: a large read is served whole, and the reads after it wait until
  the debt is paid back.
- What a read costs is upstream's read capacity size (``read_bytes``): the key and value
  of a get, the hash key with each row's sort key and value of a multi_get, every row's
  keys and value of a batch_get or a scan batch, and 1 for a row not found, a
  sortkey_count or a ttl.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pegasus_log.frozen import frozen
from pegasus_log.rpc import table_envs as te
from pegasus_log.storage.status import StorageStatus


class Action(enum.Enum):
    PASS = "pass"
    DELAY = "delay"  # wait, then serve without throttling
    REJECT = "reject"  # wait, then ERR_BUSY
    DROP = "drop"  # no answer at all
    REFUSE = "refuse"  # ERR_INVALID_STATE at once


@frozen
class Verdict:
    action: Action
    delay_ms: int = 0


PASS = Verdict(Action.PASS)
_DROP = Verdict(Action.DROP)
_REFUSE = Verdict(Action.REFUSE)
_BUSY = Verdict(Action.REJECT)


@dataclass(slots=True)
class Throttle:
    """One throttling env of one partition."""

    value: str
    delay_units: int
    delay_ms: int
    reject_units: int
    reject_delay_ms: int
    second: int = -1
    units: int = 0

    @classmethod
    def of(cls, value: str, partition_count: int) -> Throttle | None:
        """The partition's share of the table's limit, or None when the value does not
        parse (upstream then throttles nothing)."""
        parsed = te.parse_throttling(value)
        if isinstance(parsed, str):
            return None

        def share(units: int) -> int:
            return 0 if units == 0 else units // max(1, partition_count) + 1

        return cls(
            value,
            share(parsed.delay_units),
            parsed.delay_ms,
            share(parsed.reject_units),
            parsed.reject_delay_ms,
        )

    def control(self, now_s: int, timeout_ms: int, units: int) -> Verdict:
        if now_s != self.second:
            self.second, self.units = now_s, 0
        self.units += units
        if self.reject_units and self.units > self.reject_units:
            self.units -= units
            return Verdict(Action.REJECT, _capped(self.reject_delay_ms, timeout_ms))
        if self.delay_units and self.units > self.delay_units:
            return Verdict(Action.DELAY, _capped(self.delay_ms, timeout_ms))
        return PASS


@dataclass(slots=True)
class ReadBytes:
    """``replica.read_throttling_by_size`` of one partition: a token bucket of read bytes
    that refills at ``rate`` per second up to ``rate``. ``empty_at`` is the time at which
    the bucket held nothing (in the future while it is in debt), so the tokens at ``now``
    are ``min((now - empty_at) * rate, rate)``."""

    value: str
    rate: int
    empty_at: float = float("-inf")

    @classmethod
    def of(cls, value: str, partition_count: int) -> ReadBytes | None:
        """The partition's share, or None when the value switches it off or does not
        parse."""
        parsed = te.parse_read_size_throttling(value)
        if not isinstance(parsed, int):
            return None
        return cls(value, max(1, parsed // max(1, partition_count)))

    def available(self, now: float) -> bool:
        return now > self.empty_at

    def take(self, now: float, nbytes: int) -> None:
        tokens = min((now - self.empty_at) * self.rate, float(self.rate)) - nbytes
        self.empty_at = now - tokens / self.rate


_READ_COUNTED = frozenset(
    (
        StorageStatus.kOk,
        StorageStatus.kNotFound,
        StorageStatus.kIncomplete,
        StorageStatus.kInvalidArgument,
    )
)
_ONE_UNIT = frozenset(("sortkey_count", "ttl"))


def read_bytes(method: str, request: Any, response: Any) -> int:
    """What a served read takes from the read size bucket (upstream's read capacity size;
    0 for an outcome upstream does not count). ``request`` and ``response`` are the storage
    engine's (``storage/types.py``)."""
    error = response.error
    if method in _ONE_UNIT:
        return 1 if error in (StorageStatus.kOk, StorageStatus.kNotFound) else 0
    if error == StorageStatus.kNotFound:
        return 1
    if method == "get":
        return len(request) + len(response.value) if error == StorageStatus.kOk else 0
    if error not in _READ_COUNTED:
        return 0
    if method == "multi_get":
        hash_key = len(request.hash_key)
        return sum(hash_key + len(kv.key) + len(kv.value) for kv in response.kvs)
    if method == "batch_get":
        return sum(len(d.hash_key) + len(d.sort_key) + len(d.value) for d in response.data)
    if method in ("get_scanner", "scan"):
        return sum(len(kv.key) + len(kv.value) for kv in response.kvs)
    return 0


def _capped(delay_ms: int, timeout_ms: int) -> int:
    return min(delay_ms, timeout_ms // 2) if timeout_ms > 0 else delay_ms


# The counters, under upstream's replica metric names.
COUNTERS = (
    "throttling_delayed_write_requests",
    "throttling_rejected_write_requests",
    "throttling_delayed_read_requests",
    "throttling_rejected_read_requests",
    "backup_requests",
    "throttling_delayed_backup_requests",
    "throttling_rejected_backup_requests",
)


@dataclass(slots=True)
class ClientGate:
    """A partition's gate. ``active`` is False while no env applies, so a request pays
    one attribute test."""

    active: bool = False
    write_qps: Throttle | None = None
    write_size: Throttle | None = None
    read_qps: Throttle | None = None
    backup_qps: Throttle | None = None
    read_size: ReadBytes | None = None
    deny: te.DenyClient | None = None
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))

    def update(self, envs: Mapping[str, str], partition_count: int) -> list[str]:
        """Take the table's envs; what changed, as lines for the log."""
        changes: list[str] = []

        def throttle(key: str, old: Throttle | None) -> Throttle | None:
            value = envs.get(key)
            if value is None:
                new = None
            elif old is not None and old.value == value:
                return old  # unchanged: keep this second's count
            else:
                new = Throttle.of(value, partition_count)
            if (old.value if old else None) != (new.value if new else None):
                before, after = old.value if old else "", new.value if new else ""
                changes.append(f'switch {key} from "{before}" to "{after}"')
            return new

        self.write_qps = throttle(te.WRITE_THROTTLING, self.write_qps)
        self.write_size = throttle(te.WRITE_THROTTLING_BY_SIZE, self.write_size)
        self.read_qps = throttle(te.READ_THROTTLING, self.read_qps)
        self.backup_qps = throttle(te.BACKUP_REQUEST_THROTTLING, self.backup_qps)
        self.read_size = self._read_size(envs, partition_count, changes)
        deny = te.parse_deny_client(envs.get(te.DENY_CLIENT_REQUEST, ""))
        if deny != self.deny:
            changes.append(f"deny client requests: {deny}")
        self.deny = deny
        throttles = (self.write_qps, self.write_size, self.read_qps, self.backup_qps)
        self.active = any(t is not None for t in throttles) or (
            deny is not None or self.read_size is not None
        )
        return changes

    def _read_size(
        self, envs: Mapping[str, str], partition_count: int, changes: list[str]
    ) -> ReadBytes | None:
        old = self.read_size
        value = envs.get(te.READ_THROTTLING_BY_SIZE)
        new = ReadBytes.of(value, partition_count) if value is not None else None
        if old is not None and new is not None and (old.value, old.rate) == (new.value, new.rate):
            return old  # unchanged: keep the bucket
        if (old.value if old else None) != (new.value if new else None):
            before, after = old.value if old else "", new.value if new else ""
            changes.append(f'switch {te.READ_THROTTLING_BY_SIZE} from "{before}" to "{after}"')
        return new

    def on_write(self, now: float, timeout_ms: int, body_bytes: int) -> Verdict:
        deny = self.deny
        if deny is not None and deny.writes:
            return _REFUSE if deny.reconfig else _DROP
        for throttle, units in ((self.write_qps, 1), (self.write_size, body_bytes)):
            if throttle is not None:
                verdict = throttle.control(int(now), timeout_ms, units)
                if verdict is not PASS:
                    self._count(verdict, "write")
                    return verdict
        return PASS

    def on_read(self, now: float, timeout_ms: int, *, backup: bool) -> Verdict:
        """``now`` in seconds of a monotonic clock: the per-second counts start again at
        each whole second of it, and the read size bucket refills by it."""
        deny = self.deny
        if deny is not None and deny.reads:
            return _REFUSE if deny.reconfig else _DROP
        throttle = self.backup_qps if backup else self.read_qps
        if throttle is not None:
            verdict = throttle.control(int(now), timeout_ms, 1)
            if verdict is not PASS:
                if backup and verdict.action is Action.REJECT:
                    verdict = _DROP
                self._count(verdict, "backup" if backup else "read")
                return verdict
        if self.read_size is not None and not self.read_size.available(now):
            self.counts["throttling_rejected_read_requests"] += 1
            return _BUSY
        return PASS

    def after_read(self, now: float, nbytes: int) -> None:
        """A read was served and read ``nbytes`` (``read_bytes``)."""
        if self.read_size is not None and nbytes:
            self.read_size.take(now, nbytes)

    def _count(self, verdict: Verdict, kind: str) -> None:
        what = "delayed" if verdict.action is Action.DELAY else "rejected"
        self.counts[f"throttling_{what}_{kind}_requests"] += 1
