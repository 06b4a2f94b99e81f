"""The simulated storage engine of one replica: the committed mutations it applied, and how
many of them a crash keeps.

Like RocksDB under Pegasus (no write-ahead log of its own), applies are volatile until a
flush; a crash keeps the flushed prefix and the replica's plog must cover the rest. A
checkpoint is durable by construction (taking one flushes first). The content is kept
whole: the simulator's partitions are small.
"""

from __future__ import annotations

from pegasus_log.frozen import frozen
from pegasus_log.replica.plog.mutation import Mutation, MutationUpdate

Content = tuple[MutationUpdate, ...]


@frozen
class Checkpoint:
    # The updates of every decree from 1 to len(decrees).
    decrees: tuple[Content, ...]

    @property
    def decree(self) -> int:
        return len(self.decrees)


class SimStorage:
    def __init__(self) -> None:
        self._decrees: list[Content] = []
        self._durable = 0

    @property
    def applied_decree(self) -> int:
        return len(self._decrees)

    @property
    def durable_decree(self) -> int:
        return self._durable

    def content(self, decree: int) -> Content:
        return self._decrees[decree - 1]

    def apply(self, mutation: Mutation) -> None:
        # The runtime's obligation (effects.py, Apply): consecutive decrees, each once.
        assert mutation.decree == len(self._decrees) + 1, (mutation.decree, len(self._decrees))
        self._decrees.append(mutation.updates)

    def flush(self) -> None:
        self._durable = len(self._decrees)

    def crash(self) -> None:
        del self._decrees[self._durable :]

    def checkpoint(self) -> Checkpoint:
        self.flush()
        return Checkpoint(tuple(self._decrees))

    def install(self, checkpoint: Checkpoint) -> None:
        self._decrees = list(checkpoint.decrees)
        self._durable = len(self._decrees)
