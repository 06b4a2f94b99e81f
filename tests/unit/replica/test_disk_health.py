"""DiskHealth: a status change is reported once, flags are read each check, a failure
once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from pegasus_log.replica.disk_health import DiskHealth, DiskStatus
from pegasus_log.replica.log_gc import DurabilityOptions


def test_status_changes_and_failures_are_reported_once(tmp_path: Path) -> None:
    opts = [DurabilityOptions()]
    available = [50.0]
    seen: list[DiskStatus] = []
    failures: list[str] = []
    disk = DiskHealth(
        data_dir=tmp_path,
        durability=lambda: opts[0],
        on_status=seen.append,
        measure=lambda path: available[0],
    )
    disk.check()
    assert seen == [] and disk.status == (False, True)
    available[0] = 9.5  # below the default 10%
    disk.check()
    disk.check()
    assert seen == [(True, True)]
    opts[0] = replace(opts[0], reject_write_when_disk_insufficient=False)
    disk.check()
    assert seen[-1] == (True, False)
    opts[0] = replace(opts[0], disk_min_available_space_ratio=5)
    disk.check()
    assert seen[-1] == (False, False) and len(seen) == 3
    disk.set_on_failed(failures.append)
    disk.failed("log failed")
    disk.failed("storage failed")
    assert failures == ["log failed"] and disk.failure == "log failed"


def test_an_unmeasurable_disk_keeps_the_last_status(tmp_path: Path) -> None:
    seen: list[DiskStatus] = []

    def broken(path: Path) -> float:
        raise OSError("gone")

    disk = DiskHealth(
        data_dir=tmp_path, durability=DurabilityOptions, on_status=seen.append, measure=broken
    )
    disk.check()
    assert seen == [] and disk.status == (False, True)
