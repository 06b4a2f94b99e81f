"""Python function calls per replicated put, by function, over the three replica servers.

    PYTHONPATH=$PWD python bench/replica_calls.py [--clients 16] [--seconds 6] [--functions 30]
        [--sort calls|time]

Starts ZooKeeper, 2 metas and 3 replica servers with table ``temp`` (8 partitions x 3
replicas), each Python process carrying a ``sitecustomize`` (from a scratch directory put
first on ``PYTHONPATH``) that switches ``cProfile`` on and off on SIGUSR1 and writes its
statistics when switched off. Puts run with the Go client (bench/pegasusload;
bench/pyload.py without Go); the three servers are profiled for the middle of the run.
Prints the calls per put over the three servers (every Python function and every builtin
call cProfile sees), and the functions with the most calls per put with their share of
the profiled time (cProfile's own overhead inflates call-heavy functions: use the time
column to rank, not to quote).
"""

from __future__ import annotations

import argparse
import os
import pstats
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

from kv_bench import _go_loader, _pegasus_load, replicated_temp  # noqa: E402

# Loaded by every Python process of the cluster; only the replica servers are signalled.
_SITECUSTOMIZE = """
import cProfile, os, signal

_profile = None


def _toggle(_signum, _frame):
    global _profile
    if _profile is None:
        _profile = cProfile.Profile()
        _profile.enable()
        return
    _profile.disable()
    _profile.dump_stats(os.path.join(os.environ["REPLICA_CALLS_DIR"], f"{os.getpid()}.prof"))
    _profile = None


signal.signal(signal.SIGUSR1, _toggle)
"""


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--seconds", type=float, default=6.0)
    p.add_argument("--functions", type=int, default=30)
    p.add_argument("--sort", choices=("calls", "time"), default="calls", help="rank functions by")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="replica-calls-"))
    site = tmp / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    os.environ["REPLICA_CALLS_DIR"] = str(tmp)
    loader = _go_loader(tmp)
    try:
        with replicated_temp(tmp) as cluster:
            metas = ",".join(cluster.meta_list)
            pids = [cluster.processes[f"replica{i}"].proc.pid for i in (1, 2, 3)]
            load = argparse.Namespace(
                clients=args.clients, seconds=args.seconds + 4, value_size=100, keys=100000
            )
            served: dict[str, float] = {}
            window = threading.Thread(target=_profile_window, args=(pids, args.seconds, served))
            window.start()
            result = _pegasus_load(loader, metas, "put", load)
            window.join()
            _wait_for_files(tmp, pids)
            stats = pstats.Stats(*(str(tmp / f"{pid}.prof") for pid in pids))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # puts served inside the window: the run's rate times the window's length
    puts = result["ops_per_s"] * served["seconds"]
    _report(stats, puts, args, result["ops_per_s"])
    return 0


def _profile_window(pids: list[int], seconds: float, served: dict[str, float]) -> None:
    time.sleep(2.0)  # let the load reach its pace
    for pid in pids:
        os.kill(pid, signal.SIGUSR1)
    start = time.monotonic()
    time.sleep(seconds)
    for pid in pids:
        os.kill(pid, signal.SIGUSR1)
    served["seconds"] = time.monotonic() - start


def _wait_for_files(tmp: Path, pids: list[int]) -> None:
    deadline = time.monotonic() + 30
    while not all((tmp / f"{pid}.prof").exists() for pid in pids):
        if time.monotonic() > deadline:
            raise TimeoutError("a replica server wrote no profile")
        time.sleep(0.2)
    time.sleep(0.5)  # the last file may still be being written


def _report(stats: pstats.Stats, puts: float, args: argparse.Namespace, rate: float) -> None:
    table = stats.stats  # type: ignore[attr-defined]
    total_calls = sum(entry[1] for entry in table.values())
    total_time = sum(entry[2] for entry in table.values()) or 1.0
    print(
        f"{rate:.0f} puts/s at {args.clients} clients, profiled {args.seconds:.0f} s"
        f" (~{puts:.0f} puts): {total_calls / puts:.0f} calls per put over 3 servers"
    )
    by_file: dict[str, list[float]] = {}
    for (filename, _line, _name), entry in table.items():
        row = by_file.setdefault(_short(filename) or "builtins", [0.0, 0.0])
        row[0] += entry[1]
        row[1] += entry[2]
    print(f"{'calls/put':>9} {'own time %':>10}  file")
    for where, (calls, own) in sorted(by_file.items(), key=lambda kv: -kv[1][1])[:25]:
        print(f"{calls / puts:>9.1f} {100 * own / total_time:>10.1f}  {where}")
    print(f"{'calls/put':>9} {'own time %':>10}  function")
    column = 1 if args.sort == "calls" else 2
    rows = sorted(table.items(), key=lambda item: item[1][column], reverse=True)
    for (filename, line, name), entry in rows[: args.functions]:
        where = _short(filename)
        label = f"{name} ({where}:{line})" if where else name
        print(f"{entry[1] / puts:>9.1f} {100 * entry[2] / total_time:>10.1f}  {label}")


def _short(filename: str) -> str:
    if filename == "~":
        return ""
    path = Path(filename)
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return f"{path.parent.name}/{path.name}"


if __name__ == "__main__":
    sys.exit(main())
