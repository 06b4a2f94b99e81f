"""What one write + fdatasync costs on this disk, into a file it extends or into one
already zero-filled.

    python bench/fsync_bench.py [--processes 1] [--count 2000] [--size 600] [--dir /root]

Each process appends ``--size`` bytes and fdatasyncs, ``--count`` times, to its own file
in ``--dir`` (the mutation log's disk), first a file each write extends (the log's
segments today), then one zero-filled to its final size beforehand (so no fdatasync has
to journal a new file size). Prints, per process, microseconds of wall time and of CPU
(user + system) per fdatasync. ``--processes 3`` is three replica servers syncing at
once. No outside peer: the two files are the comparison.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def _one(mode: str, directory: str, count: int, size: int) -> tuple[float, float]:
    """(wall us, CPU us) per write + fdatasync in this process."""
    with tempfile.NamedTemporaryFile(dir=directory, prefix=f"fsync-{mode}-") as f:
        fd = f.fileno()
        if mode == "zero-filled":
            os.pwrite(fd, bytes(count * size), 0)
            os.fsync(fd)
        data = b"x" * size
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        for i in range(count):
            os.pwrite(fd, data, i * size)
            os.fdatasync(fd)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall / count * 1e6, cpu / count * 1e6


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--processes", type=int, default=1)
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--size", type=int, default=600, help="bytes per write")
    p.add_argument("--dir", default=str(Path.home()), help="a directory on the log's disk")
    args = p.parse_args()
    print(f"{args.processes} process(es), {args.count} writes of {args.size} bytes in {args.dir}")
    print(f"{'file':<12} {'wall us/fsync':>14} {'cpu us/fsync':>13}")
    for mode in ("extended", "zero-filled"):
        work = [(mode, args.dir, args.count, args.size)] * args.processes
        with multiprocessing.Pool(args.processes) as pool:
            results = pool.starmap(_one, work)
        wall = ", ".join(f"{w:.0f}" for w, _ in results)
        cpu = ", ".join(f"{c:.0f}" for _, c in results)
        print(f"{mode:<12} {wall:>14} {cpu:>13}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
