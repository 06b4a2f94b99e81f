"""The client gate's rules (replica/client_gate.py) against upstream's throttling
controller and deny env: the per-partition share, the per-second count, reject before
delay, delays capped at half the client's timeout, backup requests dropped, and envs
changing under a running partition; the read size bucket."""

from __future__ import annotations

from pegasus_log.replica.client_gate import (
    PASS,
    Action,
    ClientGate,
    ReadBytes,
    Throttle,
    Verdict,
    read_bytes,
)
from pegasus_log.rpc.table_envs import (
    DenyClient,
    Throttling,
    parse_deny_client,
    parse_read_size_throttling,
    parse_throttling,
)
from pegasus_log.storage import types as st
from pegasus_log.storage.status import StorageStatus


def test_values_parse_as_upstream_reads_them() -> None:
    assert parse_throttling("20K*delay*100,30M*reject*5") == Throttling(20 << 10, 100, 30 << 20, 5)
    assert parse_throttling("7*reject*0") == Throttling(0, 0, 7, 0)
    assert parse_throttling("") == "The value shouldn't be empty"
    assert parse_throttling("1*delay*1,2*delay*2") == "duplicate 'delay' config"
    assert parse_throttling("1*slow*1") == "'slow' should be 'delay' or 'reject'"
    assert parse_throttling("1*delay") == "The field count of '1*delay' separated by '*' must be 3"
    assert parse_throttling("x*delay*1") == "'x' should be an unsigned integer"
    assert parse_throttling("1*reject*-1") == "'-1' should be an unsigned integer"
    assert parse_deny_client("reconfig*read") == DenyClient(reads=True, writes=False, reconfig=True)
    assert parse_deny_client("timeout*all") == DenyClient(reads=True, writes=True, reconfig=False)
    assert parse_deny_client("timeout*none") is None


def test_a_table_limit_is_shared_by_its_partitions() -> None:
    throttle = Throttle.of("100*delay*50,200*reject*80", partition_count=8)
    assert throttle is not None
    assert (throttle.delay_units, throttle.reject_units) == (13, 26)  # n // 8 + 1
    assert Throttle.of("0*delay*50", partition_count=8).delay_units == 0  # type: ignore[union-attr]
    assert Throttle.of("bad", partition_count=8) is None


def test_units_are_counted_per_second_and_rejects_do_not_count() -> None:
    throttle = Throttle("", delay_units=2, delay_ms=50, reject_units=3, reject_delay_ms=80)
    verdicts = [throttle.control(100, 0, 1) for _ in range(5)]
    assert verdicts == [
        PASS,
        PASS,
        Verdict(Action.DELAY, 50),
        Verdict(Action.REJECT, 80),
        Verdict(Action.REJECT, 80),
    ]
    assert throttle.units == 3  # the rejected ones were taken back
    assert throttle.control(101, 0, 1) is PASS  # a new second starts from zero
    # A delay is at most half the client's timeout.
    throttle = Throttle("", delay_units=1, delay_ms=500, reject_units=0, reject_delay_ms=0)
    throttle.control(7, 0, 1)
    assert throttle.control(7, 300, 1) == Verdict(Action.DELAY, 150)
    assert throttle.control(7, 0, 1) == Verdict(Action.DELAY, 500)


def test_the_gate_by_request_kind() -> None:
    gate = ClientGate()
    assert not gate.active and gate.on_write(1, 0, 10) is PASS
    changes = gate.update(
        {
            "replica.write_throttling": "0*delay*0,4*reject*10",
            "replica.write_throttling_by_size": "100*reject*0",
            "replica.backup_request_throttling": "4*reject*0",
        },
        partition_count=4,
    )
    assert gate.active and len(changes) == 3
    # qps: 4 // 4 + 1 = 2 writes a second; size: 100 // 4 + 1 = 26 bytes a second.
    assert [gate.on_write(1, 0, 10).action for _ in range(3)] == [
        Action.PASS,
        Action.PASS,
        Action.REJECT,
    ]
    assert gate.on_write(2, 0, 30) == Verdict(Action.REJECT, 0)  # 30 bytes > 26
    assert gate.counts["throttling_rejected_write_requests"] == 2
    # Reads are not throttled here; backup requests past the limit get no answer.
    assert gate.on_read(1, 0, backup=False) is PASS
    actions = [gate.on_read(1, 0, backup=True).action for _ in range(3)]
    assert actions == [Action.PASS, Action.PASS, Action.DROP]
    assert gate.counts["throttling_rejected_backup_requests"] == 1


