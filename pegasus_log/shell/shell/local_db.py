"""The shell's offline look at stored data: ``local_get`` reads one record from a
partition's RocksDB directory, opened read-only (so a running server's store can be
read, as upstream's ``local_get`` does), and ``rdb_value_hex2str`` explains a stored
value's bytes."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

from rocksdict import AccessType, Options, Rdict

from pegasus_log.shell.shell.flags import CommandError
from pegasus_log.shell.shell.output import local_time_us
from pegasus_log.storage.schema import (
    PEGASUS_EPOCH,
    decode_value,
    encode_key,
    timetag_cluster_id,
    timetag_deleted,
    timetag_timestamp_us,
)


def local_get(db_path: str, hash_key: bytes, sort_key: bytes) -> bytes | None:
    """The stored value (header included) of the record, or None when there is none."""
    path = Path(db_path)
    # RocksDB creates a missing directory before it finds no database there.
    if not (path / "CURRENT").is_file():
        raise CommandError(f"open db failed: {db_path} holds no RocksDB database")
    try:
        key = encode_key(hash_key, sort_key)
    except ValueError as e:
        raise CommandError(str(e)) from None
    try:
        db = Rdict(str(path), Options(raw_mode=True), access_type=AccessType.read_only())
    except Exception as e:  # rocksdict raises a bare Exception with RocksDB's status
        raise CommandError(f"open db failed: {e}") from None
    try:
        value = db.get(key)
    finally:
        db.close()
    assert value is None or isinstance(value, bytes)
    return value


def value_lines(raw: bytes, quote: Callable[[bytes], str]) -> list[str]:
    """``rdb_value_hex2str``'s report on a stored value (data version 1): when it expires,
    its timetag, its user data. ``quote`` escapes bytes as the shell shows them."""
    try:
        expire_ts, timetag, user_data = decode_value(raw)
    except ValueError as e:
        raise CommandError(f"not a Pegasus value: {e}") from None
    if expire_ts == 0:
        expires = "never (expire_ts 0)"
    else:
        when = datetime.datetime.fromtimestamp(PEGASUS_EPOCH + expire_ts)
        expires = f"{when:%Y-%m-%d %H:%M:%S}"
    return [
        "When to expire:",
        f"  {expires}",
        "timetag:",
        f"  written {local_time_us(timetag_timestamp_us(timetag))}, "
        f"cluster_id {timetag_cluster_id(timetag)}, "
        f"{'deleted' if timetag_deleted(timetag) else 'not deleted'}",
        "user_data:",
        f"  {quote(user_data)}",
    ]
