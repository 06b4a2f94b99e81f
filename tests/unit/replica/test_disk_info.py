"""RPC_QUERY_DISK_INFO's answer: one disk, replicas by role and table, a table filter."""

from __future__ import annotations

from pathlib import Path

from pegasus_log.replica.disk_info import DISK_TAG, disk_usage_mb, query_disk_info
from pegasus_log.rpc import admin as a
from pegasus_log.rpc.thrift import Gpid, decode, encode

PRIMARY, SECONDARY = a.PartitionStatus.PS_PRIMARY, a.PartitionStatus.PS_SECONDARY
HOSTED = [
    (Gpid(2, 1), "t2", PRIMARY),
    (Gpid(1, 0), "t1", PRIMARY),
    (Gpid(1, 3), "t1", SECONDARY),
    (Gpid(1, 2), "t1", PRIMARY),
    (Gpid(2, 0), "t2", SECONDARY),
    (Gpid(1, 5), "t1", a.PartitionStatus.PS_POTENTIAL_SECONDARY),  # a learner: neither
]


def _usage(_path: Path) -> tuple[int, int]:
    return 1000, 250


def test_every_table_by_role_on_one_default_disk(tmp_path: Path) -> None:
    resp = query_disk_info(
        a.QueryDiskInfoRequest(), data_dir=tmp_path, replicas=HOSTED, usage=_usage
    )
    assert resp.err == "ERR_OK"
    assert (resp.total_capacity_mb, resp.total_available_mb) == (1000, 250)
    (disk,) = resp.disk_infos
    assert (disk.tag, disk.full_dir) == (DISK_TAG, str(tmp_path))
    assert (disk.disk_capacity_mb, disk.disk_available_mb) == (1000, 250)
    assert disk.holding_primary_replicas == {1: [Gpid(1, 0), Gpid(1, 2)], 2: [Gpid(2, 1)]}
    assert disk.holding_secondary_replicas == {1: [Gpid(1, 3)], 2: [Gpid(2, 0)]}
    # and it survives the wire (maps of sets of gpids)
    assert decode(a.QueryDiskInfoResponse, encode(a.QueryDiskInfoResponse, resp)) == resp


def test_one_table_or_not_found(tmp_path: Path) -> None:
    one = query_disk_info(
        a.QueryDiskInfoRequest(app_name="t2"), data_dir=tmp_path, replicas=HOSTED, usage=_usage
    )
    assert one.disk_infos[0].holding_primary_replicas == {2: [Gpid(2, 1)]}
    assert one.disk_infos[0].holding_secondary_replicas == {2: [Gpid(2, 0)]}
    missing = query_disk_info(
        a.QueryDiskInfoRequest(app_name="nosuch"), data_dir=tmp_path, replicas=HOSTED
    )
    assert missing.err == "ERR_OBJECT_NOT_FOUND" and missing.disk_infos == []


def test_real_disk_usage(tmp_path: Path) -> None:
    capacity, available = disk_usage_mb(tmp_path)
    assert 0 < available <= capacity
