"""Self-check of the etcd benchmark peer: prints figures, asserts nothing about time.

Starts a 1-member and a 3-member etcd cluster on loopback, runs put, linearizable get and
serializable get at 16 clients for about 3 s each, prints a table.

    python bench/etcd_selfcheck.py [--clients 16] [--duration 3] [--value-size 256]
"""

from __future__ import annotations

import argparse
import signal
import sys

# Run as a script: its folder, bench/, is first on sys.path.
from etcd_peer import ensure_installed, etcd_cluster, run_load, versions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per run")
    parser.add_argument("--value-size", type=int, default=256, help="bytes")
    parser.add_argument("--base-dir", default=None, help="parent of the etcd data dirs")
    args = parser.parse_args()
    # SIGTERM (a CI timeout, kill) unwinds like ^C, so the clusters are stopped and removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))

    ensure_installed()
    v = versions()
    print(f"etcd server {v['etcd']}, load tool {v['load_tool']}")
    rows = []
    for members in (1, 3):
        with etcd_cluster(members=members, base_dir=args.base_dir) as cluster:
            for op in ("put", "get", "get_serializable"):
                r = run_load(
                    cluster,
                    op=op,
                    clients=args.clients,
                    value_size=args.value_size,
                    duration_s=args.duration,
                )
                rows.append(r)
                print(f"  {members} member(s) {op}: {r['ops_per_s']:.0f} ops/s", flush=True)

    print()
    header = f"{'members':>7} {'op':<17} {'clients':>7} {'ops/s':>9} {'p50 ms':>7} {'p99 ms':>7}"
    print(f"{header} {'ops':>7} {'secs':>5}")
    for r in rows:
        print(
            f"{r['members']:>7} {r['op']:<17} {r['clients']:>7} {r['ops_per_s']:>9.0f} "
            f"{r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['ops']:>7} {r['seconds']:>5.1f}"
        )
    print(f"value size {args.value_size} B; etcd fsyncs its WAL per write batch (durable puts)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
