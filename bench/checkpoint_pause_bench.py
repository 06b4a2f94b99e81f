"""How long a checkpoint stops writes to its partition store.

    python bench/checkpoint_pause_bench.py [--rows 20000] [--trials 3]

Fills one PartitionStore with ``--rows`` puts of 1000 bytes (the memtable a checkpoint
must flush), then per trial rewrites them and takes a checkpoint in a thread while the
main thread keeps putting, as the replica server's event loop does. Prints the
checkpoint's duration, the puts made during it and the longest gap between two puts:
the pause writers see. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pegasus_log.storage import PartitionStore
from pegasus_log.storage.schema import encode_key
from pegasus_log.storage.types import UpdateRequest


def _checkpoint(
    store: PartitionStore, dest: Path, took: list[float], done: threading.Event
) -> None:
    started = time.perf_counter()
    store.checkpoint(dest)
    took.append(time.perf_counter() - started)
    done.set()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=20000)
    p.add_argument("--trials", type=int, default=3)
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="checkpoint-pause-"))
    store = PartitionStore(
        str(root / "db"), clock=time.time, cluster_id=1, partition_index=0, partition_count=1
    )
    value = os.urandom(1000)
    decree = 0
    try:
        for trial in range(args.trials + 1):
            for i in range(args.rows):
                decree += 1
                store.put(decree, UpdateRequest(encode_key(b"h", b"%08d" % i), value))
            if trial == 0:
                continue  # the first fill only
            done = threading.Event()
            took: list[float] = []

            thread = threading.Thread(
                target=_checkpoint, args=(store, root / f"ckpt{trial}", took, done)
            )
            thread.start()
            puts, worst, last = 0, 0.0, time.perf_counter()
            while not done.is_set():
                decree += 1
                store.put(decree, UpdateRequest(encode_key(b"w", b"%08d" % puts), b"v"))
                puts += 1
                now = time.perf_counter()
                worst, last = max(worst, now - last), now
            thread.join()
            print(
                f"trial {trial}: checkpoint {took[0] * 1000:.1f} ms, {puts} puts during it, "
                f"longest gap between puts {worst * 1000:.1f} ms"
            )
    finally:
        store.close()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
