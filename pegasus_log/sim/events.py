"""The simulated clock and its event queue, and the trace every run leaves.

Time is a float of seconds that only moves when the next event is taken. Events at the same
time run in the order they were scheduled (a sequence number breaks ties), so a run is a
function of its seed. Each event's label goes into a SHA-256 trace: two runs of one seed
must end with the same hash (``python -m pegasus_log.sim --seed N`` prints it).
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(order=True, slots=True)
class _Event:
    at: float
    seq: int
    label: str = field(compare=False)
    action: Callable[[], None] = field(compare=False)


class EventQueue:
    def __init__(self) -> None:
        self._heap: list[_Event] = []
        self._seq = 0
        self.now = 0.0
        self.events = 0
        self._trace = hashlib.sha256()
        # Called after every event (the world's checker).
        self.after_event: Callable[[], None] = lambda: None

    def at(self, when: float, label: str, action: Callable[[], None]) -> None:
        assert when >= self.now, (when, self.now)
        self._seq += 1
        heapq.heappush(self._heap, _Event(when, self._seq, label, action))

    def after(self, delay: float, label: str, action: Callable[[], None]) -> None:
        self.at(self.now + max(0.0, delay), label, action)

    def trace(self, line: str) -> None:
        self._trace.update(f"{self.now:.6f} {line}\n".encode())

    @property
    def trace_hash(self) -> str:
        return self._trace.hexdigest()

    def next_time(self) -> float | None:
        return self._heap[0].at if self._heap else None

    def step(self) -> bool:
        """Run the next event; False when none is left."""
        if not self._heap:
            return False
        event = heapq.heappop(self._heap)
        self.now = event.at
        self.events += 1
        self.trace(event.label)
        event.action()
        self.after_event()
        return True

    def run_until(self, until: float, *, stop: Callable[[], bool] | None = None) -> bool:
        """Run events up to time ``until`` (or until ``stop()`` holds, checked after each
        event). Leaves the clock at ``until`` unless stopped. True if stopped."""
        while self._heap and self._heap[0].at <= until:
            self.step()
            if stop is not None and stop():
                return True
        self.now = max(self.now, until)
        return False
