"""Runs the porcupine-based checker (tools/lincheck, built by scripts/build_lincheck.sh)
on a recorded history and reads its verdict from the exit status."""

from __future__ import annotations

import os
import subprocess
from enum import IntEnum
from pathlib import Path

from pegasus_log.frozen import frozen

# Where scripts/build_lincheck.sh puts the binary; PEGASUS_LINCHECK overrides it.
DEFAULT_BINARY = Path(__file__).resolve().parents[2] / "tools" / "lincheck" / "bin" / "lincheck"
# The checker's own budget; the subprocess gets a little more to print its verdict.
CHECK_TIMEOUT_S = 120.0
_SUBPROCESS_SLACK_S = 30.0


class Verdict(IntEnum):
    """The checker's exit statuses."""

    LINEARIZABLE = 0
    NOT_LINEARIZABLE = 1
    BAD_INPUT = 2
    TIMED_OUT = 3


@frozen
class CheckReport:
    verdict: Verdict
    output: str  # what the checker printed (stdout, then stderr)


class CheckerMissing(RuntimeError):
    pass


def checker_binary() -> Path:
    path = Path(os.environ.get("PEGASUS_LINCHECK", DEFAULT_BINARY))
    if not os.access(path, os.X_OK):
        raise CheckerMissing(f"{path} is missing: run scripts/build_lincheck.sh (go build)")
    return path


def check_history(
    history: Path,
    *,
    html: Path | None = None,
    timeout_s: float = CHECK_TIMEOUT_S,
    binary: Path | None = None,
) -> CheckReport:
    argv = [str(binary or checker_binary()), "-timeout", f"{timeout_s}s"]
    if html is not None:
        argv += ["-html", str(html)]
    argv.append(str(history))
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout_s + _SUBPROCESS_SLACK_S
    )
    try:
        verdict = Verdict(done.returncode)
    except ValueError:
        raise RuntimeError(
            f"checker exited {done.returncode}:\n{done.stdout}{done.stderr}"
        ) from None
    return CheckReport(verdict, done.stdout + done.stderr)
