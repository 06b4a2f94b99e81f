"""Several client writes in one replicated mutation: one batch, one decree, each write
seeing the ones before it, nothing of them after a failure inside the group."""

from __future__ import annotations

from pathlib import Path

import pytest

from pegasus_log.storage import PartitionStore
from pegasus_log.storage import StorageStatus as S
from pegasus_log.storage.schema import encode_key
from pegasus_log.storage.types import (
    CasCheckType,
    CheckAndSetRequest,
    IncrRequest,
    UpdateRequest,
)
from tests.unit.storage.helpers import FakeClock, open_store


def _put(store: PartitionStore, decree: int, sort_key: bytes, value: bytes) -> S:
    return S(store.put(decree, UpdateRequest(encode_key(b"h", sort_key), value)).error)


def _value(store: PartitionStore, sort_key: bytes) -> bytes | None:
    resp = store.get(encode_key(b"h", sort_key))
    return resp.value if resp.error == S.kOk else None


def test_group_applies_every_write_at_one_decree(store: PartitionStore) -> None:
    with store.mutation(1):
        assert _put(store, 1, b"a", b"1") == S.kOk
        assert _put(store, 1, b"b", b"2") == S.kOk
        store.remove(1, encode_key(b"h", b"a"))
    assert store.last_applied_decree() == 1
    assert _value(store, b"a") is None
    assert _value(store, b"b") == b"2"
    with store.mutation(2):
        pass  # a mutation whose writes all failed still moves the decree
    assert store.last_applied_decree() == 2


def test_later_writes_of_a_group_see_earlier_ones(store: PartitionStore) -> None:
    key = encode_key(b"h", b"n")
    with store.mutation(1):
        assert store.incr(1, IncrRequest(key, 2)).new_value == 2
        assert store.incr(1, IncrRequest(key, 3)).new_value == 5
        cas = store.check_and_set(
            1,
            CheckAndSetRequest(
                hash_key=b"h",
                check_sort_key=b"n",
                check_type=CasCheckType.CT_VALUE_BYTES_EQUAL,
                check_operand=b"5",
                set_diff_sort_key=False,
                set_sort_key=b"n",
                set_value=b"7",
                set_expire_ts_seconds=0,
                return_check_value=True,
            ),
        )
        assert cas.error == S.kOk and cas.check_value == b"5"
        # a reader outside the group does not see it before it commits
        assert _value(store, b"n") is None
    assert _value(store, b"n") == b"7"


def test_a_failed_group_leaves_nothing(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "db"
    with open_store(path, clock) as store:
        assert _put(store, 1, b"a", b"old") == S.kOk
        with pytest.raises(RuntimeError), store.mutation(2):
            assert _put(store, 2, b"a", b"new") == S.kOk
            raise RuntimeError("the apply failed half way")
        assert store.last_applied_decree() == 1
        assert _value(store, b"a") == b"old"
    with open_store(path, clock) as store:
        assert store.last_applied_decree() == 1
        assert _value(store, b"a") == b"old"
        with store.mutation(2):
            assert _put(store, 2, b"a", b"new") == S.kOk
        assert _value(store, b"a") == b"new"


def test_group_rules(store: PartitionStore) -> None:
    with store.mutation(3), pytest.raises(AssertionError):
        _put(store, 4, b"a", b"v")  # another decree inside the group
    with pytest.raises(AssertionError), store.mutation(3):
        pass  # the decree must still increase
    assert store.last_applied_decree() == 3
