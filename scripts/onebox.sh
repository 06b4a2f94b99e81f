#!/usr/bin/env bash
# Installs what is missing, then starts a onebox cluster on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec pegasus-log onebox start "$@"
