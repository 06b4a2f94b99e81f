"""A pure in-memory reference model of Pegasus data semantics, written independently of
the engine: records are a dict ``(hash_key, sort_key) -> (value, expire_ts)`` holding every
physical row (expired ones stay until removed, overwritten or compacted, as in RocksDB),
and range reads are computed over sorted lists of sort keys rather than iterators."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from typing import Any

OK, NOT_FOUND, INVALID, INCOMPLETE, TRY_AGAIN = 0, 1, 4, 7, 13
INT32_MAX = (1 << 31) - 1
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

# strtoll(base 0) over the whole buffer: C spaces, a sign, 0x-hex / 0-octal / decimal
_INT = re.compile(rb"[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


def model_int(data: bytes) -> int | None:
    match = _INT.fullmatch(data)
    if match is None:
        return None
    sign, digits = match.groups()
    if digits[:2] in (b"0x", b"0X"):
        value = int(digits[2:], 16)
    elif digits.startswith(b"0"):
        value = int(digits, 8)
    else:
        value = int(digits)
    value = -value if sign == b"-" else value
    return value if INT64_MIN <= value <= INT64_MAX else None


def model_filter(filter_type: int, pattern: bytes, data: bytes) -> bool:
    if filter_type == 0 or not pattern:
        return True
    if filter_type == 1:
        return pattern in data
    if filter_type == 2:
        return data.startswith(pattern)
    return data.endswith(pattern)


_COMPARE: list[Callable[[Any, Any], Any]] = [
    operator.lt,
    operator.le,
    operator.eq,
    operator.ge,
    operator.gt,
]


def model_check(check_type: int, operand: bytes, value: bytes | None) -> str:
    """'pass', 'fail' or 'invalid' for a supported check type; ``value`` None = missing."""
    exists = value is not None
    if check_type == 0:
        return "pass"
    if 1 <= check_type <= 4:
        results = {
            1: not exists,
            2: not exists or value == b"",
            3: exists,
            4: exists and value != b"",
        }
        return "pass" if results[check_type] else "fail"
    if value is None:
        return "fail"
    if check_type <= 7:
        return "pass" if model_filter(check_type - 4, operand, value) else "fail"
    if check_type <= 12:
        return "pass" if _COMPARE[check_type - 8](value, operand) else "fail"
    value_int, operand_int = model_int(value), model_int(operand)
    if value_int is None or operand_int is None:
        return "invalid"
    return "pass" if _COMPARE[check_type - 13](value_int, operand_int) else "fail"


def _successor(prefix: bytes) -> bytes | None:
    """Smallest string above every extension of ``prefix``; None = above everything."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes((stripped[-1] + 1,))


def _encoded(hash_key: bytes, sort_key: bytes) -> bytes:
    return len(hash_key).to_bytes(2, "big") + hash_key + sort_key


