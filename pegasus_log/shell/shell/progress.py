"""Progress of count_data, copy_data and clear_data: a tqdm bar on a terminal, upstream's
once-a-second ``INFO: processed for ...`` lines anywhere else (logs, pipes), or when tqdm
is not installed."""

from __future__ import annotations

import time
from typing import Protocol, TextIO

from pegasus_log.shell.shell.bulk import Job

# Upstream prints one status line a second.
_LINE_INTERVAL_S = 1.0


class Progress(Protocol):
    def tick(self) -> None: ...

    def close(self) -> None: ...


def make_progress(job: Job, *, desc: str, stream: TextIO, hash_keys: bool = False) -> Progress:
    if stream.isatty():
        try:
            return TqdmProgress(job, desc=desc, stream=stream)
        except ImportError:
            pass
    return LineProgress(job, stream=stream, hash_keys=hash_keys)


def status_line(job: Job, seconds: int, last_rows: int, *, hash_keys: bool = False) -> str:
    keys = f" ({job.hash_keys} hash keys)" if hash_keys else ""
    return (
        f"INFO: processed for {seconds} seconds, ({job.completed}/{len(job.splits)}) splits, "
        f"total {job.rows} rows{keys}, last second {job.rows - last_rows} rows"
        + (", error occurred, terminating..." if job.error else "")
    )


class LineProgress:
    def __init__(self, job: Job, *, stream: TextIO, hash_keys: bool = False) -> None:
        self._job = job
        self._stream = stream
        self._hash_keys = hash_keys
        self._last_print = time.monotonic()
        self._last_rows = 0

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._last_print >= _LINE_INTERVAL_S:
            self._print(now)

    def _print(self, now: float) -> None:
        seconds = int(now - self._job.started)
        line = status_line(self._job, seconds, self._last_rows, hash_keys=self._hash_keys)
        print(line, file=self._stream, flush=True)
        self._last_print = now
        self._last_rows = self._job.rows

    def close(self) -> None:
        self._print(time.monotonic())


class TqdmProgress:
    def __init__(self, job: Job, *, desc: str, stream: TextIO) -> None:
        from tqdm import tqdm  # optional: LineProgress when it is missing

        self._job = job
        self._bar = tqdm(
            desc=desc, unit=" rows", file=stream, dynamic_ncols=True, mininterval=0.2, leave=True
        )

    def tick(self) -> None:
        job = self._job
        self._bar.set_postfix_str(f"{job.completed}/{len(job.splits)} splits", refresh=False)
        self._bar.update(job.rows - self._bar.n)

    def close(self) -> None:
        self.tick()
        self._bar.close()
