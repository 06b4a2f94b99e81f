"""``mlog_dump``: reading a log as it is (``plog/dump.py``) and printing it as upstream's
shell does (``shell/mlog.py``)."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from pegasus_log.replica.plog import FileLogDisk, LogDisk, MemoryLogDisk, Mutation, MutationUpdate
from pegasus_log.replica.plog.dump import DumpedMutation, DumpStop, dump_log
from pegasus_log.replica.plog.format import SegmentName
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.thrift import Gpid, encode
from pegasus_log.shell.shell.escaping import split_args
from pegasus_log.shell.shell.flags import UsageError
from pegasus_log.shell.shell.mlog import (
    MlogDumpArgs,
    mlog_lines,
    mutation_line,
    parse_mlog_dump,
    update_lines,
)
from pegasus_log.shell.shell.session import Session
from pegasus_log.storage.schema import encode_key
from pegasus_log.storage.types import CasCheckType, MutateOperation
from tests.unit.plog.helpers import SMALL, replay

BLOCK = SMALL.block_bytes_max


def upd(spec: m.RpcSpec, arg: object) -> MutationUpdate:
    """A mutation's client write of ``spec`` carrying ``arg``."""
    return MutationUpdate(spec.name, encode(spec.arg, arg))


def put(hash_key: bytes, sort_key: bytes, value: bytes, expire: int = 0) -> MutationUpdate:
    key = encode_key(hash_key, sort_key)
    return upd(m.RRDB_PUT, m.UpdateRequest(key=key, value=value, expire_ts_seconds=expire))


def mutation(decree: int, *updates: MutationUpdate, pidx: int = 0) -> Mutation:
    return Mutation(Gpid(2, pidx), 3, decree, decree - 1, 1_700_000_000_123_456, updates)


def write(disk: LogDisk, mutations: list[Mutation]) -> None:
    log, _ = replay(disk)

    async def run() -> None:
        for mu in mutations:
            await log.append(mu)
        await log.close()

    asyncio.run(run())


def test_every_record_in_log_order_with_its_offset() -> None:
    disk = MemoryLogDisk()
    written = [mutation(d, put(b"h", b"s%d" % d, b"v" * 300), pidx=d % 2) for d in range(1, 60)]
    write(disk, written)
    assert len([n for n in disk.list_names() if SegmentName.parse(n)]) > 1  # several segments
    items = list(dump_log(disk, block_bytes_max=BLOCK))
    assert all(isinstance(i, DumpedMutation) for i in items)
    dumped = [i for i in items if isinstance(i, DumpedMutation)]
    assert [i.mutation for i in dumped] == written
    offsets = [i.log_offset for i in dumped]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    # The record at each offset is in the segment that covers it.
    for item in dumped:
        assert SegmentName.parse(item.segment).start_offset <= item.log_offset  # type: ignore[union-attr]


def test_a_torn_tail_is_reported_and_left_on_disk() -> None:
    disk = MemoryLogDisk()
    write(disk, [mutation(d, put(b"h", b"s", b"v")) for d in range(1, 6)])
    segments = sorted(s for n in disk.list_names() if (s := SegmentName.parse(n)) is not None)
    last = segments[-1].file_name
    whole = disk.read(last)
    disk.write(last, len(whole), b"\x00\x01\x02")  # a block header cut short
    torn = disk.read(last)
    items = list(dump_log(disk, block_bytes_max=BLOCK))
    assert [i.mutation.decree for i in items if isinstance(i, DumpedMutation)] == [1, 2, 3, 4, 5]
    [stop] = [i for i in items if isinstance(i, DumpStop)]
    assert stop.segment == last and "incomplete block header" in stop.reason
    assert disk.read(last) == torn  # nothing changed


def test_the_mutation_line_reads_as_upstreams() -> None:
    item = DumpedMutation(mutation(42, put(b"h", b"s", b"v")), "log.1.0", 4096, 77)
    line = mutation_line(item)
    assert line.startswith("mutation [2.0.3.42]: gpid=2.0, ballot=3, decree=42, timestamp=")
    assert line.endswith(
        ", last_committed_decree=41, log_offset=4096, log_length=77, update_count=1"
    )


