from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pegasus_log.replica.plog import Mutation, MutationDecodeError, decode_mutation, encode_mutation
from pegasus_log.replica.plog.mutation import decode_mutations, encoded_size, peek_gpid_decree
from tests.unit.plog.helpers import mutation, mutations


@given(mutations())
def test_round_trip(m: Mutation) -> None:
    data = encode_mutation(m)
    assert len(data) == encoded_size(m)
    decoded, end = decode_mutation(data)
    assert decoded == m and end == len(data)
    gpid, decree, end2 = peek_gpid_decree(data, 0)
    assert (gpid, decree, end2) == (m.gpid, m.decree, len(data))


@given(st.lists(mutations(), max_size=6))
def test_concatenated_records(ms: list[Mutation]) -> None:
    assert decode_mutations(b"".join(encode_mutation(m) for m in ms)) == ms


@given(mutations(), st.data())
def test_truncated_record_is_refused(m: Mutation, data: st.DataObject) -> None:
    raw = encode_mutation(m)
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(MutationDecodeError):
        decode_mutation(raw[:cut])


@given(st.binary(max_size=300))
def test_garbage_never_crashes(raw: bytes) -> None:
    try:
        decode_mutations(raw)
    except MutationDecodeError:
        pass


def test_invalid_fields_refused_on_decode() -> None:
    raw = bytearray(encode_mutation(mutation(5)))
    raw[4 + 16 : 4 + 24] = (0).to_bytes(8, "little")  # decree 0
    with pytest.raises(MutationDecodeError, match="bad decree"):
        decode_mutation(bytes(raw))


def test_committed_point_must_be_below_decree() -> None:
    with pytest.raises(AssertionError):
        Mutation(mutation(3).gpid, 1, 3, 3, 0, ())
