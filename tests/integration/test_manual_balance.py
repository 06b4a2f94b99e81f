"""The shell's ``balance`` against a real cluster: ZooKeeper, a meta and three replica
servers, a table of 4 partitions x 2 replicas, so that every partition has one replica
server that is no member.

- move_pri swaps a partition's primary with its secondary; copy_sec moves its secondary,
  and copy_pri its primary, to the server that was no member. Each is carried out by the
  meta at level steady (no automatic balancing), and every record written before reads
  back afterwards, with writes going on.
- Moves that do not fit the partition, tables and partitions that do not exist, a move
  while the meta level is freezed: each gets a clear error, and the cluster goes on
  serving."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from pegasus_log.client.routing import Route
from pegasus_log.client.sync import Admin, Client, Table
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.services.zookeeper import ZooKeeperServer
from tests.cluster import ZkCluster, zk_cluster_up
from tests.integration.helpers import eventually, eventually_done, fully_replicated
from tests.integration.shell_driver import one_shot

pytestmark = pytest.mark.integration
PARTITIONS = 4
RECORDS = 64
# A copy is a learning round of a small partition; liveness bound, not a speed claim.
MOVE_WAIT_S = 60.0


@pytest.fixture(scope="module")
def cluster(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    root: Path = tmp_path_factory.mktemp("manual-balance")
    with zk_cluster_up(root, zookeeper.address, metas=1, replicas=3, prefix="mbal") as c:
        yield c


@pytest.fixture(scope="module")
def metas(cluster: ZkCluster) -> str:
    return ",".join(cluster.meta_list)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("manual-balance-home")


@pytest.fixture(scope="module")
def table(cluster: ZkCluster) -> Iterator[tuple[Client, str]]:
    with Client(cluster.meta_list) as client:
        name, _ = _filled_table(cluster, client, "mbal")
        yield client, name


def _filled_table(cluster: ZkCluster, client: Client, prefix: str) -> tuple[str, Table]:
    """A new table of PARTITIONS x 2 replicas, both members of every partition in place,
    holding RECORDS records."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with Admin(cluster.meta_list) as admin:
        admin.create_table(name, partition_count=PARTITIONS, replica_count=2)
    eventually("two members per partition", partial(fully_replicated, client, name, 2))
    t = client.open_table(name)
    for i in range(RECORDS):
        eventually_done("a write", partial(t.set, b"k%d" % i, b"s", b"v%d" % i))
    return name, t


def _all_read_back(t: Table) -> None:
    for i in range(RECORDS):
        assert t.get(b"k%d" % i, b"s") == b"v%d" % i


def test_move_pri_copy_sec_and_copy_pri(
    cluster: ZkCluster, metas: str, home: Path, table: tuple[Client, str]
) -> None:
    client, name = table
    app_id = client.route(name).app_id
    servers = {RpcAddress.parse(a) for a in _replica_addresses(cluster)}

    # move_pri: partition 0's primary role to its secondary
    before = client.route(name)
    primary, (secondary,) = before.primaries[0], before.secondaries[0]
    r = one_shot(metas, f"balance -g {app_id}.0 -p move_pri -f {primary} -t {secondary}", home)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "send balance proposal result: ERR_OK\n"

    def led_by_secondary() -> Route | None:
        route = client.route(name)
        return route if route.primaries[0] == secondary else None

    after = eventually("partition 0 led by its old secondary", led_by_secondary, MOVE_WAIT_S)
    assert after.secondaries[0] == (primary,)
    assert after.ballots[0] > before.ballots[0]

    # copy_sec: partition 1's secondary to the server that is no member
    before = client.route(name)
    primary, (secondary,) = before.primaries[1], before.secondaries[1]
    (spare,) = servers - {primary, secondary}
    r = one_shot(metas, f"balance -g {app_id}.1 -p copy_sec -f {secondary} -t {spare}", home)
    assert r.returncode == 0, r.stderr
    eventually(
        "partition 1's secondary moved",
        lambda: client.route(name).members(1) == (primary, spare),
        MOVE_WAIT_S,
    )

    # copy_pri: partition 2's primary to the server that is no member
    before = client.route(name)
    primary, (secondary,) = before.primaries[2], before.secondaries[2]
    (spare,) = servers - {primary, secondary}
    r = one_shot(metas, f"balance -g {app_id}.2 -p copy_pri -f {primary} -t {spare}", home)
    assert r.returncode == 0, r.stderr

    def copied_primary() -> bool:
        route = client.route(name)
        return route.primaries[2] == spare and set(route.members(2)) == {spare, secondary}

    eventually("partition 2's primary copied", copied_primary, MOVE_WAIT_S)

    t = client.open_table(name)
    _all_read_back(t)
    for i in range(RECORDS):
        eventually_done("a write after the moves", partial(t.set, b"n%d" % i, b"s", b"w"))
    assert {t.get(b"n%d" % i, b"s") for i in range(RECORDS)} == {b"w"}


