"""Bounds on one range read (upstream ``range_read_limiter``).

A range read visits rows until it has visited ``count_max`` rows (expired and filtered
rows included), or returned ``size_max_bytes`` of keys and values, or run for
``time_max_ms``. The time is checked about ten times per read, every
``count_max // 10`` rows, as upstream does, so a slow clock costs nothing per row.
"""

from __future__ import annotations

from collections.abc import Callable


class IterationLimiter:
    __slots__ = (
        "_clock",
        "_count",
        "_count_max",
        "_size",
        "_size_max",
        "_start",
        "_time_check_every",
        "_time_max_s",
        "exceeded_time",
    )

    def __init__(
        self,
        *,
        count_max: int,
        size_max_bytes: int,
        time_max_ms: int,
        clock: Callable[[], float],
    ) -> None:
        assert count_max > 0 and size_max_bytes >= 0 and time_max_ms >= 0
        self._clock = clock
        self._count_max = count_max
        self._size_max = size_max_bytes
        self._time_max_s = time_max_ms / 1000.0
        self._time_check_every = 1 if count_max <= 10 else count_max // 10
        self._start = clock() if time_max_ms > 0 else 0.0
        self._count = 0
        self._size = 0
        self.exceeded_time = False

    @property
    def iteration_count(self) -> int:
        return self._count

    def valid(self) -> bool:
        if self._count >= self._count_max:
            return False
        if self._size_max > 0 and self._size >= self._size_max:
            return False
        return self.time_check()

    def time_check(self) -> bool:
        if self._time_max_s <= 0 or (self._count + 1) % self._time_check_every != 0:
            return True
        if self._clock() - self._start > self._time_max_s:
            self.exceeded_time = True
            return False
        return True

    def time_check_after_incomplete_scan(self) -> None:
        if self._time_max_s > 0 and self._clock() - self._start > self._time_max_s:
            self.exceeded_time = True

    def add_count(self) -> None:
        self._count += 1

    def add_size(self, size: int) -> None:
        self._size += size
