"""Building the Go referee (tests/conformance/go, the Apache Pegasus Go client), shared by
the conformance tests and the onebox test.

Environment:
  PEGASUS_GO_CLIENT_DIR   build against this local checkout of the go-client module (adds
                          a `replace` in a temporary copy)
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

GO_DIR = Path(__file__).resolve().parent / "go"
GO_CLIENT_MODULE = "github.com/apache/incubator-pegasus/go-client"
GO_BUILD_TIMEOUT_S = 900

# Phrases of `go build` when a module cannot be fetched (as opposed to a compile error).
_FETCH_FAILURES = (
    "403 Forbidden",
    "404 Not Found",
    "not available",
    "module lookup disabled",
    "no such host",
    "dial tcp",
    "i/o timeout",
    "missing go.sum entry",
    "reading https://",
)


def with_local_go_client(module_dir: Path, tmp: Path) -> Path:
    """The Go module at ``module_dir`` to build: as it is, or, when PEGASUS_GO_CLIENT_DIR
    names a local go-client checkout, a copy of it in ``tmp`` with a ``replace`` pointing
    there (for machines whose module proxy does not serve the go-client)."""
    local = os.environ.get("PEGASUS_GO_CLIENT_DIR", "").strip()
    if not local:
        return module_dir
    work = tmp / f"{module_dir.name}-src"
    shutil.copytree(module_dir, work)
    subprocess.run(
        ["go", "mod", "edit", f"-replace={GO_CLIENT_MODULE}={Path(local).resolve()}"],
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
    )
    return work


def build_go_referee(tmp: Path) -> Path:
    """The referee binary, built into ``tmp``. Skips the calling test when there is no Go
    toolchain or the Go client module cannot be fetched; fails it on a compile error."""
    if shutil.which("go") is None:
        pytest.skip("the go toolchain is not installed")
    out = tmp / "conformance"
    proc = subprocess.run(
        ["go", "build", "-mod=readonly", "-buildvcs=false", "-o", str(out), "."],
        cwd=with_local_go_client(GO_DIR, tmp),
        capture_output=True,
        text=True,
        timeout=GO_BUILD_TIMEOUT_S,
    )
    if proc.returncode != 0:
        msg = proc.stderr.strip()
        if GO_CLIENT_MODULE in msg and any(p in msg for p in _FETCH_FAILURES):
            tail = "\n".join(msg.splitlines()[-5:])
            pytest.skip(
                "the Go client module could not be fetched (run scripts/install_clients.sh, "
                f"or set PEGASUS_GO_CLIENT_DIR): {tail}"
            )
        pytest.fail(f"go build of tests/conformance/go failed:\n{msg}", pytrace=False)
    return out
