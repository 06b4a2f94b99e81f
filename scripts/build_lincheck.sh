#!/usr/bin/env bash
# Builds the linearizability checker (tools/lincheck, porcupine) into
# tools/lincheck/bin/lincheck, from the module versions pinned in its go.mod / go.sum.
# Quick when the binary is newer than every source file. Fails when it cannot build:
# the linearizability tests need it.
set -euo pipefail
cd "$(dirname "$0")/../tools/lincheck"

out=bin/lincheck
if [ -x "$out" ] && [ -z "$(find . -maxdepth 1 \( -name '*.go' -o -name 'go.mod' -o -name 'go.sum' \) -newer "$out")" ]; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "build_lincheck: no go toolchain on PATH; cannot build tools/lincheck" >&2
  exit 1
fi
mkdir -p bin
if ! GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN=local go build -o "$out.tmp" . ; then
  echo "build_lincheck: go build of tools/lincheck failed" >&2
  rm -f "$out.tmp"
  exit 1
fi
mv "$out.tmp" "$out"
echo "build_lincheck: built tools/lincheck/$out"
