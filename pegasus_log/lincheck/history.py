"""The records of a recorded history, one JSON object per line, as tools/lincheck reads
them. Pure: no clock, no I/O beyond the file helpers at the bottom.

An operation whose outcome the client could not learn (an error after the request may
have reached a primary, a timeout) is UNKNOWN: the checker lets it take effect at any
time after its invocation, or never. Only a check_and_set whose check the server
reported as failed is FAIL, a definite "nothing was written".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

from pegasus_log.frozen import frozen


class Kind(StrEnum):
    GET = "get"
    SET = "set"
    CHECK_AND_SET = "check_and_set"


class Outcome(StrEnum):
    OK = "ok"
    FAIL = "fail"  # check_and_set only: the check failed, nothing was written
    UNKNOWN = "unknown"


@frozen
class Operation:
    """One operation of one client on one key.

    value: written (set, check_and_set) or read (get; None = absent).
    expected: what check_and_set compares with (None = the key must be absent).
    """

    client: int
    key: str
    kind: Kind
    invoke_ns: int
    return_ns: int | None
    outcome: Outcome
    value: str | None = None
    expected: str | None = None
    error: str = ""

    def __post_init__(self) -> None:
        assert self.client >= 0
        assert self.return_ns is None or self.return_ns >= self.invoke_ns
        assert self.outcome != Outcome.FAIL or self.kind == Kind.CHECK_AND_SET
        assert self.kind == Kind.GET or self.value is not None

    @property
    def acknowledged_write(self) -> bool:
        return self.kind != Kind.GET and self.outcome == Outcome.OK

    def to_json(self) -> str:
        record: dict[str, Any] = {
            "client": self.client,
            "key": self.key,
            "op": str(self.kind),
            "value": self.value,
            "invoke_ns": self.invoke_ns,
            "return_ns": self.return_ns,
            "outcome": str(self.outcome),
        }
        if self.kind == Kind.CHECK_AND_SET:
            record["expected"] = self.expected
        if self.error:
            record["error"] = self.error
        return json.dumps(record, separators=(",", ":"))

    @classmethod
    def from_json(cls, line: str) -> Operation:
        r = json.loads(line)
        return cls(
            client=int(r["client"]),
            key=str(r["key"]),
            kind=Kind(r["op"]),
            invoke_ns=int(r["invoke_ns"]),
            return_ns=None if r.get("return_ns") is None else int(r["return_ns"]),
            outcome=Outcome(r["outcome"]),
            value=r.get("value"),
            expected=r.get("expected"),
            error=r.get("error", ""),
        )


def write_history(path: Path, ops: Iterable[Operation]) -> int:
    """Writes one JSON object per line, in invocation order; returns the count."""
    ordered = sorted(ops, key=lambda o: (o.invoke_ns, o.client))
    path.write_text("".join(o.to_json() + "\n" for o in ordered))
    return len(ordered)


def read_history(path: Path) -> list[Operation]:
    return [Operation.from_json(line) for line in path.read_text().splitlines() if line.strip()]


@frozen
class Summary:
    ops: int
    by_kind: dict[str, int]
    by_outcome: dict[str, int]
    acknowledged_writes: int


def summarize(ops: Iterable[Operation]) -> Summary:
    by_kind: dict[str, int] = {}
    by_outcome: dict[str, int] = {}
    count = acked = 0
    for o in ops:
        count += 1
        by_kind[str(o.kind)] = by_kind.get(str(o.kind), 0) + 1
        by_outcome[str(o.outcome)] = by_outcome.get(str(o.outcome), 0) + 1
        acked += o.acknowledged_write
    return Summary(count, by_kind, by_outcome, acked)
