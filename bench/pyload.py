"""A pegasus-log load generator in Python, for machines where the Go client is not
available: P processes, each with C/P asyncio clients on one pipelined connection, print
one JSON line of figures (the same fields as bench/pegasusload).

    python bench/pyload.py --meta 127.0.0.1:34601 --op put --clients 16 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import time

from pegasus_log.client.aio import AsyncClient


async def _drive(args: argparse.Namespace, clients: int, first: int) -> list[float]:
    client = AsyncClient(args.meta.split(","))
    table = await client.open_table(args.table)
    value = bytes(97 + i % 26 for i in range(args.value_size))
    lats: list[float] = []
    deadline = time.monotonic() + args.seconds

    async def worker(w: int) -> None:
        i = w
        while time.monotonic() < deadline:
            key = b"bench-%08d" % (i % args.keys)
            t0 = time.perf_counter()
            if args.op == "put":
                await table.set(key, b"s", value)
            else:
                await table.get(key, b"s")
            lats.append(time.perf_counter() - t0)
            i += args.clients

    await asyncio.gather(*(worker(first + w) for w in range(clients)))
    await client.close()
    return lats


def _process(args: argparse.Namespace, clients: int, first: int) -> list[float]:
    return asyncio.run(_drive(args, clients, first))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--meta", default="127.0.0.1:34601")
    p.add_argument("--table", default="temp")
    p.add_argument("--op", choices=["put", "get"], default="put")
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--processes", type=int, default=2)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--value-size", type=int, default=100)
    p.add_argument("--keys", type=int, default=10000)
    args = p.parse_args()
    procs = max(1, min(args.processes, args.clients))
    shares = [args.clients // procs + (1 if i < args.clients % procs else 0) for i in range(procs)]
    firsts = [sum(shares[:i]) for i in range(procs)]
    start = time.monotonic()
    with multiprocessing.Pool(procs) as pool:
        parts = pool.starmap(_process, [(args, n, f) for n, f in zip(shares, firsts, strict=True)])
    elapsed = time.monotonic() - start
    lats = sorted(x for part in parts for x in part)
    n = len(lats)
    print(
        json.dumps(
            {
                "op": args.op,
                "clients": args.clients,
                "ops": n,
                "errors": 0,
                "ops_per_s": n / args.seconds,
                "seconds": elapsed,
                "p50_ms": lats[n // 2] * 1e3 if n else 0.0,
                "p99_ms": lats[n * 99 // 100] * 1e3 if n else 0.0,
                "keys": args.keys,
            }
        )
    )


if __name__ == "__main__":
    main()
