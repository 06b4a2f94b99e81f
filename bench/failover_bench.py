"""Meta and replica-server failover times on a real ZooKeeper-backed cluster.

    python bench/failover_bench.py [--trials 10]

1. Meta leader killed (SIGKILL): seconds until the first successful DDL (create table)
   answered by the new leader.
2. Replica server killed (SIGKILL): seconds until the meta has declared it dead and every
   partition it was primary of no longer routes to it (configuration written to ZooKeeper
   with a new ballot). With one replica per partition until replication lands, the
   partition then waits for its server to return; with replication, a secondary is
   upgraded in the same step.
Prints min / median / max per measurement; asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pegasus_log.client.errors import PegasusError  # noqa: E402
from pegasus_log.client.sync import Admin, Client  # noqa: E402
from pegasus_log.failure_detector import FdOptions  # noqa: E402
from pegasus_log.services.zookeeper import ZooKeeperServer  # noqa: E402
from tests.cluster import ZkCluster  # noqa: E402


def _wait(check, timeout_s: float = 60.0, step_s: float = 0.02) -> float:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    while time.monotonic() - start < timeout_s:
        try:
            if check():
                return time.monotonic() - start
        except (PegasusError, OSError):
            pass
        time.sleep(step_s)
    raise TimeoutError("condition not reached")


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
    cluster = ZkCluster(root, zk.address, metas=2, replicas=2, cluster="failover")
    cluster.start()
    try:
        with Admin(cluster.meta_list) as admin:
            _wait(lambda: len([n for n, ok in admin.list_nodes() if ok]) == 2)
            admin.create_table("fo", partition_count=8, replica_count=1)
            with Client(cluster.meta_list) as client:
                client.open_table("fo").set(b"probe", b"s", b"v")
            metas = [meta_failover(cluster, admin) for _ in range(args.trials)]
            replicas = [
                replica_failover(cluster, admin, "fo", f"replica{1 + i % 2}")
                for i in range(args.trials)
            ]
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
