"""Hotkey detection (replica/hotkey.py, replica/hotkey_detection.py): the outlier rule,
the collector's stages, and the server's RPC answers."""

from __future__ import annotations

import pytest

from pegasus_log.replica.hotkey import (
    BUCKETS,
    MAX_DETECT_S,
    HotkeyCollector,
    State,
    bucket_of,
    escaped,
    find_outlier,
    hash_keys,
)
from pegasus_log.replica.hotkey_detection import HotkeyDetection
from pegasus_log.rpc import admin as a
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.thrift import Gpid
from pegasus_log.storage.schema import encode_key


def test_find_outlier_as_upstream() -> None:
    assert find_outlier([1, 1, 300, 1], 7) == 2  # the others equal: larger is enough
    assert find_outlier([1, 1, 1, 1], 7) is None
    assert find_outlier([0, 0, 0], 7) is None
    spread = [10, 12, 9, 11, 10, 13, 9]
    assert find_outlier(spread, 3) is None
    assert find_outlier([*spread, 40], 3) == 7  # (40 - 10.57) / 1.51 standard deviations
    assert find_outlier([*spread, 40], 30) is None
    assert find_outlier([5, 9, 9], 0.5) == 1  # ties: the first of the largest
    assert find_outlier([5, 9, 9], 1) is None  # (9 - 7) / 2.83 standard deviations


def _state(c: HotkeyCollector) -> State:
    """The collector's state, read afresh (mypy would keep an earlier narrowing)."""
    return c.state


def _started() -> HotkeyCollector:
    c = HotkeyCollector("read")
    assert c.start(now_s=0.0) == (ErrorCode.ERR_OK, "starting to detect READ hotkey")
    return c


def _traffic(c: HotkeyCollector, hot: bytes, rounds: int = 1) -> None:
    for _ in range(rounds):
        for i in range(400):
            c.capture(b"user-%d" % i, 1)
        c.capture(hot, 500)


def test_a_hot_key_is_found_in_two_analyses() -> None:
    hot = b"celebrity"
    c = _started()
    _traffic(c, hot)
    c.analyse(now_s=10.0)
    assert _state(c) == State.FINE_DETECTING
    assert c.query() == (
        ErrorCode.ERR_BUSY,
        "Can't get hotkey now, now state: FINE_DETECTING",
        None,
    )
    _traffic(c, hot)
    c.analyse(now_s=20.0)
    assert _state(c) == State.FINISHED and c.hot_key == hot
    assert c.query() == (ErrorCode.ERR_OK, "", "celebrity")
    assert c.start(now_s=21.0) == (
        ErrorCode.ERR_BUSY,
        "READ hotkey result has been found: celebrity, you can send a stop rpc to restart "
        "hotkey detection",
    )
    assert c.stop() == (ErrorCode.ERR_OK, "READ hotkey stopped, cache cleared")
    assert _state(c) == State.STOPPED and c.hot_key == b""


def test_even_traffic_finds_nothing_and_stops_at_the_time_limit() -> None:
    c = _started()
    assert c.start(now_s=1.0)[0] == ErrorCode.ERR_BUSY  # still detecting
    for t in range(10, int(MAX_DETECT_S), 10):
        for i in range(BUCKETS * 20):
            c.capture(b"k%d" % i, 1)
        c.analyse(now_s=float(t))
        assert _state(c) == State.COARSE_DETECTING, t
    c.analyse(now_s=MAX_DETECT_S)
    assert _state(c) == State.STOPPED
    c.capture(b"k1", 5)  # a stopped collector keeps nothing
    assert c.start(now_s=200.0)[0] == ErrorCode.ERR_OK


