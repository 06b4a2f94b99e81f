"""Segment names, segment headers, blocks, and configuration bounds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pegasus_log.replica.plog import PlogConfig, PlogConfigError, SegmentName
from pegasus_log.replica.plog.format import (
    BLOCK_HEADER_BYTES,
    SegmentHeader,
    check_block,
    decode_header,
    encode_block,
    encode_header,
    find_intact_block,
)
from pegasus_log.rpc.thrift import Gpid


def test_segment_names() -> None:
    assert SegmentName(3, 1024).file_name == "log.3.1024"
    assert SegmentName.parse("log.3.1024") == SegmentName(3, 1024)
    for other in ("log.0.0", "log.1.01", "log.1", "log.1.2.tmp", "log.x.0", "LOG.1.0", ""):
        assert SegmentName.parse(other) is None, other
    assert SegmentName(2, 0) < SegmentName(10, 0)


gpids = st.builds(Gpid, st.integers(-(1 << 31), (1 << 31) - 1), st.integers(0, (1 << 31) - 1))


@given(
    st.integers(1, (1 << 32) - 1),
    st.integers(0, (1 << 63) - 1),
    st.dictionaries(gpids, st.integers(0, (1 << 63) - 1), max_size=20),
)
def test_header_round_trip(index: int, start: int, decrees: dict[Gpid, int]) -> None:
    name = SegmentName(index, start)
    raw = encode_header(SegmentHeader(name, decrees))
    header, length = decode_header(raw + b"trailing blocks", name)
    assert (
        length == len(raw) and header.name == name and dict(header.previous_max_decrees) == decrees
    )
    for cut in range(len(raw)):
        with pytest.raises(ValueError):
            decode_header(raw[:cut], name)
    with pytest.raises(ValueError, match="header names segment"):
        decode_header(raw, SegmentName(index, start - 1 if start else 1))


def test_block_checks() -> None:
    block = encode_block(b"payload!", 4096 + 100)
    view = memoryview(block)
    span, why = check_block(view, 0, 4096 - 0 + 100, 1 << 20)
    assert span is not None and why == ""
    assert span.payload_end - span.payload_start == 8 == len(block) - BLOCK_HEADER_BYTES
    # the same bytes at another place in the log are not a valid block there
    assert check_block(view, 0, 4096, 1 << 20)[0] is None
    assert "length" in check_block(view, 0, 4196, 4)[1]
    for i in range(len(block)):
        flipped = bytearray(block)
        flipped[i] ^= 1
        assert check_block(memoryview(bytes(flipped)), 0, 4196, 1 << 20)[0] is None, i
    segment = SegmentName(1, 4096)
    assert (
        find_intact_block(b"junk" + block, 0, SegmentName(1, 4096 + 100 - 4), block_bytes_max=64)
        == 4
    )
    assert find_intact_block(b"junk" + block, 0, segment, block_bytes_max=64) is None


def test_config_bounds() -> None:
    PlogConfig()
    with pytest.raises(PlogConfigError):
        PlogConfig(block_bytes_max=1 << 20, segment_bytes_max=1 << 20)
    with pytest.raises(PlogConfigError):
        PlogConfig(block_bytes_max=1 << 20, pending_bytes_max=1 << 19)
    with pytest.raises(PlogConfigError):
        PlogConfig(block_bytes_max=100)
    with pytest.raises(PlogConfigError):
        PlogConfig(pending_mutations_max=0)