def test_every_write_kind_decoded() -> None:
    cas = m.CheckAndSetRequest(
        hash_key=b"h",
        check_sort_key=b"c",
        check_type=CasCheckType.CT_VALUE_BYTES_EQUAL,
        check_operand=b"old",
        set_diff_sort_key=True,
        set_sort_key=b"t",
        set_value=b"new",
        set_expire_ts_seconds=9,
    )
    cam = m.CheckAndMutateRequest(
        hash_key=b"h",
        check_sort_key=b"c",
        check_type=CasCheckType.CT_VALUE_NOT_EXIST,
        mutate_list=[
            m.Mutate(MutateOperation.MO_PUT, b"a", b"1", 5),
            m.Mutate(MutateOperation.MO_DELETE, b"b"),
        ],
    )
    lines = [
        line
        for u in (
            put(b"h", b"s", b"v\n", 7),
            upd(m.RRDB_REMOVE, encode_key(b"h", b"s")),
            upd(m.RRDB_MULTI_PUT, m.MultiPutRequest(b"h", [m.KeyValue(b"a", b"1")], 3)),
            upd(m.RRDB_MULTI_REMOVE, m.MultiRemoveRequest(b"h", [b"a", b"b"])),
            upd(m.RRDB_INCR, m.IncrRequest(encode_key(b"h", b"n"), -2)),
            upd(m.RRDB_CHECK_AND_SET, cas),
            upd(m.RRDB_CHECK_AND_MUTATE, cam),
            MutationUpdate("RPC_NO_SUCH_WRITE", b""),
            MutationUpdate(m.RRDB_PUT.name, b"\xff\xff"),
        )
        for line in update_lines(u)
    ]
    assert lines[:8] == [
        '  [PUT] "h" : "s" => 7 : "v\\n"',
        '  [REMOVE] "h" : "s"',
        "  [MULTI_PUT] 1",
        '    [PUT] "h" : "a" => 3 : "1"',
        "  [MULTI_REMOVE] 2",
        '    [REMOVE] "h" : "a"',
        '    [REMOVE] "h" : "b"',
        '  [INCR] "h" : "n" => -2',
    ]
    assert lines[8] == (
        '  [CHECK_AND_SET] "h" : IF SORT_KEY(c) CT_VALUE_BYTES_EQUAL "old" '
        "THEN SET SORT_KEY(t) => VALUE(new) [expire=9]"
    )
    assert lines[9:12] == [
        '  [CHECK_AND_MUTATE] "h" : IF SORT_KEY(c) CT_VALUE_NOT_EXIST THEN 2',
        '    [PUT] "h" : "a" => 5 : "1"',
        '    [REMOVE] "h" : "b"',
    ]
    assert lines[12] == "  ERROR: unsupported code RPC_NO_SUCH_WRITE"
    assert lines[13].startswith("  ERROR: cannot decode RPC_RRDB_RRDB_PUT: ")
    assert len(lines) == 14


def test_detailed_dump_of_one_partition() -> None:
    disk = MemoryLogDisk()
    write(disk, [mutation(1, put(b"a", b"b", b"c"), pidx=0), mutation(1, pidx=1)])
    both = list(mlog_lines(disk, block_bytes_max=BLOCK))
    assert [line.split("]")[0] for line in both] == ["mutation [2.0.3.1", "mutation [2.1.3.1"]
    one = list(mlog_lines(disk, block_bytes_max=BLOCK, detailed=True, gpid=(2, 1)))
    assert len(one) == 2 and one[0].startswith("mutation [2.1.3.1]") and one[1] == "  [EMPTY]"
    first = list(mlog_lines(disk, block_bytes_max=BLOCK, detailed=True, gpid=(2, 0)))
    assert first[1] == '  [PUT] "a" : "b" => 0 : "c"'


def test_arguments() -> None:
    assert parse_mlog_dump(split_args("-i /d")) == MlogDumpArgs("/d")
    assert parse_mlog_dump(split_args("--input /d -d -o out.txt -g 3.1")) == MlogDumpArgs(
        "/d", "out.txt", True, (3, 1)
    )
    for line, message in (
        ("", "'input' is not specified"),
        ("-d", "'input' is not specified"),
        ("-i /d -g 3", "parse 3 as gpid failed"),
        ("-i /d extra", "unexpected argument extra"),
    ):
        with pytest.raises(UsageError, match=message):
            parse_mlog_dump(split_args(line))


def test_the_shell_command_dumps_a_directory_and_refuses_what_is_not_one(tmp_path: Path) -> None:
    write(FileLogDisk(tmp_path / "plog"), [mutation(1, put(b"k", b"s", b"v"))])
    out, err = io.StringIO(), io.StringIO()
    session = Session(["127.0.0.1:1"], out=out, err=err)
    try:
        assert session.execute(f"mlog_dump -i {tmp_path / 'plog'} -d")
        assert out.getvalue().splitlines()[1:] == ['  [PUT] "k" : "s" => 0 : "v"']
        assert err.getvalue() == "Done\n"
        target = tmp_path / "dump.txt"
        assert session.execute(f"mlog_dump -i {tmp_path / 'plog'} -o {target}")
        assert target.read_text().startswith("mutation [2.0.3.1]")
        assert not session.execute(f"mlog_dump -i {tmp_path / 'nothing'}")
        assert f"ERROR: '{tmp_path / 'nothing'}' is not a directory" in err.getvalue()
        assert not (tmp_path / "nothing").exists()
    finally:
        session.close()