def test_fine_stage_keeps_only_the_hot_bucket_and_two_keys_are_enough() -> None:
    c = _started()
    c.capture(b"a", 1000)
    c.analyse(now_s=1.0)
    assert _state(c) == State.FINE_DETECTING
    other = next(b"x%d" % i for i in range(100) if bucket_of(b"x%d" % i) != bucket_of(b"a"))
    c.capture(other, 10_000)  # another bucket: not kept
    c.capture(b"a", 3)
    c.analyse(now_s=2.0)
    assert c.hot_key == b"a"


def test_transitions_are_a_table() -> None:
    c = HotkeyCollector("write")
    with pytest.raises(AssertionError):
        c._move(State.FINISHED)


def test_escaped_as_upstream_prints_keys() -> None:
    assert escaped(b'ab"c\\\n\x00\xff') == 'ab\\"c\\\\\\n\\x00\\xff'


def test_hash_keys_of_each_request() -> None:
    key = encode_key(b"h", b"s")
    assert hash_keys(m.RRDB_GET.name, key) == [(b"h", 1)]
    assert hash_keys(m.RRDB_SORTKEY_COUNT.name, b"h") == [(b"h", 1)]
    assert hash_keys(m.RRDB_PUT.name, m.UpdateRequest(key=key)) == [(b"h", 1)]
    kvs = [m.KeyValue(b"s1", b"v"), m.KeyValue(b"s2", b"v")]
    assert hash_keys(m.RRDB_MULTI_PUT.name, m.MultiPutRequest(b"h", kvs)) == [(b"h", 2)]
    batch = m.BatchGetRequest(keys=[m.FullKey(b"h1", b"s"), m.FullKey(b"h2", b"s")])
    assert hash_keys(m.RRDB_BATCH_GET.name, batch) == [(b"h1", 1), (b"h2", 1)]
    assert hash_keys(m.RRDB_GET.name, b"\x00") == []  # not a key: nothing


def test_the_server_answers_and_feeds_only_collectors_under_way() -> None:
    hosted = {(1, 0)}
    now = [0.0]
    d = HotkeyDetection(hosted=hosted.__contains__, wall=lambda: now[0])

    def rpc(gpid: tuple[int, int], action: a.DetectAction, kind: int = 0) -> a.DetectHotkeyResponse:
        return d.on_rpc(a.DetectHotkeyRequest(type=kind, action=int(action), pid=Gpid(*gpid)))

    missing = rpc((2, 0), a.DetectAction.START)
    assert (missing.err, missing.err_hint) == (
        "ERR_OBJECT_NOT_FOUND",
        "not find the replica 2.0 \n",
    )
    assert rpc((1, 0), a.DetectAction.START, kind=7).err == "ERR_INVALID_PARAMETERS"
    assert not d.watching
    assert rpc((1, 0), a.DetectAction.START).err == "ERR_OK"
    assert set(d.watching[(1, 0)]) == {"read"}
    d.on_request((1, 0), m.RRDB_PUT.name, m.UpdateRequest(key=encode_key(b"w", b"s")), write=True)
    for _ in range(300):
        d.on_request((1, 0), m.RRDB_GET.name, encode_key(b"hot", b"s"), write=False)
    d.on_request((1, 0), m.RRDB_GET.name, encode_key(b"cold", b"s"), write=False)
    now[0] = 10.0
    d.analyse()
    for _ in range(300):
        d.on_request((1, 0), m.RRDB_GET.name, encode_key(b"hot", b"s"), write=False)
    now[0] = 20.0
    d.analyse()
    assert not d.watching  # finished: no longer fed
    found = rpc((1, 0), a.DetectAction.QUERY)
    assert (found.err, found.hotkey_result) == ("ERR_OK", "hot")
    writes = rpc((1, 0), a.DetectAction.QUERY, kind=a.HotkeyType.WRITE)
    assert (writes.err, writes.err_hint) == ("ERR_BUSY", "Can't get hotkey now, now state: STOPPED")
    d.forget((1, 0))
    assert rpc((1, 0), a.DetectAction.QUERY).err_hint == "Can't get hotkey now, now state: STOPPED"
