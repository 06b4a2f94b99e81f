"""Abnormal reads, as upstream's replica servers find them: a read that took longer than
the table's slow-query threshold, or that returned more than a size or row bound.
Upstream logs a warning for each one and counts the gets, multi_gets and batch_gets among
them (``abnormal_read_requests``); so do we (src/server/pegasus_server_impl.h:
``is_get_abnormal``, ``is_multi_get_abnormal``, ``is_batch_get_abnormal``).

Pure: the read's method, its response, its duration and the thresholds come in; the
reason (for the log line) or None comes out. The runtime times each read
(``replica/runtime.py``).

The bounds are upstream's defaults (``[pegasus.server] rocksdb_slow_query_threshold_ns``
and the ``rocksdb_abnormal_*`` flags). The table env ``replica.slow_query_threshold``
(ms; the meta takes 20 and above) replaces the time bound for one table. One difference:
upstream's multi_get bound counts the rows RocksDB iterated over, expired and filtered
ones included; ours counts the rows returned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pegasus_log.frozen import frozen
from pegasus_log.rpc.table_envs import SLOW_QUERY_THRESHOLD


@frozen
class AbnormalBounds:
    slow_query_ns: int = 100_000_000  # rocksdb_slow_query_threshold_ns
    get_value_bytes: int = 1_000_000  # rocksdb_abnormal_get_size_threshold
    multi_get_bytes: int = 10_000_000  # rocksdb_abnormal_multi_get_size_threshold
    multi_get_rows: int = 1000  # rocksdb_abnormal_multi_get_iterate_count_threshold
    batch_get_bytes: int = 10_000_000  # rocksdb_abnormal_batch_get_bytes_threshold
    batch_get_rows: int = 2000  # rocksdb_abnormal_batch_get_count_threshold


DEFAULT_BOUNDS = AbnormalBounds()
# The reads upstream counts in abnormal_read_requests; scans are only logged, and the
# others are not checked.
COUNTED = frozenset(("get", "multi_get", "batch_get"))
CHECKED = COUNTED | {"get_scanner", "scan"}


def slow_query_ns(envs: Mapping[str, str], default_ns: int = DEFAULT_BOUNDS.slow_query_ns) -> int:
    """The table's time bound: its env in ms, else the server's."""
    value = envs.get(SLOW_QUERY_THRESHOLD, "")
    if value.isascii() and value.isdigit() and int(value) > 0:
        return int(value) * 1_000_000
    return default_ns


def abnormal(
    method: str,
    response: Any,
    elapsed_ns: int,
    *,
    slow_ns: int,
    bounds: AbnormalBounds = DEFAULT_BOUNDS,
) -> str | None:
    """Why this read is abnormal, or None. ``method`` is the storage method that served
    it (``get``, ``multi_get``, ...); sizes are checked before time, as upstream's."""
    if method == "get":
        size = len(response.value)
        if bounds.get_value_bytes and size >= bounds.get_value_bytes:
            return f"value_size = {size}"
    elif method == "multi_get":
        kvs = response.kvs
        size = sum(len(kv.key) + len(kv.value) for kv in kvs)
        if bounds.multi_get_bytes and size >= bounds.multi_get_bytes:
            return f"result size = {size}"
        if bounds.multi_get_rows and len(kvs) >= bounds.multi_get_rows:
            return f"result count = {len(kvs)}"
    elif method == "batch_get":
        data = response.data
        size = sum(len(d.hash_key) + len(d.sort_key) + len(d.value) for d in data)
        if bounds.batch_get_bytes and size >= bounds.batch_get_bytes:
            return f"total data size = {size}"
        if bounds.batch_get_rows and len(data) >= bounds.batch_get_rows:
            return f"row count = {len(data)}"
    if elapsed_ns >= slow_ns:
        return f"time_used = {elapsed_ns} ns, threshold = {slow_ns} ns"
    return None
