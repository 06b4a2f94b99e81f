"""Applying a mutation of puts to storage: one batch (``apply_mutation``) vs. write by write.

    python bench/apply_bench.py [--number 20000] [--puts 1]

Opens a partition store (RocksDB) in a scratch directory and applies ``--number``
mutations of ``--puts`` puts each (20-byte keys, 100-byte values), bodies decoded as a
secondary does, first write by write (``_apply_each``, the general path), then as one
batch (``apply_mutation``'s path for puts), each on its own store, and prints the
microseconds per mutation of both, in one process on one replica.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pegasus_log.replica import apply as ap
from pegasus_log.replica.plog.mutation import Mutation, MutationUpdate
from pegasus_log.replica.stub import OPS_BY_NAME
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.thrift import Gpid, decode, encode
from pegasus_log.storage.engine import PartitionStore
from pegasus_log.storage.schema import encode_key


def _mutations(number: int, puts: int) -> list[Mutation]:
    out = []
    for decree in range(1, number + 1):
        updates = tuple(
            MutationUpdate(
                m.RRDB_PUT.name,
                encode(
                    m.UpdateRequest,
                    m.UpdateRequest(
                        key=encode_key(b"hash%06d" % decree, b"sort%05d" % i), value=b"v" * 100
                    ),
                ),
            )
            for i in range(puts)
        )
        out.append(Mutation(Gpid(1, 0), 1, decree, decree - 1, 1_700_000_000_000_000, updates))
    return out


def _each(store: PartitionStore, mu: Mutation) -> None:
    args = [decode(OPS_BY_NAME[u.rpc_name].spec.arg, u.body) for u in mu.updates]
    ap._apply_each(store, mu, args)


def _batch(store: PartitionStore, mu: Mutation) -> None:
    ap.apply_mutation(store, mu, [None] * len(mu.updates))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--number", type=int, default=20000)
    p.add_argument("--puts", type=int, default=1, help="puts per mutation")
    args = p.parse_args()
    mutations = _mutations(args.number, args.puts)
    tmp = Path(tempfile.mkdtemp(prefix="apply-bench-"))
    try:
        for name, apply in (("write by write", _each), ("one batch", _batch)):
            store = PartitionStore(
                tmp / name.replace(" ", "-"),
                clock=time.time,
                cluster_id=1,
                partition_index=0,
                partition_count=1,
                rng=random.Random(1),
            )
            started = time.perf_counter()
            for mu in mutations:
                apply(store, mu)
            elapsed = time.perf_counter() - started
            store.close()
            print(f"{name:<15} {elapsed / args.number * 1e6:.2f} us per mutation of {args.puts}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
