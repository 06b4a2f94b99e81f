#!/usr/bin/env bash
# Installs everything pegasus-log and its tests need on a fresh machine. Idempotent:
# quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python -c "import pegasus_log, rocksdict, hypothesis, pytest_timeout" 2>/dev/null \
   || [ pyproject.toml -nt .install-stamp ]; then
  python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
  touch .install-stamp
fi
scripts/install_zookeeper.sh >/dev/null
if [ -x scripts/install_clients.sh ]; then
  scripts/install_clients.sh
fi
scripts/build_lincheck.sh
