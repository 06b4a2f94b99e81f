"""PacificA with real processes: three replica servers, a table of three replicas,
kill -9 of a primary under write load, kill -9 and return of a secondary, SIGSTOP of a
primary past its lease."""

from __future__ import annotations

import datetime
import pathlib
import re
import signal
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from functools import partial

import pytest

from pegasus_log.client.errors import PegasusError
from pegasus_log.client.sync import Admin, Client
from pegasus_log.rpc import messages as m
from pegasus_log.services.zookeeper import ZooKeeperServer
from pegasus_log.storage.keyhash import partition_hash
from pegasus_log.storage.schema import encode_key
from tests.cluster import ZkCluster, zk_cluster_up
from tests.integration.helpers import (
    REPLICATED_PARTITIONS,
    assert_refuses_write,
    eventually,
    eventually_done,
    keys_of_partition,
    member_everywhere,
    new_replicated_table,
    raw_reply,
    raw_request,
    server_of,
)
from tests.integration.shell_driver import one_shot

pytestmark = pytest.mark.integration
PARTITIONS = REPLICATED_PARTITIONS


@pytest.fixture(scope="module")
def cluster(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    with zk_cluster_up(
        tmp_path_factory.mktemp("replication"),
        zookeeper.address,
        metas=2,
        replicas=3,
        prefix="rep",
    ) as c:
        yield c


class Writer(threading.Thread):
    """Writes keys in order, recording which writes were acknowledged and when."""

    def __init__(self, client: Client, table: str, keys: list[bytes]) -> None:
        super().__init__(daemon=True)
        self.table = client.open_table(table)
        self.keys = keys
        self.acked: list[tuple[bytes, float]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        for k in self.keys:
            if self.stop.is_set():
                return
            try:
                self.table.set(k, b"s", k)
            except PegasusError:
                continue
            self.acked.append((k, time.monotonic()))


def test_primary_killed_under_load_loses_no_acknowledged_write(cluster: ZkCluster) -> None:
    name = new_replicated_table(cluster)
    with Client(cluster.meta_list, timeout_s=3.0) as client:
        victim_address = str(client.route(name).primaries[0])
        writer = Writer(client, name, keys_of_partition(0, 3000, PARTITIONS))
        writer.start()
        eventually("writes flowing", lambda: len(writer.acked) > 50)
        victim = server_of(cluster, victim_address)
        cluster.kill(victim)
        killed_at = time.monotonic()
        eventually(
            "writes after the kill", lambda: any(t > killed_at + 0.5 for _, t in writer.acked)
        )
        resumed = min(t for _, t in writer.acked if t > killed_at) - killed_at
        print(f"first acknowledged write {resumed:.2f} s after the kill")
        time.sleep(1.0)
        writer.stop.set()
        writer.join(10)
        table = client.open_table(name)
        lost = [k for k, _ in writer.acked if table.get(k, b"s") != k]
        assert lost == [], f"{len(lost)} acknowledged writes lost"
        assert str(client.route(name).primaries[0]) != victim_address
    cluster.restart(victim)
    with Client(cluster.meta_list) as client:
        eventually(
            "the killed server learns and rejoins every group",
            lambda: member_everywhere(client, name, victim_address),
        )


def test_kill_partition_remote_command_fails_one_replica(cluster: ZkCluster) -> None:
    """Upstream's ``replica.kill_partition``: the named replica fails as on a local
    failure while its server goes on serving every other replica. Killing a partition's
    primary under writes loses no acknowledged write, and writes resume on a new primary;
    the group is whole again afterwards, the killed replica's server a member again."""
    name = new_replicated_table(cluster)
    with Admin(cluster.meta_list) as admin, Client(cluster.meta_list, timeout_s=3.0) as client:
        route = client.route(name)
        app, primary = route.app_id, str(route.primaries[0])
        before = {i: route.members(i) for i in range(1, PARTITIONS)}
        assert admin.remote_command(primary, "replica.kill_partition", ["1", "2", "3"]) == (
            "ERR_INVALID_PARAMETERS"
        )
        assert admin.remote_command(primary, "replica.kill_partition", ["x"]) == (
            "ERR_INVALID_PARAMETERS"
        )
        assert admin.remote_command(primary, "replica.kill_partition", [str(app), "99"]) == (
            "ERR_OBJECT_NOT_FOUND"
        )
        writer = Writer(client, name, keys_of_partition(0, 3000, PARTITIONS))
        writer.start()
        eventually("writes flowing", lambda: len(writer.acked) > 50)
        killed = admin.remote_command(primary, "replica.kill_partition", [str(app), "0"])
        assert killed == "ERR_OK"
        killed_at = time.monotonic()
        eventually(
            "writes after the kill", lambda: any(t > killed_at + 0.5 for _, t in writer.acked)
        )
        writer.stop.set()
        writer.join(10)
        table = client.open_table(name)
        lost = [k for k, _ in writer.acked if table.get(k, b"s") != k]
        assert lost == [], f"{len(lost)} acknowledged writes lost"
        resumed = min(t for _, t in writer.acked if t > killed_at) - killed_at
        print(f"first acknowledged write {resumed:.2f} s after kill_partition")
        assert str(client.route(name).primaries[0]) != primary
        # The server's other replicas were not touched: the other partitions keep their
        # configurations and take writes.
        for i, members in before.items():
            key = keys_of_partition(i, 1, PARTITIONS)[0]
            table.set(key, b"s", b"still")
            assert table.get(key, b"s") == b"still"
            assert client.route(name).members(i) == members
        eventually(
            "the group is whole again, the killed replica's server in it",
            lambda: member_everywhere(client, name, primary),
        )


def test_secondary_killed_writes_continue_and_it_rejoins(cluster: ZkCluster) -> None:
    name = new_replicated_table(cluster)
    with Admin(cluster.meta_list) as admin, Client(cluster.meta_list, timeout_s=3.0) as client:
        primary = str(client.route(name).primaries[0])
        victim = next(
            f"replica{i + 1}"
            for i in range(3)
            if cluster.replica_address(f"replica{i + 1}") != primary
        )
        victim_address = cluster.replica_address(victim)
        table = client.open_table(name)
        keys = keys_of_partition(0, 200, PARTITIONS)
        for k in keys[:50]:
            table.set(k, b"s", k)
        cluster.kill(victim)
        # writes stall until the meta drops the dead secondary, then go on
        eventually_done(
            "writes continue without the secondary",
            lambda: table.set(keys[50], b"s", keys[50]),
        )
        for k in keys[51:150]:
            table.set(k, b"s", k)
        cluster.restart(victim)
        eventually("the secondary is back", lambda: (victim_address, True) in admin.list_nodes())
        eventually(
            "it learned and rejoined every group",
            lambda: member_everywhere(client, name, victim_address),
        )
        for k in keys[150:]:
            table.set(k, b"s", k)
        assert all(table.get(k, b"s") == k for k in keys)


def test_paused_primary_is_replaced_and_acknowledges_nothing_after(cluster: ZkCluster) -> None:
    name = new_replicated_table(cluster)
    with Client(cluster.meta_list, timeout_s=3.0) as client:
        old_primary = str(client.route(name).primaries[0])
        victim = server_of(cluster, old_primary)
        table = client.open_table(name)
        app_id = client.route(name).app_id
        keys = keys_of_partition(0, 100, PARTITIONS)
        table.set(keys[0], b"s", b"before")
        host, port = old_primary.rsplit(":", 1)
        # connected before the pause, as a client that was using the primary is
        reader = socket.create_connection((host, int(port)), timeout=10)
        cluster.kill(victim, signal.SIGSTOP)
        paused_at = time.monotonic()
        try:
            eventually(
                "a new primary takes over",
                lambda: str(client.route(name).primaries[0]) != old_primary,
            )
            print(f"new primary after {time.monotonic() - paused_at:.1f} s of pause")
            # The table's cached route still names the paused primary: the first write
            # goes there, times out with an unknown outcome (a write is not sent twice)
            # and refreshes the route; the next one reaches the new primary.
            eventually_done(
                "a write through the new primary",
                lambda: table.set(keys[0], b"s", b"after"),
            )
            # A read that reaches the old primary while it is paused waits in its socket:
            # it is handled on resume, before the tick that sees the lease lapsed.
            stale_read = raw_request(
                old_primary,
                m.RRDB_GET,
                encode_key(keys[0], b"s"),
                keys[0],
                app_id,
                PARTITIONS,
                conn=reader,
            )
        finally:
            cluster.kill(victim, signal.SIGCONT)
        read = raw_reply(stale_read)
        assert read.error_name != "ERR_OK", "the deposed primary answered a read"
        # The old primary's lease lapsed before it was replaced: it must refuse writes sent
        # straight to it, and the value written through the new primary stands.
        with Client([cluster.meta_list[0]], timeout_s=2.0) as fresh:
            stale = fresh.open_table(name)
            assert stale.get(keys[0], b"s") == b"after"
        assert_refuses_write(old_primary, keys[1], app_id, PARTITIONS)
        assert table.get(keys[1], b"s") is None


def test_lively_meta_moves_primaries_back_to_a_returned_server(cluster: ZkCluster) -> None:
    name = new_replicated_table(cluster)
    with Admin(cluster.meta_list) as admin, Client(cluster.meta_list, timeout_s=3.0) as client:
        table = client.open_table(name)
        keys = [b"bal-%d" % i for i in range(40)]
        for k in keys:
            table.set(k, b"s", k)
        victim = "replica1"
        victim_address = cluster.replica_address(victim)
        cluster.kill(victim)
        eventually(
            "its primaries move away",
            lambda: victim_address not in map(str, client.route(name).primaries),
        )
        cluster.restart(victim)
        eventually(
            "it rejoins every group as secondary",
            lambda: member_everywhere(client, name, victim_address),
        )
        assert victim_address not in map(str, client.route(name).primaries)

        def primaries_even() -> bool:
            route = client.route(name)
            counts = [
                sum(str(p) == cluster.replica_address(f"replica{i + 1}") for p in route.primaries)
                for i in range(3)
            ]
            return max(counts) - min(counts) <= 1

        admin.set_meta_level("lively")
        try:
            eventually("the balancer evens out primaries", primaries_even)
        finally:
            admin.set_meta_level("steady")
        assert victim_address in map(str, client.route(name).primaries)
        assert all(table.get(k, b"s") == k for k in keys)
        table.set(b"bal-after", b"s", b"ok")


def test_mlog_dump_and_local_get_show_a_write_on_every_member(
    cluster: ZkCluster, tmp_path: pathlib.Path
) -> None:
    """The shell's mlog_dump reads a live replica server's log: the write is in all three,
    under one decree and ballot, stamped with the wall clock of the moment it was made;
    local_get reads it from each member's RocksDB while the server runs."""
    name = new_replicated_table(cluster)
    key = b"mlog-" + uuid.uuid4().hex[:8].encode()
    with Client(cluster.meta_list) as client:
        table = client.open_table(name)
        app_id = client.route(name).app_id
        before = time.time()
        eventually_done("the write", lambda: table.set(key, b"s", b"logged"))
        after = time.time()
    put = f'  [PUT] "{key.decode()}" : "s" => 0 : "logged"'
    pidx = partition_hash(key, b"s") % PARTITIONS

    def applied_on(store: pathlib.Path) -> bool:
        got = one_shot(",".join(cluster.meta_list), f"local_get {store} {key.decode()} s", tmp_path)
        return got.stdout == '0 : "logged"\n'

    seen: set[str] = set()
    for i in range(cluster.replicas):
        plog = cluster.root / f"replica{i + 1}" / "plog"
        done = one_shot(",".join(cluster.meta_list), f"mlog_dump -i {plog} -d", tmp_path)
        assert done.returncode == 0 and done.stderr.strip().endswith("Done"), done.stderr
        lines = done.stdout.splitlines()
        at = lines.index(put)
        header = next(line for line in reversed(lines[:at]) if line.startswith("mutation ["))
        assert f"gpid={app_id}." in header, header
        stamp = re.search(r"timestamp=(\S+ \S+),", header)
        assert stamp is not None, header
        when = datetime.datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        assert before - 1 <= when <= after + 1, (stamp.group(1), before, after)
        seen.add(header.split("]")[0])
        # The member's RocksDB, opened read-only beside the running server. A secondary
        # applies the write once it hears the commit point (the next prepare, empty write
        # or group check), so it may not have it yet.
        store = cluster.root / f"replica{i + 1}" / f"{app_id}.{pidx}.pegasus"
        eventually(f"the write in replica{i + 1}'s RocksDB", partial(applied_on, store))
    assert len(seen) == 1, seen  # the same app.partition.ballot.decree on every member
