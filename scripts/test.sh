#!/usr/bin/env bash
# Installs what is missing, then runs the whole test suite (real processes on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec python -m pytest -q -p no:cacheprovider tests "$@"
