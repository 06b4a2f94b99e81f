"""A replica server's table records beside its stores, and its answers to meta
recovery's two questions."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pegasus_log.replica.garbage import GarbageDirs, GarbageOptions
from pegasus_log.replica.recovery_records import (
    AppInfoFiles,
    app_info_path,
    read_app_info,
    replica_infos,
)
from pegasus_log.rpc import admin as a
from pegasus_log.rpc.thrift import Gpid

INFO = a.AppInfoMessage(
    status=a.AppStatus.AS_AVAILABLE,
    app_name="temp",
    app_id=1,
    partition_count=4,
    max_replica_count=3,
    envs={"default_ttl": "60"},
)


def test_a_record_is_written_when_it_changes_and_read_back(tmp_path: Path) -> None:
    files = AppInfoFiles(tmp_path)
    files.note((1, 0), INFO)
    path = app_info_path(tmp_path, (1, 0))
    assert read_app_info(tmp_path, (1, 0)) == INFO
    written = path.stat().st_mtime_ns
    files.note((1, 0), INFO)  # the same record: not written again
    assert path.stat().st_mtime_ns == written
    renamed = replace(INFO, app_name="temp2")
    files.note((1, 0), renamed)
    assert read_app_info(tmp_path, (1, 0)) == renamed
    # A server that restarts finds its records and does not rewrite them.
    again = AppInfoFiles(tmp_path)
    written = path.stat().st_mtime_ns
    again.note((1, 0), renamed)
    assert path.stat().st_mtime_ns == written


def test_query_app_info_gives_one_record_per_table(tmp_path: Path) -> None:
    files = AppInfoFiles(tmp_path)
    other = replace(INFO, app_id=2, app_name="other", partition_count=1)
    files.note((1, 0), INFO)
    files.note((1, 3), INFO)
    files.note((2, 0), other)
    assert AppInfoFiles(tmp_path).apps([(1, 3), (2, 0), (1, 0), (5, 0)]) == [INFO, other]


def test_a_damaged_record_is_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    app_info_path(tmp_path, (1, 0)).write_bytes(b"\x0b\x00\x01")
    assert read_app_info(tmp_path, (1, 0)) is None
    assert AppInfoFiles(tmp_path).apps([(1, 0)]) == []
    assert "is not a table record" in caplog.text


def test_garbage_takes_the_record_with_the_store(tmp_path: Path) -> None:
    files = AppInfoFiles(tmp_path)
    files.note((1, 0), INFO)
    (tmp_path / "1.0.pegasus").mkdir()
    files.forget((1, 0))
    GarbageDirs(tmp_path, GarbageOptions()).move_aside((1, 0), now_us=1)
    assert not app_info_path(tmp_path, (1, 0)).exists()
    files.note((1, 0), INFO)  # hosted here again: written again
    assert read_app_info(tmp_path, (1, 0)) == INFO


def test_replica_infos_of_open_and_closed_replicas() -> None:
    open_one = a.ReplicaInfo(
        pid=Gpid(1, 0), ballot=7, status=a.PartitionStatus.PS_SECONDARY, last_committed_decree=9
    )
    got = replica_infos(
        [(1, 2), (1, 0), (1, 1)],
        open_info={(1, 0): open_one}.get,
        saved_ballot=lambda g: {(1, 1): 6, (1, 2): 5}[g],
        store_decree=lambda g: {(1, 1): 20, (1, 2): None}[g],  # 1.2's store is unreadable
        logged_decree=lambda g: 23,
    )
    assert got == [
        open_one,
        a.ReplicaInfo(
            pid=Gpid(1, 1),
            ballot=6,
            status=a.PartitionStatus.PS_INACTIVE,
            last_committed_decree=20,
            last_prepared_decree=23,
            last_durable_decree=20,
        ),
    ]
