#!/usr/bin/env bash
# Installs the real Pegasus clients that tests/conformance uses as referees:
#   - pypegasus3 from PyPI (with --no-deps) plus the runtime it needs: thrift 0.13.0,
#     twisted, aenum;
#   - the Go client module pinned in tests/conformance/go/go.mod, into the Go module
#     cache (`go mod download`), so that the referee then builds offline.
# Idempotent and quick when everything is already there.
#
# Environment: PYTHON (default python3), STRICT=1 to fail when the Go module cannot be
# fetched (by default that is a warning and the Go conformance test skips).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
PYPEGASUS3=0.0.1.1
THRIFT=0.13.0
TWISTED=26.10.0
AENUM=3.1.17

have_python_clients() {
  # pypegasus writes ./pegasus.log when imported: import it from a scratch directory.
  local scratch rc
  scratch=$(mktemp -d)
  rc=0
  (cd "$scratch" && "$PYTHON" - "$PYPEGASUS3" "$THRIFT" <<'PY') || rc=$?
import importlib.metadata as md
import sys

want = {"pypegasus3": sys.argv[1], "thrift": sys.argv[2]}
for name, version in want.items():
    if md.version(name) != version:
        sys.exit(1)
for name in ("twisted", "aenum", "six"):
    md.version(name)
import pypegasus.pgclient  # noqa: F401,E402
from thrift.transport import TTwisted  # noqa: F401,E402
PY
  rm -rf "$scratch"
  return $rc
}

if ! have_python_clients 2>/dev/null; then
  echo "install_clients: installing pypegasus3 $PYPEGASUS3 (no deps), thrift $THRIFT, twisted, aenum"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check --no-deps "pypegasus3==$PYPEGASUS3"
  "$PYTHON" -m pip install --quiet --disable-pip-version-check \
    "thrift==$THRIFT" "twisted==$TWISTED" "aenum==$AENUM" six
  have_python_clients || { echo "install_clients: pypegasus3 is still not importable" >&2; exit 1; }
fi

if ! command -v go >/dev/null 2>&1; then
  echo "install_clients: WARNING: no go toolchain; the Go conformance test will skip" >&2
  exit 0
fi
if ! (cd tests/conformance/go && go mod download 2>/tmp/install_clients_go.$$); then
  msg=$(cat /tmp/install_clients_go.$$)
  rm -f /tmp/install_clients_go.$$
  echo "install_clients: WARNING: go mod download failed in tests/conformance/go:" >&2
  echo "$msg" | tail -n 5 >&2
  echo "install_clients: the Go conformance test will skip until the module is available" >&2
  if [ "${STRICT:-0}" = 1 ]; then exit 1; fi
  exit 0
fi
rm -f /tmp/install_clients_go.$$
