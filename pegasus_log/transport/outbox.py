"""Frames bound for one stream, sent together once per event-loop pass.

asyncio's transport tries a ``send`` syscall for every ``write`` on an idle socket. A
replica server answers the client writes of one mutation, or prepares several
partitions, within one loop pass; gathering those frames and writing them as one buffer
at the end of the pass makes that one syscall instead of one per frame. The delay is
one loop pass.
"""

from __future__ import annotations

import asyncio
from typing import Protocol


class Writable(Protocol):
    """What an outbox writes to: an asyncio transport or a StreamWriter."""

    def write(self, data: bytes) -> None: ...

    def is_closing(self) -> bool: ...


class Outbox:
    __slots__ = ("_frames", "_writer")

    def __init__(self, writer: Writable) -> None:
        self._writer = writer
        self._frames: list[bytes] = []

    def put(self, frame: bytes) -> None:
        if not self._frames:
            asyncio.get_running_loop().call_soon(self._flush)
        self._frames.append(frame)

    def _flush(self) -> None:
        frames, self._frames = self._frames, []
        if frames and not self._writer.is_closing():
            self._writer.write(b"".join(frames))

    def flush_now(self) -> None:
        """Write what is gathered at once (before closing the stream: a frame left for
        the end of the pass would find the stream closed and be lost)."""
        self._flush()
