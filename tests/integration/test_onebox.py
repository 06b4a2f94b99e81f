"""``pegasus-log onebox``: start on the default ports, the real clients' default
configuration reaches table temp, stop leaves no process, clean leaves no data."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
PY_DRIVER = HERE.parent / "conformance" / "pypegasus_driver.py"


def _onebox(*args: str, root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pegasus_log.shell.main", "onebox", *args, "--data-dir", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _pids(root: Path) -> list[int]:
    pids = []
    for pid_file in root.glob("*/pid"):
        try:
            pid = int(pid_file.read_text())
            os.kill(pid, 0)
        except (OSError, ValueError):
            continue
        pids.append(pid)
    return pids


def test_onebox_start_clients_stop_clean(tmp_path: Path) -> None:
    root = tmp_path / "onebox"
    started = _onebox("start", root=root)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "onebox is up" in started.stdout
        listed = _onebox("list", root=root)
        assert listed.returncode == 0
        lines = listed.stdout.splitlines()
        for name in ("zookeeper", "meta1", "meta2", "replica1", "replica2", "replica3"):
            row = next(line for line in lines if line.startswith(name))
            assert float(row.split()[-1]) > 0, row  # running, with its RSS
        total = float(next(line for line in lines if line.startswith("total")).split()[-1])
        print(f"onebox RSS {total:.0f} MiB")
        # pypegasus3 with its default meta address (127.0.0.1:34601) reaches table temp
        run = subprocess.run(
            [sys.executable, str(PY_DRIVER), "--table", "temp"],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    finally:
        stopped = _onebox("stop", root=root)
    assert stopped.returncode == 0
    assert _pids(root) == []
    cleaned = _onebox("clean", root=root)
    assert cleaned.returncode == 0 and not root.exists()
