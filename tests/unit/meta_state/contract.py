"""The behaviour every ``MetaStateStore`` and the repository on top of it must show.

The classes are not collected on their own (no ``Test`` prefix): a test module subclasses
them and provides the fixtures ``store`` (a connected ``MetaStateStore``) and ``base`` (a
fresh, existing node path that no other test uses). The twin runs them in
tests/unit/meta_state, the twin and a real ZooKeeper in tests/integration/zookeeper.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from pegasus_log.meta.state.layout import (
    APPS_LOCKED,
    APPS_UNLOCKED,
    Layout,
    encode_app,
    encode_partition,
)
from pegasus_log.meta.state.model import AppState, AppStatus, PartitionConfig
from pegasus_log.meta.state.repository import (
    INVALID_BALLOT,
    AppsLocked,
    MetaStateRepository,
)
from pegasus_log.meta.state.store import (
    ANY_VERSION,
    BadNodeData,
    BadVersion,
    CheckVersion,
    Create,
    Delete,
    MetaStateStore,
    NodeExists,
    NodeTooLarge,
    NoNode,
    NotEmpty,
    SetData,
    StoreLimits,
    StoreUnavailable,
)


class StoreContract:
    def test_create_then_read_at_version_zero(self, store: MetaStateStore, base: str) -> None:
        store.create(f"{base}/a", b"hello")
        node = store.read(f"{base}/a")
        assert (node.data, node.version) == (b"hello", 0)
        store.create(f"{base}/empty")
        assert store.read(f"{base}/empty").data == b""

    def test_create_errors(self, store: MetaStateStore, base: str) -> None:
        store.create(f"{base}/a", b"1")
        with pytest.raises(NodeExists) as exists:
            store.create(f"{base}/a", b"2")
        assert not exists.value.retriable
        with pytest.raises(NoNode):
            store.create(f"{base}/missing/child", b"")
        assert store.read(f"{base}/a").data == b"1"

    def test_make_parents(self, store: MetaStateStore, base: str) -> None:
        store.create(f"{base}/x/y/z", b"leaf", make_parents=True)
        assert store.read(f"{base}/x/y/z").data == b"leaf"
        assert store.read(f"{base}/x/y").data == b""
        store.create(f"{base}/x/y/w", b"other", make_parents=True)
        assert store.children(f"{base}/x/y") == ["w", "z"]

    def test_write_bumps_version_and_checks_it(self, store: MetaStateStore, base: str) -> None:
        path = f"{base}/n"
        store.create(path, b"v0")
        assert store.write(path, b"v1") == 1
        assert store.write(path, b"v2", version=1) == 2
        with pytest.raises(BadVersion) as stale:
            store.write(path, b"lost", version=1)
        assert not stale.value.retriable
        assert store.read(path).data == b"v2"
        assert store.write(path, b"v3", version=ANY_VERSION) == 3
        with pytest.raises(NoNode):
            store.write(f"{base}/missing", b"")

    def test_delete(self, store: MetaStateStore, base: str) -> None:
        store.create(f"{base}/p", b"")
        store.create(f"{base}/p/c", b"")
        with pytest.raises(NotEmpty):
            store.delete(f"{base}/p")
        with pytest.raises(BadVersion):
            store.delete(f"{base}/p/c", version=5)
        store.delete(f"{base}/p/c", version=0)
        store.delete(f"{base}/p")
        assert not store.exists(f"{base}/p")
        with pytest.raises(NoNode):
            store.delete(f"{base}/p")

    def test_children_are_sorted_names(self, store: MetaStateStore, base: str) -> None:
        for name in ["10", "2", "b", "a"]:
            store.create(f"{base}/{name}", b"")
        assert store.children(base) == ["10", "2", "a", "b"]
        assert store.children(f"{base}/a") == []
        with pytest.raises(NoNode):
            store.children(f"{base}/missing")

    def test_commit_applies_all(self, store: MetaStateStore, base: str) -> None:
        store.create(f"{base}/old", b"o")
        store.commit(
            [
                Create(f"{base}/app", b"app"),
                Create(f"{base}/app/0", b"p0"),
                Create(f"{base}/app/1", b"p1"),
                SetData(f"{base}/old", b"o2", 0),
                CheckVersion(f"{base}/old", 1),
            ]
        )
        assert store.children(f"{base}/app") == ["0", "1"]
        assert store.read(f"{base}/old").version == 1

    def test_commit_applies_none_when_one_fails(self, store: MetaStateStore, base: str) -> None:
        store.create(f"{base}/taken", b"t")
        ops = [
            Create(f"{base}/app", b"app"),
            Create(f"{base}/app/0", b"p0"),
            Create(f"{base}/taken", b"again"),
            Create(f"{base}/app/1", b"p1"),
        ]
        with pytest.raises(NodeExists) as failed:
            store.commit(ops)
        assert failed.value.op_index == 2
        assert not store.exists(f"{base}/app")
        assert store.read(f"{base}/taken").data == b"t"

    def test_commit_checks_versions(self, store: MetaStateStore, base: str) -> None:
        store.create(f"{base}/a", b"a")
        store.create(f"{base}/b", b"b")
        store.write(f"{base}/b", b"b1")
        with pytest.raises(BadVersion) as stale:
            store.commit([SetData(f"{base}/a", b"a1", 0), SetData(f"{base}/b", b"b2", 0)])
        assert stale.value.op_index == 1
        assert store.read(f"{base}/a").version == 0
        with pytest.raises(BadVersion):
            store.commit([CheckVersion(f"{base}/b", 0), Create(f"{base}/c", b"")])
        assert not store.exists(f"{base}/c")

    def test_commit_sees_its_own_earlier_ops(self, store: MetaStateStore, base: str) -> None:
        store.create(f"{base}/n", b"old")
        store.commit([Delete(f"{base}/n", 0), Create(f"{base}/n", b"new")])
        node = store.read(f"{base}/n")
        assert (node.data, node.version) == (b"new", 0)
        store.commit([Create(f"{base}/m", b""), SetData(f"{base}/m", b"x", 0)])
        assert store.read(f"{base}/m").version == 1

    def test_size_limits(self, store: MetaStateStore, base: str) -> None:
        limits = StoreLimits()
        with pytest.raises(NodeTooLarge):
            store.create(f"{base}/big", b"x" * (limits.node_bytes_max + 1))
        assert not store.exists(f"{base}/big")
        half = b"x" * (limits.node_bytes_max // 2 + 1)
        with pytest.raises(NodeTooLarge):
            store.commit([Create(f"{base}/h1", half), Create(f"{base}/h2", half)])
        store.create(f"{base}/fits", b"x" * 100_000)
        assert len(store.read(f"{base}/fits").data) == 100_000

    def test_bad_paths(self, store: MetaStateStore, base: str) -> None:
        for path in ["relative", f"{base}/", f"{base}//x", f"{base}/./x", f"{base}/../x"]:
            with pytest.raises(ValueError):
                store.create(path, b"")

    def test_retriable_flags(self) -> None:
        assert StoreUnavailable("down").retriable
        assert not NoNode("x").retriable and not BadVersion("x").retriable


def _app(app_id: int, name: str, partitions: int = 4, **kw: object) -> AppState:
    return AppState(
        app_id=app_id,
        app_name=name,
        partition_count=partitions,
        init_partition_count=partitions,
        create_second=1_700_000_000,
        envs={"default_ttl": "86400"},
        **kw,  # type: ignore[arg-type]
    )


class RepositoryContract:
    @pytest.fixture
    def layout(self, base: str) -> Layout:
        return Layout(f"{base}/pegasus/onebox")

    @pytest.fixture
    def repo(self, store: MetaStateStore, layout: Layout) -> MetaStateRepository:
        r = MetaStateRepository(store, layout)
        r.initialize()
        return r

    def test_initialize_is_idempotent(
        self, store: MetaStateStore, layout: Layout, repo: MetaStateRepository
    ) -> None:
        repo.initialize()
        assert store.read(layout.apps_root).data == APPS_UNLOCKED
        assert repo.load_all() == ({}, {})
        assert repo.next_app_id() == 1

    def test_load_all_before_initialize_is_empty(self, store: MetaStateStore, base: str) -> None:
        fresh = MetaStateRepository(store, Layout(f"{base}/never"))
        assert fresh.load_all() == ({}, {})

    def test_create_then_load(self, repo: MetaStateRepository) -> None:
        temp = _app(1, "temp", 8)
        other = _app(2, "other", 4, max_replica_count=1)
        repo.create_app(temp)
        repo.create_app(other, other.initial_partitions())
        apps, partitions = repo.load_all()
        assert {i: s.value for i, s in apps.items()} == {1: temp, 2: other}
        assert all(s.version == 0 for s in apps.values())
        assert len(partitions) == 12
        assert partitions[(2, 3)].value == PartitionConfig(2, 3, max_replica_count=1)
        assert partitions[(1, 7)].version == 0
        assert repo.next_app_id() == 3

    def test_create_existing_app_writes_nothing(self, repo: MetaStateRepository) -> None:
        repo.create_app(_app(1, "temp", 4))
        with pytest.raises(NodeExists):
            repo.create_app(_app(1, "again", 8))
        apps, partitions = repo.load_all()
        assert apps[1].value.app_name == "temp"
        assert len(partitions) == 4

    def test_update_partition_checks_version(self, repo: MetaStateRepository) -> None:
        repo.create_app(_app(1, "temp", 4))
        stored = repo.read_partition(1, 2)
        config = dataclasses.replace(
            stored.value,
            ballot=1,
            primary="127.0.0.1:34801",
            secondaries=("127.0.0.1:34802", "127.0.0.1:34803"),
        )
        assert repo.update_partition(config, stored.version) == 1
        later = dataclasses.replace(config, ballot=2, last_drops=("127.0.0.1:34803",))
        with pytest.raises(BadVersion):
            repo.update_partition(later, stored.version)
        assert repo.update_partition(later, 1) == 2
        _, partitions = repo.load_all()
        assert partitions[(1, 2)].value == later
        assert partitions[(1, 2)].version == 2
        with pytest.raises(NoNode):
            repo.update_partition(PartitionConfig(9, 0, ballot=1), 0)

    def test_update_partitions_all_or_none(self, repo: MetaStateRepository) -> None:
        repo.create_app(_app(1, "temp", 4))
        repo.update_partition(PartitionConfig(1, 3, ballot=1), 0)
        dropped = [PartitionConfig(1, i, ballot=2, partition_flags=1) for i in range(4)]
        with pytest.raises(BadVersion):
            repo.update_partitions([(c, 0) for c in dropped])
        _, partitions = repo.load_all()
        assert not any(s.value.dropped for s in partitions.values())
        versions = repo.update_partitions(
            [(c, 1 if c.partition_index == 3 else 0) for c in dropped]
        )
        assert versions == [1, 1, 1, 2]
        _, partitions = repo.load_all()
        assert all(s.value.dropped for s in partitions.values())
        assert [partitions[(1, i)].version for i in range(4)] == versions

    def test_app_status_and_envs(self, repo: MetaStateRepository) -> None:
        repo.create_app(_app(1, "temp", 4))
        stored = repo.set_envs(1, {"rocksdb.usage_scenario": "bulk_load", "default_ttl": "60"})
        assert stored.version == 1
        assert dict(stored.value.envs) == {
            "rocksdb.usage_scenario": "bulk_load",
            "default_ttl": "60",
        }
        stored = repo.delete_envs(1, ["default_ttl", "absent"])
        assert dict(stored.value.envs) == {"rocksdb.usage_scenario": "bulk_load"}
        stored = repo.set_app_status(1, AppStatus.AS_DROPPED, drop_second=1_700_000_100)
        assert stored.version == 3
        apps, _ = repo.load_all()
        assert apps[1] == stored
        assert apps[1].value.status is AppStatus.AS_DROPPED
        assert apps[1].value.drop_second == 1_700_000_100
        with pytest.raises(BadVersion):
            repo.update_app(stored.value, 2)
        with pytest.raises(NoNode):
            repo.set_envs(42, {"a": "b"})

    def test_large_table_in_one_transaction(self, repo: MetaStateRepository) -> None:
        repo.create_app(_app(1, "big", 1024))
        _, partitions = repo.load_all()
        assert len(partitions) == 1024

    def test_create_in_batches_when_over_the_limit(
        self, store: MetaStateStore, layout: Layout
    ) -> None:
        small = StoreLimits(transaction_bytes_max=2_000)
        repo = MetaStateRepository(store, layout, limits=small)
        repo.initialize()
        repo.create_app(_app(1, "temp", 64))
        apps, partitions = repo.load_all()
        assert len(partitions) == 64 and 1 in apps

    def test_missing_partition_nodes_are_completed(
        self, store: MetaStateStore, layout: Layout, repo: MetaStateRepository
    ) -> None:
        app = dataclasses.replace(_app(1, "temp", 8), init_partition_count=4)
        repo.create_app(app)
        store.delete(layout.partition_path(1, 1))  # a creation cut short
        store.delete(layout.partition_path(1, 6))  # a split cut short
        _, partitions = repo.load_all()
        assert partitions[(1, 1)].value == PartitionConfig(1, 1, max_replica_count=3)
        assert store.exists(layout.partition_path(1, 1))
        assert partitions[(1, 6)].value.ballot == INVALID_BALLOT
        assert not store.exists(layout.partition_path(1, 6))

    def test_locked_apps_root_is_refused(
        self, store: MetaStateStore, layout: Layout, repo: MetaStateRepository
    ) -> None:
        store.write(layout.apps_root, APPS_LOCKED)
        with pytest.raises(BadNodeData):
            repo.load_all()

    def test_a_whole_rewrite_is_locked_and_cleared_first(
        self, store: MetaStateStore, layout: Layout, repo: MetaStateRepository
    ) -> None:
        repo.create_app(_app(3, "temp", 2))
        repo.create_app(_app(4, "other", 1))
        store.create(layout.duplication_root(3), b"")
        store.create(f"{layout.duplication_root(3)}/1", b"{}")
        repo.lock_apps()
        with pytest.raises(AppsLocked):
            repo.load_all()
        repo.clear_apps()
        assert store.children(layout.apps_root) == []
        assert store.read(layout.apps_root).data == APPS_LOCKED
        repo.create_app(_app(1, "temp", 2))
        repo.unlock_apps()
        apps, partitions = repo.load_all()
        assert list(apps) == [1] and sorted(partitions) == [(1, 0), (1, 1)]
        repo.clear_apps()
        assert repo.load_all() == ({}, {})

    def test_other_children_are_not_tables_or_partitions(
        self, store: MetaStateStore, layout: Layout, repo: MetaStateRepository
    ) -> None:
        repo.create_app(_app(3, "temp", 2))
        store.create(layout.duplication_root(3), b"")
        store.create(f"{layout.apps_root}/not-a-table", b"")
        apps, partitions = repo.load_all()
        assert list(apps) == [3] and len(partitions) == 2
        assert repo.next_app_id() == 4

    def test_nodes_hold_upstream_json(
        self, store: MetaStateStore, layout: Layout, repo: MetaStateRepository
    ) -> None:
        app = _app(5, "temp", 2)
        repo.create_app(app)
        doc = json.loads(store.read(layout.app_path(5)).data)
        assert doc["status"] == "app_status::AS_AVAILABLE"
        assert doc["app_name"] == "temp" and doc["partition_count"] == 2
        assert doc["envs"] == {"default_ttl": "86400"}
        assert store.read(layout.app_path(5)).data == encode_app(app)
        part = json.loads(store.read(layout.partition_path(5, 1)).data)
        assert part["pid"] == "5.1"
        assert part["primary"] == "invalid address"
        assert part["hp_primary"] == "invalid host_port"
        assert store.read(layout.partition_path(5, 0)).data == encode_partition(
            PartitionConfig(5, 0)
        )

    def test_corrupt_node_is_bad_node_data(
        self, store: MetaStateStore, layout: Layout, repo: MetaStateRepository
    ) -> None:
        repo.create_app(_app(1, "temp", 2))
        store.write(layout.partition_path(1, 0), b"{not json")
        with pytest.raises(BadNodeData):
            repo.load_all()
        store.write(layout.partition_path(1, 0), encode_partition(PartitionConfig(1, 1)))
        with pytest.raises(BadNodeData):
            repo.load_all()
