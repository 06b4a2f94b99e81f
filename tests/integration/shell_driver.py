"""Drives ``pegasus-log shell`` for the integration tests: interactively in a
pseudo-terminal (pexpect), or one-shot with ``-e``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pexpect

PROMPT = ">>> "
TIMEOUT_S = 20
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Shell:
    """An interactive ``pegasus-log shell`` in a pseudo-terminal."""

    def __init__(self, meta: str, home: Path) -> None:
        env = dict(os.environ, HOME=str(home), TERM="dumb", PYTHONUNBUFFERED="1")
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "pegasus_log.shell.main", "shell", "--meta", meta],
            env=env,
            encoding="utf-8",
            codec_errors="replace",
            timeout=TIMEOUT_S,
            dimensions=(50, 250),  # wide: no line wrapping of long commands
        )
        self.child.expect_exact(PROMPT)
        self.banner = str(self.child.before)

    def run(self, line: str) -> str:
        """Type a command, wait for the next prompt; what it printed (without the echo)."""
        self.child.sendline(line)
        self.child.expect_exact(PROMPT)
        return self._printed(str(self.child.before))

    @staticmethod
    def _printed(raw: str) -> str:
        text = _ANSI.sub("", raw).replace("\r\n", "\n")
        return text.split("\n", 1)[1] if "\n" in text else ""

    def close(self) -> int:
        self.child.sendline("exit")
        self.child.expect(pexpect.EOF)
        self.child.close()
        return int(self.child.exitstatus or 0)


def one_shot(
    meta: str, commands: str, home: Path, *, answers: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``pegasus-log shell -e commands``; ``answers`` is what its standard input holds (a
    command's questions read it), nothing if None."""
    return subprocess.run(
        [sys.executable, "-m", "pegasus_log.shell.main", "shell", "--meta", meta, "-e", commands],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=dict(os.environ, HOME=str(home)),
        check=False,
        **({"stdin": subprocess.DEVNULL} if answers is None else {"input": answers}),
    )
