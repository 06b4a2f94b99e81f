#!/usr/bin/env bash
# Installs what is missing, then runs the whole test suite (real processes on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
# The onebox test uses upstream's fixed ports (ZooKeeper 22181, metas 34601+, replicas
# 34801+), which lie inside Linux's ephemeral range: keep the kernel from lending them to
# the suite's own outgoing connections. Needs root; without it, a collision stays possible.
sysctl -qw net.ipv4.ip_local_reserved_ports=22181,34601-34610,34801-34810 2>/dev/null \
  || echo "test.sh: could not reserve the onebox ports (not root?)" >&2
exec python -m pytest -q -p no:cacheprovider tests "$@"
