"""Hotkey detection of one partition (pure): upstream's ``hotkey_collector``.

The shell's ``detect_hotkey`` (``RPC_DETECT_HOTKEY``) starts, stops or queries one
collector of a replica, for reads or for writes. A started collector goes through two
stages, each judged at every analysis (every ``analyse_interval_s`` of the server, 10 s
as upstream's ``hotkey_analyse_time_interval_s``):

1. **Coarse**: every request's hash key adds its weight (the keys it touches) to one of
   ``BUCKETS`` (37, a prime) buckets. An analysis looks for a bucket that stands out
   (``find_outlier``, threshold ``BUCKET_THRESHOLD`` = 7, upstream's
   ``hot_bucket_variance_threshold``); the counts start again at each analysis.
2. **Fine**: only that bucket's hash keys are kept, at most ``FINE_QUEUE_MAX`` (1000) per
   analysis; an analysis sums them by key and takes the heaviest when there are fewer
   than three keys or it stands out (threshold ``KEY_THRESHOLD`` = 5,
   ``hot_key_variance_threshold``).

A found key ends it (FINISHED: the query answers the key, a start is refused until a
stop); ``MAX_DETECT_S`` (150 s, ``max_seconds_to_detect_hotkey``) after the start with no
key found, it stops by itself. Upstream buckets with boost's hash; ours is CRC-32, any
fixed hash serving the same purpose.
"""

from __future__ import annotations

import enum
import math
import zlib
from collections.abc import Iterable, Sequence

from pegasus_log.rpc import messages as m
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.storage.schema import MalformedKeyError, decode_key

BUCKETS = 37
BUCKET_THRESHOLD = 7
KEY_THRESHOLD = 5
FINE_QUEUE_MAX = 1000
MAX_DETECT_S = 150.0


class State(enum.Enum):
    STOPPED = "STOPPED"
    COARSE_DETECTING = "COARSE_DETECTING"
    FINE_DETECTING = "FINE_DETECTING"
    FINISHED = "FINISHED"


# What each state may become (STYLE rule 6); a stop is allowed from every state.
TRANSITIONS: dict[State, frozenset[State]] = {
    State.STOPPED: frozenset({State.STOPPED, State.COARSE_DETECTING}),
    State.COARSE_DETECTING: frozenset({State.STOPPED, State.FINE_DETECTING}),
    State.FINE_DETECTING: frozenset({State.STOPPED, State.FINISHED}),
    State.FINISHED: frozenset({State.STOPPED}),
}


def find_outlier(counts: Sequence[int], threshold: float) -> int | None:
    """The index of the largest count when it stands out from the others by at least
    ``threshold`` standard deviations of the others (upstream's ``find_outlier_index``);
    when the others are all equal, when it is larger than them. None otherwise."""
    assert len(counts) > 2, counts
    hot = max(range(len(counts)), key=lambda i: (counts[i], -i))
    hot_value = counts[hot]
    others = [c for i, c in enumerate(counts) if i != hot]
    mean = sum(others) / len(others)
    deviation = math.sqrt(sum((c - mean) ** 2 for c in others) / (len(counts) - 2))
    if deviation == 0:
        return hot if hot_value > mean else None
    return hot if (hot_value - mean) / deviation >= threshold else None


def bucket_of(hash_key: bytes) -> int:
    return zlib.crc32(hash_key) % BUCKETS


