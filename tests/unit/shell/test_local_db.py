"""``local_get`` on a partition's RocksDB directory (real RocksDB, opened read-only beside
the store that has it open) and ``rdb_value_hex2str`` on a stored value's bytes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rocksdict import Options, Rdict

from pegasus_log.shell.shell.flags import CommandError
from pegasus_log.shell.shell.local_db import local_get, value_lines
from pegasus_log.shell.shell.output import quoted
from pegasus_log.shell.shell.session import Session
from pegasus_log.storage.schema import PEGASUS_EPOCH, encode_key, encode_value, make_timetag
from pegasus_log.storage.types import UpdateRequest
from tests.unit.storage.helpers import FakeClock, open_store

# 2026-11-27 12:00:00 UTC
NOON = 1_795_780_800


def test_local_get_reads_a_store_that_is_open(tmp_path: Path) -> None:
    store = open_store(tmp_path / "1.0.pegasus", FakeClock(NOON))
    try:
        store.put(1, UpdateRequest(encode_key(b"h", b"s"), b"v\x00", NOON - PEGASUS_EPOCH + 60))
        raw = local_get(str(tmp_path / "1.0.pegasus"), b"h", b"s")
        assert raw is not None and raw.endswith(b"v\x00")
        assert local_get(str(tmp_path / "1.0.pegasus"), b"h", b"other") is None
    finally:
        store.close()


def test_local_get_refuses_what_is_not_a_database_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="holds no RocksDB database"):
        local_get(str(tmp_path / "missing"), b"h", b"s")
    assert not (tmp_path / "missing").exists()


def test_value_lines_explain_expiry_timetag_and_data() -> None:
    stamp_us = NOON * 1_000_000 + 250_000
    raw = encode_value(
        b"data\n", expire_ts=NOON - PEGASUS_EPOCH, timetag=make_timetag(stamp_us, 5, deleted=False)
    )
    lines = value_lines(raw, quoted)
    assert lines[0] == "When to expire:" and lines[2] == "timetag:"
    assert lines[3].startswith("  written ") and lines[3].endswith(
        ".250, cluster_id 5, not deleted"
    )
    assert lines[4:] == ["user_data:", '  "data\\n"']
    never = value_lines(encode_value(b"", expire_ts=0, timetag=0), quoted)
    assert never[1] == "  never (expire_ts 0)"
    with pytest.raises(CommandError, match="not a Pegasus value"):
        value_lines(b"\x00\x01", quoted)


def test_the_shell_commands(tmp_path: Path) -> None:
    store = open_store(tmp_path / "2.3.pegasus", FakeClock(NOON))
    store.put(1, UpdateRequest(encode_key(b"hk", b"sk"), b"value", 0))
    store.close()
    out, err = io.StringIO(), io.StringIO()
    session = Session(["127.0.0.1:1"], out=out, err=err)
    try:
        assert session.execute(f"local_get {tmp_path / '2.3.pegasus'} hk sk")
        assert out.getvalue() == '0 : "value"\n'
        assert not session.execute(f"local_get {tmp_path / '2.3.pegasus'} hk nothing")
        assert "ERROR: get failed: NotFound" in err.getvalue()
        hex_value = encode_value(b"x", expire_ts=0, timetag=0).hex()
        assert session.execute(f"rdb_value_hex2str {hex_value}")
        assert out.getvalue().splitlines()[-2:] == ["user_data:", '  "x"']
    finally:
        session.close()


def test_local_get_of_a_value_that_is_not_pegasus_is_an_error_not_a_crash(tmp_path: Path) -> None:
    db = Rdict(str(tmp_path / "raw"), Options(raw_mode=True))
    db.put(encode_key(b"h", b"s"), b"\x01")  # shorter than a value header
    db.close()
    out, err = io.StringIO(), io.StringIO()
    session = Session(["127.0.0.1:1"], out=out, err=err)
    try:
        assert not session.execute(f"local_get {tmp_path / 'raw'} h s")
        assert err.getvalue().startswith("ERROR: not a Pegasus value: ")
        assert session.execute("rdb_key_str2hex h s")  # the shell goes on
    finally:
        session.close()