def test_deny_comes_first_and_envs_change_under_a_partition() -> None:
    gate = ClientGate()
    gate.update({"replica.deny_client_request": "reconfig*write"}, partition_count=1)
    assert gate.on_write(1, 0, 1).action is Action.REFUSE
    assert gate.on_read(1, 0, backup=False) is PASS
    gate.update({"replica.deny_client_request": "timeout*all"}, partition_count=1)
    assert gate.on_read(1, 0, backup=True).action is Action.DROP
    assert gate.on_write(1, 0, 1).action is Action.DROP
    # An unchanged value keeps the second's count; a removed one turns the gate off.
    gate.update({"replica.read_throttling": "1*reject*0"}, partition_count=1)
    assert gate.on_read(5, 0, backup=False) is PASS  # 1 // 1 + 1 = 2 reads a second
    assert gate.update({"replica.read_throttling": "1*reject*0"}, partition_count=1) == []
    assert gate.on_read(5, 0, backup=False) is PASS
    assert gate.on_read(5, 0, backup=False).action is Action.REJECT
    assert gate.counts["throttling_rejected_read_requests"] == 1
    assert gate.update({}, partition_count=1) == [
        'switch replica.read_throttling from "1*reject*0" to ""'
    ]
    assert not gate.active


def test_read_size_values_parse_as_upstream_reads_them() -> None:
    assert parse_read_size_throttling("200") == 200
    assert parse_read_size_throttling("2K") == 2048
    assert parse_read_size_throttling("1*delay*5,3M*reject*9") == 3 << 20
    assert parse_read_size_throttling("10*delay*5") is None  # taken, and switches it off
    assert parse_read_size_throttling("0") == "The field count of '0' separated by '*' must be 3"
    assert (
        parse_read_size_throttling("1*delay*1,0*reject*1")
        == "reject value should be greater than 0"
    )
    assert ReadBytes.of("10*delay*5", partition_count=4) is None
    assert ReadBytes.of("8K", partition_count=4).rate == 2048  # type: ignore[union-attr]


def test_the_read_size_bucket_refuses_while_in_debt_and_refills() -> None:
    gate = ClientGate()
    assert gate.update({"replica.read_throttling_by_size": "4000"}, partition_count=4) == [
        'switch replica.read_throttling_by_size from "" to "4000"'
    ]
    assert gate.active and gate.read_size is not None and gate.read_size.rate == 1000
    # Full at first: a read far larger than the bucket is served whole...
    assert gate.on_read(10.0, 0, backup=False) is PASS
    gate.after_read(10.0, 2500)  # 1000 held, 1500 of debt
    # ...and the reads after it are refused until the debt is paid back (1.5 s).
    assert gate.on_read(10.1, 0, backup=False) == Verdict(Action.REJECT, 0)
    assert gate.on_read(11.4, 0, backup=True) == Verdict(Action.REJECT, 0)
    assert gate.counts["throttling_rejected_read_requests"] == 2
    assert gate.on_read(11.6, 0, backup=False) is PASS
    # The bucket holds at most one second's worth, however long it was idle.
    gate.after_read(100.0, 1001)
    assert gate.on_read(100.0, 0, backup=False) == Verdict(Action.REJECT, 0)
    assert gate.on_read(100.002, 0, backup=False) is PASS
    # The same value keeps the bucket across config syncs; another one starts a new one.
    bucket = gate.read_size
    assert gate.update({"replica.read_throttling_by_size": "4000"}, partition_count=4) == []
    assert gate.read_size is bucket
    gate.update({"replica.read_throttling_by_size": "4000"}, partition_count=8)
    assert gate.read_size is not bucket and gate.read_size.rate == 500
    assert gate.update({}, partition_count=8) == [
        'switch replica.read_throttling_by_size from "4000" to ""'
    ]
    assert not gate.active


def test_what_each_read_takes_from_the_bucket() -> None:
    ok, missing, incomplete = StorageStatus.kOk, StorageStatus.kNotFound, StorageStatus.kIncomplete
    assert read_bytes("get", b"\x00\x01hs", st.ReadResponse(ok, b"value")) == 9
    assert read_bytes("get", b"\x00\x01hs", st.ReadResponse(missing)) == 1
    assert read_bytes("get", b"\x00\x01hs", st.ReadResponse(StorageStatus.kCorruption)) == 0
    kvs = (st.KeyValue(b"s1", b"v1"), st.KeyValue(b"s22", b""))
    request = st.MultiGetRequest(hash_key=b"hk")
    assert read_bytes("multi_get", request, st.MultiGetResponse(incomplete, kvs)) == (2 + 2 + 2) + (
        2 + 3
    )
    data = (st.FullData(b"h", b"s", b"vv"),)
    assert read_bytes("batch_get", st.BatchGetRequest(), st.BatchGetResponse(ok, data)) == 4
    assert read_bytes("scan", None, st.ScanResponse(ok, kvs)) == 4 + 3
    assert read_bytes("sortkey_count", b"hk", st.CountResponse(ok, 3000)) == 1
    assert read_bytes("ttl", b"k", st.TtlResponse(missing)) == 1
    assert read_bytes("ttl", b"k", st.TtlResponse(StorageStatus.kIOError)) == 0
