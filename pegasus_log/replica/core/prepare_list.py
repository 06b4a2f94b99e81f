"""The prepare list: one replica's mutations by decree, above and just below its commit
point.

Entries above ``last_committed_decree`` are prepared (logged or being logged) and wait to
be committed; committed entries stay as a cache for learners until the list holds
``capacity`` entries. A decree holds one mutation; a newer ballot replaces an older one
(reconciliation, or a new primary's own write after a failover), never the reverse.

Committing walks from ``last_committed_decree + 1`` while entries are present and ready;
it never skips a decree (committed prefixes stay gap-free). ``commit_target`` remembers the
highest commit point a primary announced, so a secondary that got prepares out of order
finishes committing when the missing one arrives.

The smallest and largest decrees held are cached (``None``: look again): each mutation
asks for them, and the list holds up to ``capacity`` entries (110 by default).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from pegasus_log.replica.core.messages import LogAppended
from pegasus_log.replica.plog.mutation import Mutation
from pegasus_log.rpc.thrift import RpcAddress


@dataclass(slots=True)
class Entry:
    mutation: Mutation
    # The durable-append receipt of this very (ballot, decree), once it came back.
    logged: LogAppended | None = None
    # Secondary / learner: the primary waiting for our ack of this entry.
    ack_to: RpcAddress | None = None

    @property
    def decree(self) -> int:
        return self.mutation.decree

    @property
    def ballot(self) -> int:
        return self.mutation.ballot


class PrepareList:
    def __init__(self, *, last_committed_decree: int, capacity: int) -> None:
        assert last_committed_decree >= 0 and capacity >= 1
        self._entries: dict[int, Entry] = {}
        self._committed = last_committed_decree
        self._target = last_committed_decree
        self._capacity = capacity
        # min / max of self._entries when not None; None: compute on the next ask
        self._low: int | None = None
        self._high: int | None = None
        self._timestamp_us_max = 0

    # ---- state ----

    @property
    def last_committed_decree(self) -> int:
        return self._committed

    @property
    def commit_target(self) -> int:
        return self._target

    @property
    def max_decree(self) -> int:
        """The largest decree held, or the commit point when nothing above it is."""
        if not self._entries:
            return self._committed
        if self._high is None:
            self._high = max(self._entries)
        return self._high

    @property
    def min_decree(self) -> int:
        """The smallest decree held, or commit point + 1 when empty. Every decree from here
        to ``last_committed_decree`` is present (the cache is contiguous)."""
        if not self._entries:
            return self._committed + 1
        return self._lowest()

    @property
    def timestamp_us_max(self) -> int:
        """The largest mutation timestamp ever put here (0: none yet)."""
        return self._timestamp_us_max

    @property
    def capacity(self) -> int:
        return self._capacity

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, decree: int) -> Entry | None:
        return self._entries.get(decree)

    def uncommitted_count(self) -> int:
        return sum(1 for d in self._entries if d > self._committed)

    def uncommitted(self) -> Iterator[Entry]:
        """Entries above the commit point, in decree order."""
        for decree in sorted(d for d in self._entries if d > self._committed):
            yield self._entries[decree]

    def has_room(self, decree: int) -> bool:
        """Whether ``decree`` may be prepared without passing the capacity in uncommitted
        entries (committed ones make room by eviction)."""
        return decree <= self._committed + self._capacity

    def missing_up_to(self, decree: int) -> list[int]:
        """Decrees in (commit point, ``decree``] that are not held."""
        return [d for d in range(self._committed + 1, decree + 1) if d not in self._entries]

    # ---- changes ----

    def put(self, mutation: Mutation) -> Entry:
        """Hold ``mutation`` at its decree, replacing an older ballot's (or the same
        ballot's, for a duplicate) entry. The caller checks ``has_room``."""
        decree = mutation.decree
        assert decree > self._committed, (decree, self._committed)
        assert self.has_room(decree), (decree, self._committed, self._capacity)
        old = self._entries.get(decree)
        assert old is None or old.ballot <= mutation.ballot, (old.ballot, mutation.ballot)
        entry = Entry(mutation)
        self._entries[decree] = entry
        if mutation.timestamp_us > self._timestamp_us_max:
            self._timestamp_us_max = mutation.timestamp_us
        if self._high is not None and decree > self._high:
            self._high = decree
        if self._low is not None and decree < self._low:
            self._low = decree
        return entry

    def raise_target(self, decree: int) -> None:
        self._target = max(self._target, decree)

    def commit(self, ready: Callable[[Entry], bool], *, up_to: int | None = None) -> list[Entry]:
        """Commit consecutive entries from the commit point on, while present, ``ready`` and
        at or below ``up_to`` (default: the commit target). The newly committed entries, in
        decree order."""
        limit = self._target if up_to is None else up_to
        done: list[Entry] = []
        while self._committed < limit:
            entry = self._entries.get(self._committed + 1)
            if entry is None or not ready(entry):
                break
            self._committed += 1
            done.append(entry)
        self._target = max(self._target, self._committed)
        self._evict()
        return done

    def truncate(self) -> list[Entry]:
        """Forget every uncommitted entry (a learner starting over); the dropped ones."""
        dropped = [e for d, e in self._entries.items() if d > self._committed]
        for entry in dropped:
            del self._entries[entry.decree]
        self._low = self._high = None
        self._target = self._committed
        return dropped

    def reset_to(self, decree: int) -> None:
        """Storage now holds everything up to ``decree`` (a checkpoint was installed):
        the commit point jumps there and entries at or below it go."""
        assert decree > self._committed, (decree, self._committed)
        for d in [d for d in self._entries if d <= decree]:
            del self._entries[d]
        self._low = self._high = None
        self._committed = decree
        self._target = max(self._target, decree)

    def _lowest(self) -> int:
        if self._low is None:
            self._low = min(self._entries)
        return self._low

    def _evict(self) -> None:
        while len(self._entries) > self._capacity:
            oldest = self._lowest()
            if oldest > self._committed:
                return
            del self._entries[oldest]
            # the cache below the commit point is contiguous: the next is usually oldest + 1
            self._low = oldest + 1 if oldest + 1 in self._entries else None
            if self._high == oldest:
                self._high = None
