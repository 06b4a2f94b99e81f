from __future__ import annotations

from pathlib import Path

import pytest

from pegasus_log.replica.plog import FileLogDisk, LogDisk, MemoryLogDisk


@pytest.fixture(params=["memory", "files"])
def disk(request: pytest.FixtureRequest, tmp_path: Path) -> LogDisk:
    """The in-memory twin and the real files, each in turn."""
    if request.param == "memory":
        return MemoryLogDisk()
    return FileLogDisk(tmp_path / "plog")
