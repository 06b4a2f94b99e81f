"""``pegasus-log onebox``: start on the default ports, the real clients' default
configuration reaches table temp, stop leaves no process, clean leaves no data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.go_referee import build_go_referee

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
PY_DRIVER = HERE.parent / "conformance" / "pypegasus_driver.py"
# Self-contained checks of the Go referee (the scanner checks need data others write).
_GO_BASIC_CHECKS = (
    "^(open_table|set_get|get_missing_is_nil_without_error|set_overwrite|del|set_ttl)$"
)


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


@pytest.fixture(scope="module")
def onebox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A onebox started with its defaults; the last test of this file stops and cleans it
    (stopped here too if a test before it failed)."""
    root = tmp_path_factory.mktemp("onebox") / "onebox"
    started = _onebox("start", root=root)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert "onebox is up" in started.stdout
        yield root
    finally:
        if root.exists():
            _onebox("stop", root=root)


def test_onebox_lists_every_process_with_its_rss(onebox: Path) -> None:
    listed = _onebox("list", root=onebox)
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    for name in ("zookeeper", "meta1", "meta2", "replica1", "replica2", "replica3"):
        row = next(line for line in lines if line.startswith(name))
        assert float(row.split()[-1]) > 0, row  # running, with its RSS
    total = float(next(line for line in lines if line.startswith("total")).split()[-1])
    print(f"onebox RSS {total:.0f} MiB")


def test_pypegasus_default_config_reaches_temp(onebox: Path, tmp_path: Path) -> None:
    # pypegasus3 with its default meta address (127.0.0.1:34601) reaches table temp
    run = subprocess.run(
        [sys.executable, str(PY_DRIVER), "--table", "temp"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]


def test_go_client_default_config_reaches_temp(onebox: Path, tmp_path: Path) -> None:
    """The Go client with its default meta address (127.0.0.1:34601: no -meta flag)
    writes and reads table temp. Skips where the Go client module cannot be fetched."""
    binary = build_go_referee(tmp_path)
    run = subprocess.run(
        [str(binary), "-table", "temp", "-admin=false", "-only", _GO_BASIC_CHECKS],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    checks = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert checks and all(c["ok"] for c in checks), checks


def test_onebox_stop_leaves_no_process_and_clean_no_data(onebox: Path) -> None:
    stopped = _onebox("stop", root=onebox)
    assert stopped.returncode == 0
    assert _pids(onebox) == []
    cleaned = _onebox("clean", root=onebox)
    assert cleaned.returncode == 0 and not onebox.exists()
