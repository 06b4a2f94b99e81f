"""Every replica of a table killed at once, on a real cluster (ZooKeeper, a meta, three
replica servers, 2 partitions x 3 replicas): the DDD rule and ``ddd_diagnose``.

The meta gives such a partition a primary only on the member dropped last, once it is
back and has reported its replica (``meta/core/guardian.py``). Until then the shell's
``ddd_diagnose`` lists the partition, its dropped members and what it waits for; ``-d``
adds upstream's recommendation. A server that is not the latest drop coming back does
not end the wait; the latest one coming back does, and every acknowledged write reads
back."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from pegasus_log.client.routing import Route
from pegasus_log.client.sync import Admin, Client
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.services.zookeeper import ZooKeeperServer
from pegasus_log.storage.keyhash import partition_hash
from tests.cluster import ZkCluster, zk_cluster_up
from tests.integration.helpers import eventually, eventually_done
from tests.integration.shell_driver import one_shot

pytestmark = pytest.mark.integration
RECORDS = 32
NAMES = ("replica1", "replica2", "replica3")
# The meta's grace (4 s) and a replica server's restart and report; a liveness bound.
WAIT_S = 60.0


@pytest.fixture(scope="module")
def cluster(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    root: Path = tmp_path_factory.mktemp("ddd")
    with zk_cluster_up(root, zookeeper.address, metas=1, replicas=3, prefix="ddd") as c:
        yield c


def _name_of(cluster: ZkCluster, address: RpcAddress) -> str:
    (name,) = [n for n in NAMES if cluster.replica_address(n) == str(address)]
    return name


def _written_then_all_killed(cluster: ZkCluster, client: Client, table: str) -> Route:
    """Table ``table`` of 2 partitions x 3 replicas, RECORDS writes acknowledged by all
    three members, then every replica server killed: its route from before."""
    with Admin(cluster.meta_list) as admin:
        admin.create_table(table, partition_count=2, replica_count=3)

    def whole() -> Route | None:
        r = client.route(table)
        return r if all(len(r.members(i)) == 3 for i in (0, 1)) else None

    route = eventually("3 members per partition", whole)
    t = client.open_table(table)
    for i in range(RECORDS):
        eventually_done("a write", partial(t.set, b"k%d" % i, b"s", b"v%d" % i))
    for name in NAMES:
        cluster.kill(name)
    return route


def test_all_replicas_killed_then_back_one_by_one(cluster: ZkCluster, tmp_path: Path) -> None:
    metas = ",".join(cluster.meta_list)
    table = f"ddd_{uuid.uuid4().hex[:8]}"
    with Client(cluster.meta_list) as client:
        route = _written_then_all_killed(cluster, client, table)

        def both_listed() -> list[str] | None:
            r = one_shot(metas, f"ddd_diagnose -g {route.app_id}", tmp_path)
            return r.stdout.splitlines() if "Total 2 ddd partitions:" in r.stdout else None

        lines = eventually("both partitions listed", both_listed, WAIT_S)
        assert lines[-1] == "Diagnose ddd done."
        latest = {}
        for index in (0, 1):
            block = _block(lines, f"{route.app_id}.{index}")
            found = re.findall(r"last_drops\[\d\]: node\((\S+)\)", block)
            drops = [RpcAddress.parse(m) for m in found]
            assert sorted(map(str, drops)) == sorted(cluster.replica_address(n) for n in NAMES)
            latest[index] = drops[-1]
            waiting = f"waiting for the latest dropped replica server {drops[-1]} to come back"
            assert f"ddd_reason: {waiting}" in block
            assert block.count("alive(false), collected(false), ballot(-1)") == 3

        # Back: a server that is not partition 0's latest drop. Partition 0 still waits.
        other = next(n for n in NAMES if cluster.replica_address(n) != str(latest[0]))
        cluster.restart(other)

        back = f"node({cluster.replica_address(other)}), drop_time(-), alive(true), collected(true)"

        def reported() -> str | None:
            r = one_shot(metas, f"ddd_diagnose -g {route.app_id}.0 -d", tmp_path)
            return r.stdout if back in r.stdout else None

        out = eventually(f"{other} reported", reported, WAIT_S)
        assert "Total 1 ddd partitions:" in out
        assert "recommend_primary: " in out and "propose_request: none" in out
        assert client.route(table).primaries[0].is_invalid

        # Back: partition 0's latest drop. The meta makes it primary; every write is there.
        cluster.restart(_name_of(cluster, latest[0]))
        for name in NAMES:
            if name != other and cluster.replica_address(name) != str(latest[0]):
                cluster.restart(name)
        eventually(
            "primaries again",
            lambda: all(not p.is_invalid for p in client.route(table).primaries),
            WAIT_S,
        )
        assert client.route(table).primaries[0] == latest[0]
        r = one_shot(metas, "ddd_diagnose", tmp_path)
        assert "Total 0 ddd partitions:" in r.stdout
        t = client.open_table(table)
        for i in range(RECORDS):
            got = eventually("a read", partial(t.get, b"k%d" % i, b"s"), WAIT_S)
            assert got == b"v%d" % i


def _block(lines: list[str], pid: str) -> str:
    """The report's lines for one partition."""
    start = next(i for i, line in enumerate(lines) if line.endswith(f") {pid}"))
    after = (i for i in range(start + 1, len(lines)) if re.match(r"\(\d+\) ", lines[i]))
    end = next(after, len(lines))
    return "\n".join(lines[start:end])


