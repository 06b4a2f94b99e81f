"""``RPC_QUERY_DISK_INFO``: a replica server's disks and the replicas each one holds
(upstream ``replica_stub::on_query_disk_info``; admin-cli ``disk-capacity`` and
``disk-replica``, the shell's ``query_disk_capacity`` and ``query_disk_replica``).

A server here has one data directory, reported as one disk with upstream's default tag
``default``. Capacity and free space come from ``statvfs`` of that directory, in MiB
(free = what an unprivileged writer may use, as upstream's ``f_bavail``). A table name
in the request narrows the replica lists to that table; a table this server holds no
replica of is ``ERR_OBJECT_NOT_FOUND``, as upstream answers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

from pegasus_log.rpc import admin as a
from pegasus_log.rpc.thrift import Gpid

DISK_TAG = "default"  # upstream's tag for a data directory given without one


def disk_usage_mb(path: Path) -> tuple[int, int]:
    """(capacity, available) of the filesystem holding ``path``, in MiB."""
    st = os.statvfs(path)
    return (st.f_blocks * st.f_frsize) >> 20, (st.f_bavail * st.f_frsize) >> 20


def available_percent(path: Path) -> float:
    """The share of the filesystem holding ``path`` that is available, in percent."""
    st = os.statvfs(path)
    return 100.0 * st.f_bavail / st.f_blocks if st.f_blocks else 0.0


def query_disk_info(
    request: a.QueryDiskInfoRequest,
    *,
    data_dir: Path,
    replicas: Iterable[tuple[Gpid, str, int]],
    usage: Callable[[Path], tuple[int, int]] = disk_usage_mb,
) -> a.QueryDiskInfoResponse:
    """The answer for the hosted ``replicas`` as (gpid, table name, partition status)."""
    held = list(replicas)
    if request.app_name:
        held = [r for r in held if r[1] == request.app_name]
        if not held:
            return a.QueryDiskInfoResponse(err="ERR_OBJECT_NOT_FOUND")
    primaries: dict[int, list[Gpid]] = {}
    secondaries: dict[int, list[Gpid]] = {}
    for gpid, _name, status in sorted(held, key=lambda r: (r[0].app_id, r[0].partition_index)):
        if status == a.PartitionStatus.PS_PRIMARY:
            primaries.setdefault(gpid.app_id, []).append(gpid)
        elif status == a.PartitionStatus.PS_SECONDARY:
            secondaries.setdefault(gpid.app_id, []).append(gpid)
    capacity_mb, available_mb = usage(data_dir)
    disk = a.DiskInfo(
        tag=DISK_TAG,
        full_dir=str(data_dir),
        disk_capacity_mb=capacity_mb,
        disk_available_mb=available_mb,
        holding_primary_replicas=primaries,
        holding_secondary_replicas=secondaries,
    )
    return a.QueryDiskInfoResponse(
        total_capacity_mb=capacity_mb, total_available_mb=available_mb, disk_infos=[disk]
    )
