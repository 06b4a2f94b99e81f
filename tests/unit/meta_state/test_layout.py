"""Upstream's znode layout and JSON encoding of app_info and partition_configuration."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pegasus_log.meta.state.layout import (
    Layout,
    decode_app,
    decode_partition,
    encode_app,
    encode_partition,
    parse_index,
)
from pegasus_log.meta.state.model import AppState, AppStatus, InvalidState, PartitionConfig
from pegasus_log.meta.state.store import BadNodeData

# What upstream's meta server writes for a table (json_forwarder<app_info>).
UPSTREAM_APP = (
    b'{"status":"app_status::AS_AVAILABLE","app_type":"pegasus","app_name":"temp",'
    b'"app_id":2,"partition_count":8,"envs":{"default_ttl":"100"},"is_stateful":true,'
    b'"max_replica_count":3,"expire_second":0,"create_second":1600000000,"drop_second":0,'
    b'"duplicating":false,"init_partition_count":8,"is_bulk_loading":false,'
    b'"atomic_idempotent":false}'
)
# ... and for a partition, with host names in the hp_ fields.
UPSTREAM_PARTITION = (
    b'{"pid":"2.3","ballot":5,"max_replica_count":3,"primary":"10.0.0.1:34801",'
    b'"secondaries":["10.0.0.2:34801","10.0.0.3:34801"],"last_drops":[],'
    b'"last_committed_decree":100,"partition_flags":0,"hp_primary":"node1:34801",'
    b'"hp_secondaries":["node2:34801","node3:34801"],"hp_last_drops":[]}'
)


def test_paths_are_upstreams() -> None:
    layout = Layout.for_cluster("onebox")
    assert layout.cluster_root == "/pegasus/onebox"
    assert layout.apps_root == "/pegasus/onebox/apps"
    assert layout.app_path(2) == "/pegasus/onebox/apps/2"
    assert layout.partition_path(2, 7) == "/pegasus/onebox/apps/2/7"
    assert layout.duplication_root(2) == "/pegasus/onebox/apps/2/duplication"
    assert layout.backup_root == "/pegasus/onebox/backup"
    assert layout.bulk_load_root == "/pegasus/onebox/bulk_load"
    assert layout.leader_lock_path == "/pegasus/onebox/lock/dsn.meta.server.leader"
    for bad in ["", "a/b", ".."]:
        with pytest.raises(ValueError):
            Layout.for_cluster(bad)


def test_parse_index() -> None:
    assert [parse_index(n) for n in ["0", "17", "017", "duplication", "-1", ""]] == [
        0,
        17,
        None,
        None,
        None,
        None,
    ]


def test_decodes_upstream_app_info() -> None:
    app = decode_app(UPSTREAM_APP)
    assert app == AppState(
        app_id=2,
        app_name="temp",
        partition_count=8,
        envs={"default_ttl": "100"},
        create_second=1_600_000_000,
        init_partition_count=8,
    )
    assert json.loads(encode_app(app)) == json.loads(UPSTREAM_APP)


def test_decodes_app_info_written_before_newer_fields() -> None:
    old = json.loads(UPSTREAM_APP)
    for name in [
        "create_second",
        "drop_second",
        "duplicating",
        "init_partition_count",
        "is_bulk_loading",
        "atomic_idempotent",
    ]:
        del old[name]
    old["status"] = "app_status::AS_DROPPED"
    app = decode_app(json.dumps(old).encode())
    assert app.status is AppStatus.AS_DROPPED
    assert (app.init_partition_count, app.create_second, app.duplicating) == (-1, 0, False)


def test_decodes_upstream_partition_preferring_host_ports() -> None:
    config = decode_partition(UPSTREAM_PARTITION)
    assert config == PartitionConfig(
        app_id=2,
        partition_index=3,
        ballot=5,
        primary="node1:34801",
        secondaries=("node2:34801", "node3:34801"),
        last_committed_decree=100,
    )
    legacy = json.loads(UPSTREAM_PARTITION)
    for name in ["hp_primary", "hp_secondaries", "hp_last_drops"]:
        del legacy[name]
    config = decode_partition(json.dumps(legacy).encode())
    assert config.primary == "10.0.0.1:34801"
    assert config.secondaries == ("10.0.0.2:34801", "10.0.0.3:34801")


def test_no_primary_is_upstreams_invalid_address() -> None:
    doc = json.loads(encode_partition(PartitionConfig(1, 0)))
    assert (doc["primary"], doc["hp_primary"]) == ("invalid address", "invalid host_port")
    assert decode_partition(encode_partition(PartitionConfig(1, 0))).primary is None


@pytest.mark.parametrize(
    "data",
    [
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        UPSTREAM_APP.replace(b'"app_id":2', b'"app_id":"2"'),
        UPSTREAM_APP.replace(b'"is_stateful":true', b'"is_stateful":1'),
        UPSTREAM_APP.replace(b'"partition_count":8', b'"partition_count":true'),
        UPSTREAM_APP.replace(b'"partition_count":8', b'"partition_count":6'),
        UPSTREAM_APP.replace(b"AS_AVAILABLE", b"AS_SLEEPING"),
        UPSTREAM_APP.replace(b'{"default_ttl":"100"}', b'{"default_ttl":100}'),
        UPSTREAM_APP.replace(b'"app_name":"temp"', b'"app_name":"bad name"'),
    ],
)
def test_bad_app_info_is_bad_node_data(data: bytes) -> None:
    with pytest.raises(BadNodeData):
        decode_app(data, path="/pegasus/x/apps/2")


@pytest.mark.parametrize(
    "data",
    [
        b"{}",
        UPSTREAM_PARTITION.replace(b'"2.3"', b'"2-3"'),
        UPSTREAM_PARTITION.replace(b'"ballot":5', b'"ballot":"5"'),
        UPSTREAM_PARTITION.replace(b'"hp_last_drops":[]', b'"hp_last_drops":[1]'),
        UPSTREAM_PARTITION.replace(b'"hp_primary":"node1:34801"', b'"hp_primary":"node2:34801"'),
    ],
)
def test_bad_partition_is_bad_node_data(data: bytes) -> None:
    with pytest.raises(BadNodeData):
        decode_partition(data)


def test_model_rules() -> None:
    with pytest.raises(InvalidState):
        AppState(app_id=0, app_name="t", partition_count=4)
    with pytest.raises(InvalidState):
        AppState(app_id=1, app_name="t", partition_count=3)
    with pytest.raises(InvalidState):
        PartitionConfig(1, 0, primary="a:1", secondaries=("a:1",))
    app = AppState(app_id=1, app_name="t", partition_count=4, envs={"k": "v"})
    with pytest.raises(TypeError):
        app.envs["k"] = "w"  # type: ignore[index]
    assert hash(app) == hash(AppState(app_id=1, app_name="t", partition_count=4))
    assert [p.gpid for p in app.initial_partitions()] == [(1, 0), (1, 1), (1, 2), (1, 3)]


_names = st.from_regex(r"[A-Za-z0-9_.:-]{1,20}", fullmatch=True)
_text = st.text(max_size=20)
_hosts = st.from_regex(r"[a-z0-9.]{1,12}:[0-9]{1,5}", fullmatch=True)


@given(
    app_id=st.integers(1, 2**31 - 1),
    name=_names,
    shift=st.integers(0, 12),
    status=st.sampled_from(AppStatus),
    envs=st.dictionaries(_text, _text, max_size=5),
    numbers=st.lists(st.integers(0, 2**62), min_size=3, max_size=3),
    flags=st.lists(st.booleans(), min_size=4, max_size=4),
)
def test_app_round_trip(
    app_id: int,
    name: str,
    shift: int,
    status: AppStatus,
    envs: dict[str, str],
    numbers: list[int],
    flags: list[bool],
) -> None:
    app = AppState(
        app_id=app_id,
        app_name=name,
        partition_count=1 << shift,
        status=status,
        envs=envs,
        expire_second=numbers[0],
        create_second=numbers[1],
        drop_second=numbers[2],
        is_stateful=flags[0],
        duplicating=flags[1],
        is_bulk_loading=flags[2],
        atomic_idempotent=flags[3],
    )
    assert decode_app(encode_app(app)) == app


@given(
    gpid=st.tuples(st.integers(1, 2**31 - 1), st.integers(0, 2**16)),
    ballot=st.integers(-1, 2**62),
    members=st.lists(_hosts, unique=True, max_size=4),
    drops=st.lists(_hosts, max_size=4),
    decree=st.integers(0, 2**62),
    flags=st.integers(0, 3),
)
def test_partition_round_trip(
    gpid: tuple[int, int],
    ballot: int,
    members: list[str],
    drops: list[str],
    decree: int,
    flags: int,
) -> None:
    config = PartitionConfig(
        app_id=gpid[0],
        partition_index=gpid[1],
        ballot=ballot,
        primary=members[0] if members else None,
        secondaries=tuple(members[1:]),
        last_drops=tuple(drops),
        last_committed_decree=decree,
        partition_flags=flags,
    )
    assert decode_partition(encode_partition(config)) == config