def test_propose_force_assigns_a_primary_the_rule_would_wait_for(
    cluster: ZkCluster, tmp_path: Path
) -> None:
    """The operator's way out when the latest drop will not come back: ``propose -f -p
    ASSIGN_PRIMARY`` to a server that is back and reported its replica. Refused while
    that server is down, and for an unforced single action; then the partition takes
    writes again, its acknowledged writes (every member had them) read back."""
    metas = ",".join(cluster.meta_list)
    table = f"forced_{uuid.uuid4().hex[:8]}"
    with Client(cluster.meta_list) as client:
        route = _written_then_all_killed(cluster, client, table)

        def latest_drop() -> RpcAddress | None:
            r = one_shot(metas, f"ddd_diagnose -g {route.app_id}.0", tmp_path)
            found = re.findall(r"last_drops\[\d\]: node\((\S+)\)", r.stdout)
            return RpcAddress.parse(found[-1]) if len(found) == 3 else None

        latest = eventually("partition 0 listed", latest_drop, WAIT_S)
        other = next(n for n in NAMES if cluster.replica_address(n) != str(latest))
        address = cluster.replica_address(other)
        propose = f"propose -g {route.app_id}.0 -p ASSIGN_PRIMARY -t {address} -n {address}"
        refused = one_shot(metas, f"{propose} -f", tmp_path)  # the server is down
        assert "send proposal response: ERR_INVALID_PARAMETERS" in refused.stdout

        cluster.restart(other)
        back = f"node({address}), drop_time(-), alive(true), collected(true)"

        def reported() -> bool:
            r = one_shot(metas, f"ddd_diagnose -g {route.app_id}.0", tmp_path)
            return back in r.stdout

        eventually(f"{other} reported", reported, WAIT_S)
        unforced = one_shot(metas, propose, tmp_path)
        assert "send proposal response: ERR_INVALID_PARAMETERS" in unforced.stdout
        assert client.route(table).primaries[0].is_invalid  # the rule still waits
        forced = one_shot(metas, f"{propose} -f", tmp_path)
        assert "send proposal response: ERR_OK" in forced.stdout, forced.stdout + forced.stderr
        eventually(
            "the forced primary",
            lambda: str(client.route(table).primaries[0]) == address,
            WAIT_S,
        )
        t = client.open_table(table)
        on_zero = [i for i in range(RECORDS) if partition_hash(b"k%d" % i, b"s") % 2 == 0]
        assert on_zero
        for i in on_zero:
            got = eventually("a read", partial(t.get, b"k%d" % i, b"s"), WAIT_S)
            assert got == b"v%d" % i
        for name in NAMES:
            if name != other:
                cluster.restart(name)
        eventually(
            "primaries again",
            lambda: all(not p.is_invalid for p in client.route(table).primaries),
            WAIT_S,
        )
        assert str(client.route(table).primaries[0]) == address
        # Writes need a second member (the primary's member minimum): the servers back,
        # the forced primary keeps its role and takes them as learners.
        after = next(
            b"after%d" % i for i in range(100) if partition_hash(b"after%d" % i, b"s") % 2 == 0
        )
        eventually_done("a write after", partial(t.set, after, b"s", b"v"))
