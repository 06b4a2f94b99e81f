#!/usr/bin/env bash
# Installs the etcd peer for our benchmarks (bench/etcd_peer.py):
#   - etcd server and etcdctl from Debian (packages etcd-server, etcd-client; 3.4.23 on bookworm);
#   - etcd's own load generator, go.etcd.io/etcd/v3/tools/benchmark at the version pinned in
#     bench/etcd_benchmark/go.mod (go.sum beside it), built from the Go module proxy.
# The binary goes to $PEGASUS_LOG_CACHE/bin (default ~/.cache/pegasus-log/bin), never the repo.
# Idempotent: a second run only checks that the binaries exist and the pin is unchanged.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MOD_DIR=$ROOT/bench/etcd_benchmark
CACHE=${PEGASUS_LOG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pegasus-log}
BIN=$CACHE/bin
BENCH=$BIN/etcd-benchmark
BENCH_PKG=go.etcd.io/etcd/v3/tools/benchmark
export PATH=$PATH:/usr/local/go/bin

log() { echo "install_etcd: $*" >&2; }

install_debian_etcd() {
    if command -v etcd >/dev/null && command -v etcdctl >/dev/null; then
        return
    fi
    log "installing Debian etcd-server and etcd-client"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends etcd-server etcd-client >/dev/null
    # The package enables a default etcd on 2379 where systemd runs; our clusters use their
    # own ports, but an idle stray server would still take CPU from the benchmarks.
    if [ -d /run/systemd/system ]; then
        systemctl disable --now etcd.service >/dev/null 2>&1 || true
    fi
}

build_benchmark() {
    local pin stamp
    pin=$(awk '$1 == "go.etcd.io/etcd/v3" { print $2 }' "$MOD_DIR/go.mod")
    [ -n "$pin" ] || { log "no go.etcd.io/etcd/v3 pin in $MOD_DIR/go.mod"; exit 1; }
    stamp=$(cat "$MOD_DIR/go.mod" "$MOD_DIR/go.sum" | sha256sum | cut -d' ' -f1)
    if [ -x "$BENCH" ] && [ "$(cat "$BENCH.stamp" 2>/dev/null)" = "$stamp" ]; then
        return
    fi
    command -v go >/dev/null || { log "go is not installed"; exit 1; }
    log "building $BENCH_PKG@$pin into $BIN"
    mkdir -p "$BIN"
    (
        cd "$MOD_DIR"
        # local toolchain only; -mod=readonly: go.sum must already hold every checksum.
        GOTOOLCHAIN=local GOFLAGS=-mod=readonly go build -trimpath -o "$BENCH.tmp" "$BENCH_PKG"
    )
    mv -f "$BENCH.tmp" "$BENCH"
    echo "$BENCH_PKG@$pin" >"$BENCH.version"
    echo "$stamp" >"$BENCH.stamp"
}

install_debian_etcd
build_benchmark
log "etcd $(etcd --version | awk '/^etcd Version/ { print $3 }'), $(cat "$BENCH.version") at $BENCH"
