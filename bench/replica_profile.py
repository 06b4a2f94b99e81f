"""Where the replica servers' Python time goes during puts, by part of the code.

    pip install py-spy
    PYTHONPATH=$PWD python bench/replica_profile.py [--clients 16] [--seconds 7] [--functions 10]

Starts ZooKeeper, 2 metas and 3 replica servers with table ``temp`` (8 partitions x 3
replicas), drives puts with the Go client (bench/pegasusload; bench/pyload.py without
Go) and samples the three servers with ``py-spy record --gil`` (only the thread holding
the GIL: Python work on the CPU). Each sample is counted for the innermost frame that
belongs to one of the parts below, else as "other"; prints each part's share.
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from kv_bench import _go_loader, _pegasus_load, replicated_temp  # noqa: E402

# part -> substrings of py-spy frame names ("function (file:line)")
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("RocksDB writes", ("RocksStore._write_at", "RocksStore._batch", "RocksStore.apply")),
    ("local checkpoints", ("take_local_checkpoint", "RocksStore.checkpoint", "fsync_tree")),
    ("storage apply outside RocksDB", ("ReplicaServer._apply",)),
    (
        "mutation log",
        ("MutationLog.", "PlogCore.", "encode_mutation", "encode_block", "perform_write"),
    ),
    ("PacificA core", ("ReplicaCore.", "PrepareList.")),
    ("peer codec", ("decode_message", "encode_message")),
    (
        "RPC framing and dispatch",
        (
            "RpcServer._answer",
            "RequestFramer",
            "read_call_header",
            "read_args",
            "encode_reply",
            "_ServerConnection",
            "RpcServer._answered",
            "Connection.post",
            "Outbox",
        ),
    ),
    ("asyncio", ("asyncio/",)),
)


# sample only the thread holding the GIL, 200 times a second, as collapsed stacks
_PY_SPY = ("py-spy", "record", "--gil", "-r", "200", "-f", "raw")


def part_of(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, keys in PARTS:
            if any(k in frame for k in keys):
                return name
    return "other"


def shares(raw: str) -> dict[str, float]:
    """Share of samples per part, from py-spy's raw (collapsed stack) output."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        if not line.strip():
            continue
        stack, n = line.rsplit(" ", 1)
        counts[part_of(stack.split(";")[1:])] += int(n)
    total = sum(counts.values()) or 1
    return {name: count / total for name, count in counts.most_common()}


def self_shares(raw: str, most: int) -> list[tuple[str, float]]:
    """The ``most`` functions holding the most samples as the innermost frame (their own
    time, callees excluded), with their shares; line numbers dropped."""
    counts: collections.Counter[str] = collections.Counter()
    for line in raw.splitlines():
        if not line.strip():
            continue
        stack, n = line.rsplit(" ", 1)
        counts[re.sub(r":\d+\)$", ")", stack.split(";")[-1])] += int(n)
    total = sum(counts.values()) or 1
    return [(name, count / total) for name, count in counts.most_common(most)]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=7.0)
    p.add_argument(
        "--functions", type=int, default=0, help="also print the N functions with most own time"
    )
    args = p.parse_args()
    if shutil.which("py-spy") is None:
        print("py-spy is not installed: pip install py-spy", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="replica-profile-"))
    loader = _go_loader(tmp)
    try:
        with replicated_temp(tmp) as cluster:
            metas = ",".join(cluster.meta_list)
            pids = [cluster.processes[f"replica{i}"].proc.pid for i in (1, 2, 3)]
            outs = [tmp / f"raw{i}.txt" for i in range(3)]
            spies = [
                subprocess.Popen(
                    [*_PY_SPY, "-p", str(pid), "-d", str(int(args.seconds)), "-o", str(out)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                for pid, out in zip(pids, outs, strict=True)
            ]
            load = argparse.Namespace(
                clients=args.clients, seconds=args.seconds + 3, value_size=100, keys=100000
            )
            result = _pegasus_load(loader, metas, "put", load)
            for spy in spies:
                spy.wait()
            raw = "\n".join(out.read_text() for out in outs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{result['ops_per_s']:.0f} puts/s at {args.clients} clients; GIL-held samples:")
    for name, share in shares(raw).items():
        print(f"{share * 100:5.1f}%  {name}")
    if args.functions:
        print("own time (innermost frame), by function:")
        for name, share in self_shares(raw, args.functions):
            print(f"{share * 100:5.1f}%  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
