"""The real Pegasus clients as referees: the Go client and pypegasus3 against our cluster.

Each referee is a program (tests/conformance/go, tests/conformance/pypegasus_driver.py)
that prints one JSON line per check, {"name", "ok", "detail"}, and exits non-zero if any
check failed. Install the clients with scripts/install_clients.sh.

Environment:
  PEGASUS_LOG_TABLE       table to use (default "temp")
  PEGASUS_GO_CLIENT_DIR   build the Go referee against this local checkout of the
                          go-client module (tests/conformance/go_referee.py)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conformance.go_referee import build_go_referee

HERE = Path(__file__).resolve().parent
PY_DRIVER = HERE / "pypegasus_driver.py"
TABLE = os.environ.get("PEGASUS_LOG_TABLE", "temp")

# The referees run a long script (ttl expiry sleeps, full-table scans): generous caps.
RUN_TIMEOUT_S = 900

# ------------------------------------------------------------------ parsing


@dataclass
class RefereeRun:
    returncode: int
    checks: list[dict[str, object]] = field(default_factory=list)
    junk: list[str] = field(default_factory=list)  # stdout lines that are not checks
    stderr: str = ""

    @property
    def failures(self) -> list[dict[str, object]]:
        return [c for c in self.checks if c.get("ok") is not True]


def parse_check_lines(lines: Iterable[str]) -> tuple[list[dict[str, object]], list[str]]:
    """Split a referee's stdout into check records and other lines."""
    checks: list[dict[str, object]] = []
    junk: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            junk.append(line)
            continue
        if isinstance(obj, dict) and "name" in obj and "ok" in obj:
            checks.append(obj)
        else:
            junk.append(line)
    return checks, junk


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def report(referee: str, run: RefereeRun, extra: str = "") -> str:
    """A readable failure message: every failed check with its detail, then context."""
    out = [
        f"{referee}: exit code {run.returncode}, {len(run.checks)} checks, "
        f"{len(run.failures)} failed"
    ]
    for c in run.failures:
        out.append(f"  FAIL {c.get('name')}: {c.get('detail')}")
    if run.junk:
        out.append("  non-JSON stdout lines:")
        out.extend(f"    {j}" for j in run.junk[:20])
    if run.stderr.strip():
        out.append("  stderr (tail):")
        out.extend(f"    {s}" for s in tail(run.stderr).splitlines())
    if extra:
        out.append(extra)
    return "\n".join(out)


def assert_referee_passed(referee: str, run: RefereeRun, min_checks: int, extra: str = "") -> None:
    ok = run.returncode == 0 and not run.failures and len(run.checks) >= min_checks
    if not ok:
        if len(run.checks) < min_checks:
            extra = f"  expected at least {min_checks} checks\n{extra}"
        pytest.fail(report(referee, run, extra), pytrace=False)


def run_referee(argv: list[str], cwd: Path | None = None) -> RefereeRun:
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        checks, junk = parse_check_lines(out.splitlines())
        run = RefereeRun(-1, checks, junk, err)
        pytest.fail(report(f"{argv[0]} (killed after {RUN_TIMEOUT_S}s)", run), pytrace=False)
    checks, junk = parse_check_lines(proc.stdout.splitlines())
    return RefereeRun(proc.returncode, checks, junk, proc.stderr)


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="session")
def go_conformance_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Builds the Go referee once per session (skips when the Go client cannot be had)."""
    return build_go_referee(tmp_path_factory.mktemp("go-conformance"))


# ------------------------------------------------------------------ tests


def _run_go(binary: Path, meta: str, tmp_path: Path, *flags: str) -> tuple[RefereeRun, str]:
    """Runs the Go referee; returns the run and, if it failed, the tail of the client log."""
    log = tmp_path / "go-client.log"
    run = run_referee(
        [str(binary), "-meta", meta, "-table", TABLE, "-log", str(log), *flags], cwd=tmp_path
    )
    extra = ""
    if run.failures or run.returncode != 0:
        try:
            extra = "  go-client log (tail):\n" + "\n".join(
                f"    {s}" for s in tail(log.read_text(errors="replace")).splitlines()
            )
        except OSError:
            pass
    return run, extra


@pytest.mark.conformance
def test_go_client(onebox_meta: str, go_conformance_binary: Path, tmp_path: Path) -> None:
    """Data operations (the admin section runs in test_go_admin)."""
    run, extra = _run_go(go_conformance_binary, onebox_meta, tmp_path, "-admin=false")
    assert_referee_passed("go-client", run, min_checks=80, extra=extra)


@pytest.mark.conformance
def test_go_admin(onebox_meta: str, go_conformance_binary: Path, tmp_path: Path) -> None:
    """Table DDL, app envs, nodes, cluster info and meta level through the go-client's
    admin package and its MetaManager, every client given the follower first (onebox_meta
    lists both metas), against the cluster's 3 replica servers."""
    run, extra = _run_go(
        go_conformance_binary, onebox_meta, tmp_path, "-only", "^admin ", "-nodes", "3"
    )
    admin_checks = sum(str(c.get("name", "")).startswith("admin ") for c in run.checks)
    if admin_checks < 50:
        extra = f"  only {admin_checks} admin checks ran, expected at least 50\n{extra}"
        pytest.fail(report("go-client admin", run, extra), pytrace=False)
    assert_referee_passed("go-client admin", run, min_checks=50, extra=extra)


@pytest.mark.conformance
def test_pypegasus_client(onebox_meta: str, tmp_path: Path) -> None:
    pytest.importorskip(
        "pypegasus", reason="pypegasus3 is not installed (scripts/install_clients.sh)"
    )
    run = run_referee(
        [
            sys.executable,
            str(PY_DRIVER),
            "--meta",
            onebox_meta,
            "--table",
            TABLE,
            "--log-dir",
            str(tmp_path),
        ],
        cwd=tmp_path,
    )
    extra = ""
    if run.failures or run.returncode != 0:
        try:
            extra = "  pypegasus log (tail):\n" + "\n".join(
                f"    {s}"
                for s in tail((tmp_path / "pegasus.log").read_text(errors="replace")).splitlines()
            )
        except OSError:
            pass
    assert_referee_passed("pypegasus3", run, min_checks=30, extra=extra)


# Server-less checks: they run in every test session.


def test_pypegasus_driver_self_test(tmp_path: Path) -> None:
    """pypegasus3's wire encoding (header v0, keys, crc64, addresses) as NOTES.md states it."""
    pytest.importorskip(
        "pypegasus", reason="pypegasus3 is not installed (scripts/install_clients.sh)"
    )
    run = run_referee(
        [sys.executable, str(PY_DRIVER), "--self-test", "--log-dir", str(tmp_path)], cwd=tmp_path
    )
    assert_referee_passed("pypegasus3 self-test", run, min_checks=9)


def test_parse_check_lines() -> None:
    checks, junk = parse_check_lines(
        [
            '{"name": "a", "ok": true, "detail": "ok"}',
            "",
            "go-client: some log line",
            '{"name": "b", "ok": false, "detail": "want 1, got 2"}',
            '{"unrelated": 1}',
        ]
    )
    assert [c["name"] for c in checks] == ["a", "b"]
    assert junk == ["go-client: some log line", '{"unrelated": 1}']
    run = RefereeRun(1, checks, junk, "boom\n")
    text = report("x", run)
    assert "FAIL b: want 1, got 2" in text and "1 failed" in text and "boom" in text