class Model:
    def __init__(self, *, iteration_max: int, iteration_size_max: int) -> None:
        self.rows: dict[tuple[bytes, bytes], tuple[bytes, int]] = {}
        self.default_ttl = 0
        self.iteration_max = iteration_max
        self.iteration_size_max = iteration_size_max

    # ---- state ----

    def alive(self, hash_key: bytes, sort_key: bytes, now: int) -> tuple[bytes, int] | None:
        row = self.rows.get((hash_key, sort_key))
        if row is None or 0 < row[1] <= now:
            return None
        return row

    def _stored_ts(self, expire_ts: int, now: int) -> int:
        stored = expire_ts % (1 << 32)
        if stored == 0 and self.default_ttl:
            stored = now + self.default_ttl
        return stored

    def _write(self, hash_key: bytes, sort_key: bytes, value: bytes, expire: int, now: int) -> None:
        self.rows[(hash_key, sort_key)] = (value, self._stored_ts(expire, now))

    # ---- writes ----

    def put(self, hash_key: bytes, sort_key: bytes, value: bytes, expire: int, now: int) -> int:
        self._write(hash_key, sort_key, value, expire, now)
        return OK

    def remove(self, hash_key: bytes, sort_key: bytes) -> int:
        self.rows.pop((hash_key, sort_key), None)
        return OK

    def multi_put(
        self, hash_key: bytes, kvs: Sequence[tuple[bytes, bytes]], expire: int, now: int
    ) -> int:
        if not kvs:
            return INVALID
        for sort_key, value in kvs:
            self._write(hash_key, sort_key, value, expire, now)
        return OK

    def multi_remove(self, hash_key: bytes, sort_keys: Sequence[bytes]) -> tuple[int, int]:
        if not sort_keys:
            return INVALID, 0
        for sort_key in sort_keys:
            self.rows.pop((hash_key, sort_key), None)
        return OK, len(sort_keys)

    def incr(
        self, hash_key: bytes, sort_key: bytes, increment: int, expire: int, now: int
    ) -> tuple[int, int]:
        row = self.alive(hash_key, sort_key, now)
        if row is None:
            new_value, new_expire = increment, max(expire, 0)
        else:
            old_value, old_expire = row
            new_expire = old_expire if expire == 0 else (0 if expire < 0 else expire)
            if old_value == b"":
                new_value = increment
            else:
                base = model_int(old_value)
                if base is None:
                    return INVALID, 0
                if not INT64_MIN <= base + increment <= INT64_MAX:
                    return INVALID, base
                new_value = base + increment
        self._write(hash_key, sort_key, str(new_value).encode(), new_expire, now)
        return OK, new_value

    def check_and_mutate(
        self,
        hash_key: bytes,
        check_sort_key: bytes,
        check_type: int,
        operand: bytes,
        mutations: Sequence[tuple[bytes, bytes | None, int]],  # value None = delete
        return_check_value: bool,
        now: int,
    ) -> tuple[int, bool, bool, bytes]:
        if not mutations or not 0 <= check_type <= 17:
            return INVALID, False, False, b""
        row = self.alive(hash_key, check_sort_key, now)
        current = None if row is None else row[0]
        reply = (return_check_value, return_check_value and row is not None, current or b"")
        if not return_check_value:
            reply = (False, False, b"")
        outcome = model_check(check_type, operand, current)
        if outcome == "pass":
            for sort_key, value, expire in mutations:
                if value is None:
                    self.rows.pop((hash_key, sort_key), None)
                else:
                    self._write(hash_key, sort_key, value, expire, now)
            return (OK, *reply)
        return (INVALID if outcome == "invalid" else TRY_AGAIN, *reply)

    # ---- reads ----

    def get(self, hash_key: bytes, sort_key: bytes, now: int) -> tuple[int, bytes]:
        row = self.alive(hash_key, sort_key, now)
        return (NOT_FOUND, b"") if row is None else (OK, row[0])

    def ttl(self, hash_key: bytes, sort_key: bytes, now: int) -> tuple[int, int]:
        row = self.alive(hash_key, sort_key, now)
        if row is None:
            return NOT_FOUND, 0
        if row[1] == 0:
            return OK, -1
        remaining = (row[1] - now) % (1 << 32)
        return OK, remaining - (1 << 32) if remaining > INT32_MAX else remaining

    def sortkey_count(self, hash_key: bytes, now: int) -> int:
        return sum(1 for (h, s) in self.rows if h == hash_key and self.alive(h, s, now))

    def alive_rows(self, now: int, hash_key: bytes | None = None) -> list[tuple[bytes, bytes]]:
        """(encoded key, value) of live rows, in key order: what a scan returns."""
        rows = [
            (_encoded(h, s), v)
            for (h, s), (v, _ts) in self.rows.items()
            if (hash_key is None or h == hash_key) and self.alive(h, s, now)
        ]
        return sorted(rows)

    def multi_get_keys(
        self,
        hash_key: bytes,
        sort_keys: Sequence[bytes],
        *,
        max_kv_count: int,
        max_kv_size: int,
        no_value: bool,
        now: int,
    ) -> tuple[int, list[tuple[bytes, bytes]]]:
        count_cap = self._count_cap(max_kv_count)
        size_cap = max_kv_size if max_kv_size > 0 else INT32_MAX
        out: list[tuple[bytes, bytes]] = []
        size = 0
        for sort_key in sort_keys:
            row = self.alive(hash_key, sort_key, now)
            if row is None:
                continue
            if len(out) >= count_cap or size >= size_cap:
                return INCOMPLETE, out
            value = b"" if no_value else row[0]
            out.append((sort_key, value))
            size += len(sort_key) + len(value)
        return OK, out

    def _count_cap(self, max_kv_count: int) -> int:
        if 0 < max_kv_count < self.iteration_max:
            return max_kv_count
        return self.iteration_max

    def multi_get_range(
        self,
        hash_key: bytes,
        *,
        start: bytes,
        stop: bytes,
        start_inclusive: bool,
        stop_inclusive: bool,
        filter_type: int,
        pattern: bytes,
        max_kv_count: int,
        max_kv_size: int,
        no_value: bool,
        reverse: bool,
        now: int,
    ) -> tuple[int, list[tuple[bytes, bytes]]]:
        if not 0 <= filter_type <= 3:
            return INVALID, []
        count_cap = self._count_cap(max_kv_count)
        size_cap = min(
            max_kv_size if max_kv_size > 0 else INT32_MAX,
            self.iteration_size_max or INT32_MAX,
        )
        # bounds in sort-key space; hi None = past every sort key of the hash key
        lo, lo_inclusive = start, start_inclusive
        hi: bytes | None = stop if stop else None
        hi_inclusive = bool(stop) and stop_inclusive
        if filter_type == 2 and pattern:
            if pattern > lo:
                lo, lo_inclusive = pattern, True
            successor = _successor(pattern)
            if hi is None or (successor is not None and successor <= hi):
                hi, hi_inclusive = successor, False

        def inside(sort_key: bytes) -> bool:
            above = sort_key > lo or (lo_inclusive and sort_key == lo)
            below = hi is None or sort_key < hi or (hi_inclusive and sort_key == hi)
            return above and below

        physical = sorted(s for (h, s) in self.rows if h == hash_key)
        candidates = [s for s in physical if inside(s)]
        if reverse:
            candidates.reverse()
        out: list[tuple[bytes, bytes]] = []
        visited = size = 0

        def limits_hit() -> bool:
            return len(out) >= count_cap or visited >= self.iteration_max or size >= size_cap

        for sort_key in candidates:
            if limits_hit():
                return INCOMPLETE, sorted(out)
            visited += 1
            value, expire_ts = self.rows[(hash_key, sort_key)]
            if 0 < expire_ts <= now or not model_filter(filter_type, pattern, sort_key):
                continue
            value = b"" if no_value else value
            out.append((sort_key, value))
            size += len(sort_key) + len(value)
        out.sort()
        if not candidates or not limits_hit():
            return OK, out
        # Stopped by a limit right after the last row in range: upstream answers
        # kIncomplete if its iterator still shows a row, unless that last row was the
        # inclusive bound itself.
        last = candidates[-1]
        if reverse:
            on_bound = lo_inclusive and last == lo
            last_key = _encoded(hash_key, last)
            more = any(_encoded(h, s) < last_key for (h, s) in self.rows)
        else:
            on_bound = hi is not None and hi_inclusive and last == hi
            more = any(s > last for s in physical)
        return (INCOMPLETE if more and not on_bound else OK), out

    # ---- maintenance ----

    def compact(self, now: int) -> None:
        for key, (value, expire_ts) in list(self.rows.items()):
            if 0 < expire_ts <= now:
                del self.rows[key]
            elif expire_ts == 0 and self.default_ttl:
                self.rows[key] = (value, now + self.default_ttl)
