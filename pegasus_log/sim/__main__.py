"""``python -m pegasus_log.sim --seed N`` replays one seed (its trace hash is printed, and
the same seed prints the same hash); ``--seeds A-B`` runs a range and stops at the first
failure, printing its seed. ``--fault-seconds S`` runs S seconds of faults before
healing instead of the seed's own 6 (a failure prints the flag in its replay line)."""

from __future__ import annotations

import argparse
import sys
import time

from pegasus_log.sim.run import SeedFailure, SeedResult, run_seed


def _seeds(text: str) -> range:
    first, sep, last = text.partition("-")
    if not first.isdigit() or (sep and not last.isdigit()):
        raise argparse.ArgumentTypeError(f"seed range {text!r} is not A-B")
    start = int(first)
    end = int(last) if sep else start
    if end < start:
        raise argparse.ArgumentTypeError(f"seed range {text!r} is empty")
    return range(start, end + 1)


def _line(r: SeedResult) -> str:
    return (
        f"seed {r.seed} ok hash={r.trace_hash[:16]} nodes={r.nodes} partitions={r.partitions} "
        f"events={r.events} sim={r.sim_seconds:.1f}s writes={r.writes_acked}/{r.writes_sent} "
        f"reads={r.reads_ok} crashes={r.crashes} msgs={r.messages} dropped={r.dropped}"
        + (
            f" balance: moves={r.primary_moves} copies={r.copies} (of primaries {r.primary_copies})"
            if r.balancing
            else ""
        )
        + (f" meta recoveries={r.meta_recoveries}" if r.meta_recoveries else "")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pegasus_log.sim", description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--seed", type=int, help="replay one seed")
    group.add_argument("--seeds", type=_seeds, help="run seeds A-B (inclusive)")
    parser.add_argument("--quiet", action="store_true", help="only the summary and failures")
    parser.add_argument(
        "--fault-seconds",
        type=float,
        default=None,
        help="seconds of faults before healing (default: 6, the seed's own)",
    )
    args = parser.parse_args(argv)
    seeds = range(args.seed, args.seed + 1) if args.seed is not None else args.seeds
    started = time.monotonic()
    for seed in seeds:
        try:
            result = run_seed(seed, fault_s=args.fault_seconds)
        except SeedFailure as e:
            print(str(e), file=sys.stderr)
            print(f"trace hash at failure: {e.trace_hash}", file=sys.stderr)
            return 1
        if not args.quiet or args.seed is not None:
            print(_line(result))
            if args.seed is not None:
                print(f"trace {result.trace_hash}")
    elapsed = time.monotonic() - started
    count = len(seeds)
    print(f"{count} seeds ok in {elapsed:.1f}s ({count / max(elapsed, 1e-9):.1f} seeds/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