class HotkeyCollector:
    """One partition's collector of one kind (reads or writes)."""

    def __init__(self, kind: str) -> None:
        assert kind in ("read", "write"), kind
        self.kind = kind
        self.state = State.STOPPED
        self.hot_key = b""
        self._started_s = 0.0
        self._buckets = [0] * BUCKETS
        self._bucket = -1
        self._fine: list[tuple[bytes, int]] = []

    @property
    def active(self) -> bool:
        return self.state in (State.COARSE_DETECTING, State.FINE_DETECTING)

    # ---- the RPC's actions ------------------------------------------------------------

    def start(self, now_s: float) -> tuple[ErrorCode, str]:
        kind = self.kind.upper()
        if self.active:
            return ErrorCode.ERR_BUSY, (
                f"still detecting {kind} hotkey, state is {self.state.value}"
            )
        if self.state == State.FINISHED:
            return ErrorCode.ERR_BUSY, (
                f"{kind} hotkey result has been found: {escaped(self.hot_key)}, you can send "
                "a stop rpc to restart hotkey detection"
            )
        self._move(State.COARSE_DETECTING)
        self._started_s = now_s
        return ErrorCode.ERR_OK, f"starting to detect {kind} hotkey"

    def stop(self) -> tuple[ErrorCode, str]:
        self._stop()
        return ErrorCode.ERR_OK, f"{self.kind.upper()} hotkey stopped, cache cleared"

    def query(self) -> tuple[ErrorCode, str, str | None]:
        """(error, hint, the hot hash key escaped as upstream's shell prints it)."""
        if self.state != State.FINISHED:
            return ErrorCode.ERR_BUSY, f"Can't get hotkey now, now state: {self.state.value}", None
        return ErrorCode.ERR_OK, "", escaped(self.hot_key)

    # ---- requests and analyses ----------------------------------------------------------

    def capture(self, hash_key: bytes, weight: int) -> None:
        weight = max(weight, 1)
        if self.state == State.COARSE_DETECTING:
            self._buckets[bucket_of(hash_key)] += weight
        elif (
            self.state == State.FINE_DETECTING
            and len(self._fine) < FINE_QUEUE_MAX
            and bucket_of(hash_key) == self._bucket
        ):
            self._fine.append((hash_key, weight))

    def analyse(self, now_s: float) -> None:
        if not self.active:
            return
        if now_s >= self._started_s + MAX_DETECT_S:
            self._stop()  # the time allowed ran out with no hot key
            return
        if self.state == State.COARSE_DETECTING:
            counts, self._buckets = self._buckets, [0] * BUCKETS
            bucket = find_outlier(counts, BUCKET_THRESHOLD)
            if bucket is not None:
                self._bucket = bucket
                self._move(State.FINE_DETECTING)
            return
        weights: dict[bytes, int] = {}
        for key, weight in self._fine:
            weights[key] = weights.get(key, 0) + weight
        self._fine = []
        if not weights:
            return
        heaviest = max(weights, key=lambda k: weights[k])
        values = list(weights.values())
        if len(values) < 3 or find_outlier(values, KEY_THRESHOLD) is not None:
            self.hot_key = heaviest
            self._move(State.FINISHED)

    # ---- inside -----------------------------------------------------------------------

    def _stop(self) -> None:
        self._move(State.STOPPED)
        self.hot_key = b""
        self._buckets = [0] * BUCKETS
        self._bucket = -1
        self._fine = []

    def _move(self, to: State) -> None:
        if to not in TRANSITIONS[self.state]:
            raise AssertionError(f"hotkey collector: {self.state.value} -> {to.value}")
        self.state = to


def escaped(key: bytes) -> str:
    """A key as upstream's ``c_escape_string`` prints it: printable ASCII as it is,
    ``\\\\``, ``\\"``, ``\\'``, ``\\n``, ``\\r``, ``\\t``, every other byte ``\\xHH``."""
    out = []
    for b in key:
        c = chr(b)
        if c in "\\\"'":
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif 0x20 <= b < 0x7F:
            out.append(c)
        else:
            out.append(f"\\x{b:02x}")
    return "".join(out)


def hash_keys(rpc_name: str, request: object) -> Iterable[tuple[bytes, int]]:
    """The (hash key, weight) a data request touches, as upstream's capacity unit
    calculator gives them to the collectors: one per key read or written, a multi
    operation's hash key weighted by its sort keys. Nothing for a request it cannot
    read a key from (the request is refused elsewhere)."""
    try:
        if isinstance(request, bytes):  # get, remove, ttl: an encoded key; sortkey_count
            if rpc_name == m.RRDB_SORTKEY_COUNT.name:
                return [(request, 1)]
            return [(decode_key(request)[0], 1)]
        if isinstance(request, m.UpdateRequest | m.IncrRequest):
            return [(decode_key(request.key)[0], 1)]
        if isinstance(request, m.MultiPutRequest):
            return [(request.hash_key, len(request.kvs))]
        if isinstance(request, m.MultiRemoveRequest | m.MultiGetRequest):
            return [(request.hash_key, len(request.sort_keys))]
        if isinstance(request, m.BatchGetRequest):
            return [(k.hash_key, 1) for k in request.keys]
        if isinstance(request, m.CheckAndSetRequest):
            return [(request.hash_key, 1)]
        if isinstance(request, m.CheckAndMutateRequest):
            return [(request.hash_key, len(request.mutate_list))]
        if isinstance(request, m.GetScannerRequest):
            return [(decode_key(request.start_key)[0], 1)] if request.start_key else []
    except MalformedKeyError:
        return []
    return []
