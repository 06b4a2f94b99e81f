"""The linearizability checker binary for the tests, built on demand when missing or
older than its sources (scripts/build_lincheck.sh; scripts/install.sh builds it too)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pegasus_log.lincheck.checker import checker_binary

ROOT = Path(__file__).resolve().parents[2]


def lincheck_binary() -> Path:
    done = subprocess.run(
        [str(ROOT / "scripts" / "build_lincheck.sh")], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"scripts/build_lincheck.sh failed:\n{done.stdout}{done.stderr}")
    return checker_binary()
