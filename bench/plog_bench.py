"""Mutation log (plog) appends: N concurrent writers of 100-byte mutations, fsync on and off.

    python bench/plog_bench.py [--writers 1,4,16,64] [--seconds 3] [--body-bytes 100]
                               [--dir PATH] [--write-on loop,thread]

Each writer is an asyncio task that appends one mutation at a time and waits until it is
durable (``await log.append(m)``), as a replica does for each prepare. The log runs on real
files (``FileLogDisk``) in a fresh directory under ``--dir`` (default: the system temp dir;
point it at the disk the replica would use). Prints appends/s, p50/p99 append latency, and
fdatasync calls per append (group commit shows as far fewer than one), for each place the
log can write from (``PlogConfig.write_on``: the event loop or a worker thread). Nothing
is asserted: these are figures to record.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO)]

from pegasus_log.replica.plog import (  # noqa: E402
    FileLogDisk,
    Mutation,
    MutationLog,
    MutationUpdate,
    PlogConfig,
)
from pegasus_log.rpc.thrift import Gpid  # noqa: E402


async def _run(
    log: MutationLog, writers: int, seconds: float, body_bytes: int
) -> tuple[int, list[float], float]:
    latencies: list[float] = []
    body = b"v" * body_bytes
    deadline = time.perf_counter() + seconds

    async def writer(w: int) -> None:
        decree = 0
        while time.perf_counter() < deadline:
            decree += 1
            m = Mutation(
                gpid=Gpid(1, w),
                ballot=1,
                decree=decree,
                last_committed_decree=decree - 1,
                timestamp_us=time.time_ns() // 1000,
                updates=(MutationUpdate("RPC_RRDB_RRDB_PUT", body),),
            )
            start = time.perf_counter()
            await log.append(m)
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    elapsed = time.perf_counter() - began
    await log.close()
    return len(latencies), latencies, elapsed


def _one(
    root: Path, *, fsync: bool, write_on: str, writers: int, seconds: float, body_bytes: int
) -> str:
    with tempfile.TemporaryDirectory(dir=root, prefix="plog-bench-") as tmp:
        log = MutationLog.open(FileLogDisk(tmp), PlogConfig(fsync=fsync, write_on=write_on))
        count, latencies, elapsed = asyncio.run(_run(log, writers, seconds, body_bytes))
        stats = log.stats()
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return (
        f"{'on' if fsync else 'off':>5} {write_on:>8} {writers:>7} {count / elapsed:>10.0f} "
        f"{cuts[49] * 1e3:>8.3f} {cuts[98] * 1e3:>8.3f} "
        f"{stats.syncs / max(1, stats.appends):>12.4f} "
        f"{stats.appends / max(1, stats.batches):>14.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", default="1,4,16,64")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--body-bytes", type=int, default=100)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument(
        "--write-on", default="loop,thread", help="where the log writes: loop, thread or both"
    )
    args = parser.parse_args()
    writer_counts = [int(x) for x in args.writers.split(",")]
    print(
        f"plog appends of {args.body_bytes}-byte mutations, {args.seconds:g} s per row, {args.dir}"
    )
    print(
        f"{'fsync':>5} {'write on':>8} {'writers':>7} {'appends/s':>10} {'p50 ms':>8} "
        f"{'p99 ms':>8} {'fsyncs/append':>12} {'appends/batch':>14}"
    )
    for fsync in (True, False):
        for write_on in args.write_on.split(","):
            for writers in writer_counts:
                row = _one(
                    args.dir,
                    fsync=fsync,
                    write_on=write_on,
                    writers=writers,
                    seconds=args.seconds,
                    body_bytes=args.body_bytes,
                )
                print(row, flush=True)


if __name__ == "__main__":
    main()
