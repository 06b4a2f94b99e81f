"""Abnormal reads (replica/abnormal_reads.py) by upstream's bounds: sizes before time, the
table's slow-query env in ms, and which reads are counted."""

from __future__ import annotations

from pegasus_log.replica.abnormal_reads import (
    CHECKED,
    COUNTED,
    DEFAULT_BOUNDS,
    abnormal,
    slow_query_ns,
)
from pegasus_log.storage.types import (
    BatchGetResponse,
    FullData,
    KeyValue,
    MultiGetResponse,
    ReadResponse,
    ScanResponse,
)

SLOW = 100_000_000


def test_the_slow_query_threshold_comes_from_the_table_env_in_ms() -> None:
    assert slow_query_ns({}) == DEFAULT_BOUNDS.slow_query_ns == SLOW
    assert slow_query_ns({"replica.slow_query_threshold": "20"}) == 20_000_000
    assert slow_query_ns({"replica.slow_query_threshold": "0"}) == SLOW
    assert slow_query_ns({"replica.slow_query_threshold": "soon"}, 5) == 5


def test_sizes_and_rows_are_checked_before_time() -> None:
    big = ReadResponse(value=b"v" * 1_000_000)
    assert abnormal("get", big, 1, slow_ns=SLOW) == "value_size = 1000000"
    assert abnormal("get", ReadResponse(value=b"v"), 1, slow_ns=SLOW) is None
    assert abnormal("get", ReadResponse(value=b"v"), SLOW, slow_ns=SLOW) == (
        f"time_used = {SLOW} ns, threshold = {SLOW} ns"
    )
    rows = MultiGetResponse(kvs=tuple(KeyValue(b"k%d" % i, b"v") for i in range(1000)))
    assert abnormal("multi_get", rows, 1, slow_ns=SLOW) == "result count = 1000"
    wide = MultiGetResponse(kvs=(KeyValue(b"k", b"v" * 10_000_000),))
    assert abnormal("multi_get", wide, 1, slow_ns=SLOW) == "result size = 10000001"
    batch = BatchGetResponse(data=tuple(FullData(b"h", b"s", b"v") for _ in range(2000)))
    assert abnormal("batch_get", batch, 1, slow_ns=SLOW) == "row count = 2000"
    assert abnormal("batch_get", BatchGetResponse(), 1, slow_ns=SLOW) is None
    # Scans are checked by time only, and not counted.
    assert abnormal("scan", ScanResponse(), 2 * SLOW, slow_ns=SLOW) is not None
    assert {"get", "multi_get", "batch_get"} == COUNTED and COUNTED < CHECKED