def test_moves_that_cannot_be_done_get_a_clear_error(
    cluster: ZkCluster, metas: str, home: Path, table: tuple[Client, str]
) -> None:
    client, name = table
    route = client.route(name)
    app_id = route.app_id
    primary, (secondary,) = route.primaries[3], route.secondaries[3]
    (spare,) = {RpcAddress.parse(a) for a in _replica_addresses(cluster)} - {primary, secondary}
    refused = {
        # from a secondary: not the primary
        f"balance -g {app_id}.3 -p move_pri -f {secondary} -t {primary}": "ERR_INVALID_PARAMETERS",
        # to a node that is no member: move_pri needs a secondary
        f"balance -g {app_id}.3 -p move_pri -f {primary} -t {spare}": "ERR_INVALID_PARAMETERS",
        # copy_sec from the primary
        f"balance -g {app_id}.3 -p copy_sec -f {primary} -t {spare}": "ERR_INVALID_PARAMETERS",
        # a partition the table does not have, a table that does not exist
        f"balance -g {app_id}.{PARTITIONS} -p move_pri -f {primary} -t {secondary}": (
            "ERR_INVALID_PARAMETERS"
        ),
        f"balance -g 9999.0 -p move_pri -f {primary} -t {secondary}": "ERR_INVALID_PARAMETERS",
    }
    for command, err in refused.items():
        r = one_shot(metas, command, home)
        assert r.returncode == 1, command
        assert r.stdout == "", command
        assert f"ERROR: send balance proposal failed, error = {err}: " in r.stderr, command

    r = one_shot(
        metas,
        f"set_meta_level freezed; balance -g {app_id}.3 -p move_pri -f {primary} -t {secondary}",
        home,
    )
    try:
        assert r.returncode == 1
        assert (
            "ERROR: send balance proposal failed, error = ERR_STATE_FREEZED: "
            "the meta level is below steady"
        ) in r.stderr
    finally:
        with Admin(cluster.meta_list) as admin:
            admin.set_meta_level("steady")

    # nothing moved, and the table still serves
    assert client.route(name).members(3) == (primary, secondary)
    _all_read_back(client.open_table(name))


def _replica_addresses(cluster: ZkCluster) -> list[str]:
    return [cluster.replica_address(f"replica{i}") for i in (1, 2, 3)]


def test_set_replica_count_adds_and_removes_replicas_of_every_partition(
    cluster: ZkCluster, metas: str, home: Path
) -> None:
    """set_replica_count 2 -> 3: each partition learns a third member; 3 -> 2: each drops
    one; 2 -> 1 -> 2, the primary alone taking writes in between. Every record reads back
    after each, writes go on, and a count the cluster cannot hold is refused in upstream's
    words."""
    with Client(cluster.meta_list) as client:
        name, t = _filled_table(cluster, client, "rc")
        up = one_shot(metas, f"set_replica_count {name} 3", home, answers="y\n")
        assert f"set replica count of app({name}) from 2 to 3: success" in up.stdout, up.stderr
        eventually(
            "three members per partition",
            partial(fully_replicated, client, name, 3),
            MOVE_WAIT_S,
        )
        got = one_shot(metas, f"get_replica_count {name}", home)
        assert got.stdout.endswith("max_replica_count  : 3\n"), got.stdout + got.stderr
        _all_read_back(t)
        eventually_done("a write with three members", partial(t.set, b"after3", b"s", b"x"))

        down = one_shot(metas, f"set_replica_count {name} 2", home, answers="y\n")
        assert "from 3 to 2: success" in down.stdout, down.stderr
        eventually(
            "two members per partition again",
            partial(fully_replicated, client, name, 2),
            MOVE_WAIT_S,
        )
        _all_read_back(t)
        assert t.get(b"after3", b"s") == b"x"
        eventually_done("a write with two members", partial(t.set, b"after2", b"s", b"y"))

        # Down to one replica: the primary alone takes writes; then back to two.
        for count in (1, 2):
            done = one_shot(metas, f"set_replica_count {name} {count}", home, answers="y\n")
            assert "success" in done.stdout, done.stdout + done.stderr
            eventually(
                f"{count} member(s) per partition",
                partial(fully_replicated, client, name, count),
                MOVE_WAIT_S,
            )
            key = b"after-%d" % count
            eventually_done(f"a write with {count}", partial(t.set, key, b"s", b"z"))
            assert t.get(key, b"s") == b"z"
        _all_read_back(t)

        too_many = one_shot(metas, f"set_replica_count {name} 4", home, answers="y\n")
        assert (
            f"ERROR: set replica count of app({name}) failed: ERR_INVALID_PARAMETERS, there are "
            "not enough alive replica servers(3) for the requested replica count(4)"
        ) in too_many.stderr
        kept = one_shot(metas, f"set_replica_count {name} 3", home)  # no answer: nothing done
        assert "no answer, we will stop !" in kept.stdout
        assert client.route(name).partition_count == PARTITIONS
        assert fully_replicated(client, name, 2)
