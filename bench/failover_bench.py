"""Meta and replica-server failover times on a real ZooKeeper-backed cluster.

    python bench/failover_bench.py [--trials 10]

1. Meta leader killed (SIGKILL): seconds until the first successful DDL (create table)
   answered by the new leader.
2. Replica server killed (SIGKILL), table of one replica: seconds until the meta has
   declared it dead and every partition it was primary of no longer routes to it
   (configuration written to ZooKeeper with a new ballot).
3. Primary killed (SIGKILL), table of three replicas: seconds until the first write to its
   partition succeeds again (a secondary upgraded and reconciled).
Prints min / median / max per measurement; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pegasus_log.client.errors import PegasusError  # noqa: E402
from pegasus_log.client.sync import Admin, Client  # noqa: E402
from pegasus_log.failure_detector import FdOptions  # noqa: E402
from pegasus_log.services.zookeeper import ZooKeeperServer  # noqa: E402
from tests.cluster import ZkCluster  # noqa: E402


def _wait(check: Callable[[], object], timeout_s: float = 60.0, step_s: float = 0.02) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            if check():
                return time.monotonic() - start
        except (PegasusError, OSError):
            pass
        time.sleep(step_s)
    raise TimeoutError("condition not reached")


def _done(action: Callable[..., object], *args: object) -> bool:
    """``action(*args)`` for ``_wait``: True once it returns (it raises until then)."""
    action(*args)
    return True


def _leader(cluster: ZkCluster) -> str:
    for i, meta in enumerate(cluster.meta_list):
        try:
            with Admin([meta], timeout_s=1.0) as one:
                one.cluster_info()
                return f"meta{i + 1}"
        except PegasusError:
            continue
    raise RuntimeError("no leader")


def meta_failover(cluster: ZkCluster, admin: Admin) -> float:
    leader = _leader(cluster)
    cluster.kill(leader)
    killed = time.monotonic()
    with Admin(cluster.meta_list, timeout_s=30.0) as fresh:
        fresh.create_table("f_" + uuid.uuid4().hex[:8], partition_count=2, replica_count=1)
    took = time.monotonic() - killed
    cluster.restart(leader)
    _wait(lambda: len([n for n, ok in admin.list_nodes() if ok]) == cluster.replicas)
    return took


def replica_failover(cluster: ZkCluster, admin: Admin, table: str, victim: str) -> float:
    address = cluster.replica_address(victim)
    with Client(cluster.meta_list) as client:
        route = client.route(table)
        assert any(str(p) == address for p in route.primaries), "victim is primary of nothing"
        cluster.kill(victim)
        killed = time.monotonic()

        def moved() -> bool:
            r = client.route(table)
            return all(str(p) != address for p in r.primaries)

        _wait(moved)
        took = time.monotonic() - killed
    cluster.restart(victim)
    _wait(lambda: (address, True) in admin.list_nodes())
    with Client(cluster.meta_list) as client:
        t = client.open_table(table)
        _wait(lambda: t.get(b"probe", b"s") == b"v")
    return took


def primary_failover(cluster: ZkCluster, admin: Admin, table: str) -> float:
    """Kill -9 the primary of partition 0 under writes to it; seconds until the first
    write to that partition succeeds again."""
    from pegasus_log.storage.keyhash import partition_hash

    with Client(cluster.meta_list, timeout_s=1.0) as client:

        def regrouped_before() -> bool:
            r = client.route(table)
            return all(len(r.members(p)) == 3 for p in range(r.partition_count))

        _wait(regrouped_before, timeout_s=120)
        route = client.route(table)
        victim_address = str(route.primaries[0])
        victim = next(
            f"replica{i + 1}"
            for i in range(cluster.replicas)
            if cluster.replica_address(f"replica{i + 1}") == victim_address
        )
        keys = [b"f%d" % i for i in range(200) if partition_hash(b"f%d" % i, b"s") % 8 == 0]
        t = client.open_table(table)
        _wait(lambda: _done(t.set, keys[0], b"s", b"v"))
        cluster.kill(victim)
        killed = time.monotonic()
        i = 0
        while True:
            i += 1
            try:
                t.set(keys[i % len(keys)], b"s", b"v")
                break
            except PegasusError:
                continue
        took = time.monotonic() - killed
    cluster.restart(victim)
    with Client(cluster.meta_list) as client:

        def regrouped() -> bool:
            r = client.route(table)
            return all(len(r.members(p)) == 3 for p in range(r.partition_count))

        _wait(regrouped, timeout_s=120)
    return took


def _summary(name: str, xs: list[float]) -> str:
    return (
        f"{name:<44} n={len(xs):<3} min {min(xs):5.2f} s  median "
        f"{statistics.median(xs):5.2f} s  max {max(xs):5.2f} s"
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=10)
    args = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix="failover-"))
    zk = ZooKeeperServer(root / "zookeeper")
    zk.start()
    cluster = ZkCluster(root, zk.address, metas=2, replicas=3, cluster="failover")
    cluster.start()
    try:
        with Admin(cluster.meta_list) as admin:
            _wait(lambda: len([n for n, ok in admin.list_nodes() if ok]) == 3)
            admin.create_table("fo", partition_count=8, replica_count=1)
            admin.create_table("fo3", partition_count=8, replica_count=3)
            with Client(cluster.meta_list) as client:
                client.open_table("fo").set(b"probe", b"s", b"v")
            metas = [meta_failover(cluster, admin) for _ in range(args.trials)]
            replicas = [
                replica_failover(cluster, admin, "fo", f"replica{1 + i % 3}")
                for i in range(args.trials)
            ]
            primaries = [primary_failover(cluster, admin, "fo3") for _ in range(args.trials)]
    finally:
        cluster.stop()
        zk.stop()
    fd = FdOptions()
    print(
        f"failure detection: beacon {fd.beacon_interval_s} s, lease {fd.lease_s} s, "
        f"grace {fd.grace_s} s; meta election session 3 s; ZooKeeper tick 500 ms"
    )
    print(_summary("meta leader kill -> first DDL on new leader", metas))
    print(_summary("replica kill -> its partitions re-configured", replicas))
    print(_summary("primary kill (3 replicas) -> first write", primaries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
