"""Facts about this server process for the ``server-info`` and ``server-stat`` remote
commands: what was built (version, git commit), its memory use, its data disk."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

from pegasus_log.frozen import frozen

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
# Set where the source tree has no git metadata (an image built from a copy of it).
GIT_COMMIT_ENV = "PEGASUS_LOG_GIT_COMMIT"
UNKNOWN = "unknown"
# `git rev-parse` answers in milliseconds; a server must not hang at start on a stuck one.
_GIT_TIMEOUT_S = 5.0
_MB = 1 << 20


@frozen
class BuildInfo:
    """Upstream reports version, build type (Release/Debug) and git SHA; the build type
    of a Python server is the interpreter that runs it."""

    version: str
    git_sha: str
    build_type: str

    def line(self, name: str) -> str:
        """``<name> <version> (<git sha>) <build type>``, upstream's ``--version`` line."""
        return f"{name} {self.version} ({self.git_sha}) {self.build_type}"


def build_info() -> BuildInfo:
    """Asked once at start: the package's version, the commit of its source tree."""
    try:
        version = metadata.version("pegasus-log")
    except metadata.PackageNotFoundError:
        version = UNKNOWN
    return BuildInfo(
        version=version,
        git_sha=os.environ.get(GIT_COMMIT_ENV) or _git_head(_PACKAGE_DIR) or UNKNOWN,
        build_type=f"{platform.python_implementation()} {platform.python_version()}",
    )


def _git_head(where: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    sha = done.stdout.strip()
    return sha if done.returncode == 0 and sha else None


@frozen
class MemoryUse:
    virtual_mb: float
    resident_mb: float


def memory_use() -> MemoryUse | None:
    """This process's virtual and resident memory (Linux /proc); None elsewhere."""
    try:
        fields = Path("/proc/self/statm").read_text().split()
        page = os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None
    return MemoryUse(int(fields[0]) * page / _MB, int(fields[1]) * page / _MB)


@frozen
class DiskUse:
    total_mb: float
    available_mb: float

    @property
    def available_ratio(self) -> float:
        """Available space in percent, as upstream's disk ratios."""
        return 100.0 * self.available_mb / self.total_mb if self.total_mb else 0.0


def disk_use(path: Path) -> DiskUse | None:
    """The file system holding ``path``; None when it cannot be looked at."""
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None
    return DiskUse(usage.total / _MB, usage.free / _MB)
