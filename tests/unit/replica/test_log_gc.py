"""The pure decisions of log garbage collection and local checkpoints."""

from __future__ import annotations

import pytest

from pegasus_log.replica.log_gc import (
    DurabilityOptions,
    DurabilityOptionsError,
    checkpoint_due,
    cleanable_decrees,
)
from pegasus_log.replica.store_dirs import checkpoint_decrees
from pegasus_log.rpc.thrift import Gpid

A, B, C = Gpid(1, 0), Gpid(1, 1), Gpid(2, 0)


def test_cleanable_is_the_durable_decree_without_learners() -> None:
    assert cleanable_decrees({A: 10, B: 0}, {}) == {A: 10, B: 0}
    assert cleanable_decrees({A: 10}, {A: []}) == {A: 10}


def test_a_learner_in_progress_holds_the_log_above_its_decree() -> None:
    # learners of A have everything up to 4 and 12: records above 4 must stay
    assert cleanable_decrees({A: 10, B: 7}, {A: [12, 4], B: [9]}) == {A: 4, B: 7}


def test_a_partition_without_durable_decree_is_left_out() -> None:
    # plan_gc keeps every segment holding a partition missing from the map
    assert cleanable_decrees({A: 10}, {C: [3]}) == {A: 10}


def test_checkpoint_due_needs_progress_and_time() -> None:
    assert checkpoint_due(applied=5, durable=4, last_taken=0.0, now=100.0, interval_s=100.0)
    assert not checkpoint_due(applied=4, durable=4, last_taken=0.0, now=500.0, interval_s=100.0)
    assert not checkpoint_due(applied=9, durable=4, last_taken=50.0, now=100.0, interval_s=100.0)
    assert checkpoint_due(applied=1, durable=0, last_taken=float("-inf"), now=0.0, interval_s=1.0)


def test_checkpoint_names_parse_only_exact_decrees() -> None:
    names = [
        "checkpoint.12",
        "checkpoint.3",
        "tmp",
        "checkpoint.",
        "checkpoint.x1",
        "checkpoint.\u0661",
    ]
    assert checkpoint_decrees(names) == [3, 12]


def test_options_refuse_what_cannot_work() -> None:
    DurabilityOptions()
    with pytest.raises(DurabilityOptionsError):
        DurabilityOptions(gc_interval_s=0)
    with pytest.raises(DurabilityOptionsError):
        DurabilityOptions(learn_chunk_bytes=100 << 20)
    with pytest.raises(DurabilityOptionsError):
        DurabilityOptions(log_reserve_bytes=-1)
