"""Record a history against a running cluster and check it:

    python -m pegasus_log.lincheck --meta 127.0.0.1:34601 --table temp --seconds 30 \
        --history /tmp/history.jsonl [--html /tmp/history.html]

Faults are yours to inject meanwhile (kill -9 / SIGSTOP a replica server). Exit status
is the checker's: 0 linearizable, 1 not, 2 bad input, 3 the check timed out.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from pathlib import Path

from pegasus_log.lincheck.checker import check_history
from pegasus_log.lincheck.history import summarize, write_history
from pegasus_log.lincheck.workload import WorkloadOptions, run_workload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pegasus_log.lincheck")
    parser.add_argument("--meta", required=True, help="meta addresses, comma separated")
    parser.add_argument("--table", required=True)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--keys", type=int, default=3, help="hash keys lin-0 .. lin-<n-1>")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--history", type=Path, default=Path("history.jsonl"))
    parser.add_argument("--html", type=Path, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    options = WorkloadOptions(
        clients=args.clients, keys=tuple(b"lin-%d" % i for i in range(args.keys))
    )
    deadline = time.monotonic() + args.seconds
    ops = asyncio.run(
        run_workload(
            args.meta.split(","),
            args.table,
            options=options,
            rng=random.Random(seed),
            should_stop=lambda: time.monotonic() >= deadline,
        )
    )
    write_history(args.history, ops)
    s = summarize(ops)
    print(
        f"seed {seed}: {s.ops} operations {s.by_kind}, outcomes {s.by_outcome}, "
        f"{s.acknowledged_writes} acknowledged writes; history {args.history}"
    )
    report = check_history(args.history, html=args.html)
    print(report.output, end="")
    return int(report.verdict)


if __name__ == "__main__":
    raise SystemExit(main())
