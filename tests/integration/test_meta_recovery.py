"""Meta recovery on a real cluster (ZooKeeper, a meta, three replica servers): the meta's
state in ZooKeeper is deleted, the meta restarts with --recover-from-replica-servers and
waits, and the shell's ``recover`` rebuilds every table from the replica servers.

Two tables hold data, a third was dropped. One replica server is restarted while the
meta is away, so its replicas are reported from disk (store and log), the others from
their open replicas. After recover, every record reads back under the same table names
and app ids, writes go on, the dropped table is still dropped and its recall brings its
data back. Before it, the meta refuses to change anything; after it, a second recover
is refused. A first recovery is left cut short in ZooKeeper (the apps root locked over
one table): the restarted meta clears it and waits for recover, serving no part of it.

Then a whole cluster restarts after the loss with one replica server down: recover
refuses until told to skip it, and the server, back, rejoins every partition."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from pegasus_log.client.errors import PegasusError
from pegasus_log.client.sync import Admin, Client
from pegasus_log.meta.state.model import AppState
from pegasus_log.services.zookeeper import ZooKeeperServer
from tests.cluster import ZkCluster, zk_cluster_up
from tests.integration.helpers import eventually, eventually_done, fully_replicated
from tests.integration.shell_driver import one_shot

pytestmark = pytest.mark.integration
RECORDS = 40
# A meta restart, the replica servers' leases and every partition learning again; a
# liveness bound, not a speed claim.
WAIT_S = 90.0
TABLES = {"rec_a": 4, "rec_b": 2, "rec_dropped": 2}


@pytest.fixture(scope="module")
def cluster(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ZkCluster]:
    root: Path = tmp_path_factory.mktemp("meta-recovery")
    with zk_cluster_up(root, zookeeper.address, metas=1, replicas=3, prefix="mrec") as c:
        yield c


def _fill(client: Client, name: str) -> None:
    t = client.open_table(name)
    for i in range(RECORDS):
        t.set(b"%s-%d" % (name.encode(), i), b"s", b"v%d" % i)


def _all_read_back(client: Client, name: str) -> bool:
    t = client.open_table(name)
    return all(t.get(b"%s-%d" % (name.encode(), i), b"s") == b"v%d" % i for i in range(RECORDS))


def test_recover_rebuilds_every_table_from_the_replica_servers(
    cluster: ZkCluster, tmp_path: Path
) -> None:
    metas = ",".join(cluster.meta_list)
    with Admin(cluster.meta_list) as admin, Client(cluster.meta_list) as client:
        for name, partitions in TABLES.items():
            admin.create_table(name, partition_count=partitions, replica_count=3)
        for name in TABLES:
            eventually(f"{name} fully replicated", partial(fully_replicated, client, name, 3))
            _fill(client, name)
        before = {t.name: (t.app_id, t.partition_count) for t in admin.list_tables()}
        admin.drop_table("rec_dropped")

    # The meta's state is lost; one replica server restarts meanwhile. A first recovery
    # was cut short: the apps root is locked over one table of the three, at a fresh
    # configuration. The meta clears it and waits, rather than serve a part.
    cluster.kill("meta1")
    cluster.delete_meta_state()
    app_id, partitions = before["rec_b"]
    cluster.leave_a_recovery_cut_short(
        AppState(app_id=app_id, app_name="rec_b", partition_count=partitions)
    )
    cluster.restart("replica3")
    cluster.restart_metas("--recover-from-replica-servers")

    with Admin(cluster.meta_list) as admin:
        assert eventually("the meta leads again", lambda: admin.list_tables() == [], WAIT_S) is True
        with pytest.raises(PegasusError) as refused:
            admin.create_table("rec_new", partition_count=2, replica_count=3)
        assert refused.value.code.name == "ERR_UNDER_RECOVERY"
    home = tmp_path / "home"
    home.mkdir()
    nodes_file = tmp_path / "nodes"
    nodes_file.write_text(
        "# the replica servers\n"
        + "".join(cluster.replica_address(f"replica{i}") + "\n" for i in (1, 2, 3))
        + "\n; end\n"
    )
    done = one_shot(metas, f"recover -f {nodes_file} -w 60", home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(
        "Wait seconds: 60\nSkip bad nodes: false\nSkip lost partitions: false\nNode list:\n"
    ), done.stdout
    assert "Recover result: ERR_OK\n" in done.stdout

    with Admin(cluster.meta_list) as admin, Client(cluster.meta_list) as client:
        listed = admin.list_tables(include_dropped=True)
        assert {t.name: (t.app_id, t.partition_count) for t in listed} == before
        assert {t.name: t.status for t in listed}["rec_dropped"] == "AS_DROPPED"
        for name in ("rec_a", "rec_b"):
            eventually(
                f"{name} fully replicated again",
                partial(fully_replicated, client, name, 3),
                WAIT_S,
            )
            assert _all_read_back(client, name), name
            t = client.open_table(name)
            eventually_done(f"a write to {name}", partial(t.set, b"after", b"s", b"x"))
            assert t.get(b"after", b"s") == b"x"
        admin.recall_table(before["rec_dropped"][0])
        eventually(
            "the recalled table fully replicated",
            partial(fully_replicated, client, "rec_dropped", 3),
            WAIT_S,
        )
        assert _all_read_back(client, "rec_dropped")

    again = one_shot(metas, f"recover -s {cluster.replica_address('replica1')}", home)
    assert again.returncode == 1
    assert "Recover result: ERR_SERVICE_ALREADY_RUNNING" in again.stdout
    assert "ERROR: recover failed, error = ERR_SERVICE_ALREADY_RUNNING" in again.stderr


def test_recover_after_a_whole_cluster_restart_with_a_server_missing(
    zookeeper: ZooKeeperServer, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    """ZooKeeper's state lost and every process restarted, one replica server down:
    recover refuses without -b and names the server; with -b it warns that each partition
    has two of its three replicas, every record reads back, and the third server, back,
    rejoins every partition."""
    root: Path = tmp_path_factory.mktemp("meta-recovery-restart")
    with zk_cluster_up(root, zookeeper.address, metas=1, replicas=3, prefix="mrec2") as c:
        with Admin(c.meta_list) as admin, Client(c.meta_list) as client:
            admin.create_table("rec_c", partition_count=4, replica_count=3)
            eventually("rec_c fully replicated", partial(fully_replicated, client, "rec_c", 3))
            _fill(client, "rec_c")
        c.kill("meta1")
        c.delete_meta_state()
        c.restart("replica1")
        c.restart("replica2")
        c.kill("replica3")
        c.restart_metas("--recover-from-replica-servers")
        with Admin(c.meta_list) as admin:
            eventually("the meta leads again", lambda: admin.list_tables() == [], WAIT_S)

        home = tmp_path / "home"
        home.mkdir()
        servers = ",".join(c.replica_address(f"replica{i}") for i in (1, 2, 3))
        missing = c.replica_address("replica3")
        refused = one_shot(c.meta_list[0], f"recover -s {servers} -w 30", home)
        assert refused.returncode == 1
        assert "Recover result: ERR_TRY_AGAIN" in refused.stdout
        assert (
            f"ERROR: collect app and replica info from node({missing}) failed with err("
        ) in refused.stdout
        assert "you can skip it by set skip_bad_nodes option" in refused.stdout

        done = one_shot(c.meta_list[0], f"recover -s {servers} -w 30 -b", home)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Recover result: ERR_OK" in done.stdout
        assert "skip the bad node\nWARNING: partition(1.0) only collects 2/3" in done.stdout
        with Client(c.meta_list) as client:
            eventually(
                "two members per partition",
                partial(fully_replicated, client, "rec_c", 2),
                WAIT_S,
            )
            assert _all_read_back(client, "rec_c")
            c.restart("replica3")
            eventually(
                "the third server back in every partition",
                partial(fully_replicated, client, "rec_c", 3),
                WAIT_S,
            )
            assert _all_read_back(client, "rec_c")
