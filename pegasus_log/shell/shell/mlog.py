"""``mlog_dump``: a replica server's mutation log as text, as upstream's shell prints it.

A pegasus-log replica server keeps one log for all its partitions (``<data_dir>/plog``;
upstream keeps one per partition), so the input is that directory and ``-g`` picks one
partition. Each mutation gets a line::

    mutation [1.0.3.42]: gpid=1.0, ballot=3, decree=42, timestamp=2026-11-27 12:00:00.123,
    last_committed_decree=41, log_offset=..., log_length=..., update_count=2

(on one line); ``-d`` adds its writes, decoded (``[PUT] "hk" : "sk" => expire : "value"``
and the like). The log is read as it is and never changed (``plog/dump.py``), so a live
server's log can be dumped; where a segment does not end cleanly, an ``ERROR:`` line says
where and why.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import partial

from pegasus_log.frozen import frozen
from pegasus_log.replica.plog.disk import LogDisk
from pegasus_log.replica.plog.dump import DumpedMutation, DumpStop, dump_log
from pegasus_log.replica.plog.mutation import Mutation, MutationUpdate
from pegasus_log.rpc import messages as m
from pegasus_log.rpc.thrift import decode
from pegasus_log.shell.shell.escaping import c_escape
from pegasus_log.shell.shell.flags import Flag, UsageError, parse_flags, text
from pegasus_log.shell.shell.meta_args import parse_gpid
from pegasus_log.shell.shell.output import local_time_us, quoted
from pegasus_log.storage.schema import decode_key
from pegasus_log.storage.types import CasCheckType, MutateOperation

INDENT = "  "

_FLAGS = (
    Flag("i", "input"),
    Flag("o", "output"),
    Flag("d", "detailed", takes_value=False),
    Flag("g", "gpid"),
)


@frozen
class MlogDumpArgs:
    input: str
    output: str | None = None
    detailed: bool = False
    gpid: tuple[int, int] | None = None  # one partition, or all


def parse_mlog_dump(args: Sequence[bytes]) -> MlogDumpArgs:
    """``mlog_dump -i log_dir [-o file] [-d] [-g app_id.partition_index]``."""
    parsed = parse_flags(args, _FLAGS)
    if parsed.positional:
        raise UsageError(f"unexpected argument {text(parsed.positional[0])}")
    raw_input = parsed.last("input")
    if raw_input is None:
        raise UsageError("'input' is not specified")
    raw_gpid = parsed.last("gpid")
    gpid = None if raw_gpid is None else parse_gpid(raw_gpid, partition_needed=True)
    if raw_gpid is not None and gpid is None:
        raise UsageError(f"parse {text(raw_gpid)} as gpid failed")
    raw_output = parsed.last("output")
    return MlogDumpArgs(
        text(raw_input),
        None if raw_output is None else text(raw_output),
        parsed.has("detailed"),
        gpid,
    )


def mlog_lines(
    disk: LogDisk,
    *,
    block_bytes_max: int,
    detailed: bool = False,
    gpid: tuple[int, int] | None = None,
    escape_all: bool = False,
) -> Iterator[str]:
    """The dump of the log on ``disk``, a line at a time (a log may be large)."""
    for item in dump_log(disk, block_bytes_max=block_bytes_max):
        if isinstance(item, DumpStop):
            yield (
                f"ERROR: {item.segment} stops at log offset {item.log_offset}: {item.reason}"
                " (the rest of that segment is not read)"
            )
            continue
        mu = item.mutation
        if gpid is not None and (mu.gpid.app_id, mu.gpid.partition_index) != gpid:
            continue
        yield mutation_line(item)
        if detailed:
            if not mu.updates:
                yield INDENT + "[EMPTY]"
            for update in mu.updates:
                yield from update_lines(update, escape_all=escape_all)


def mutation_line(item: DumpedMutation) -> str:
    mu: Mutation = item.mutation
    pid = f"{mu.gpid.app_id}.{mu.gpid.partition_index}"
    return (
        f"mutation [{pid}.{mu.ballot}.{mu.decree}]: gpid={pid}, ballot={mu.ballot}, "
        f"decree={mu.decree}, timestamp={local_time_us(mu.timestamp_us)}, "
        f"last_committed_decree={mu.last_committed_decree}, log_offset={item.log_offset}, "
        f"log_length={item.log_length}, update_count={len(mu.updates)}"
    )


def update_lines(update: MutationUpdate, *, escape_all: bool = False) -> list[str]:
    """One client write of a mutation, decoded, as upstream's ``mlog_dump -d`` prints it
    (CHECK_AND_MUTATE, which upstream does not decode, is printed the same way)."""

    q = partial(quoted, escape_all=escape_all)
    e = partial(c_escape, escape_all=escape_all)

    spec = _WRITES.get(update.rpc_name)
    if spec is None:
        return [f"{INDENT}ERROR: unsupported code {update.rpc_name}"]
    try:
        arg = decode(spec.arg, update.body)
        if spec is m.RRDB_PUT:
            hk, sk = decode_key(arg.key)
            return [f"{INDENT}[PUT] {q(hk)} : {q(sk)} => {arg.expire_ts_seconds} : {q(arg.value)}"]
        if spec is m.RRDB_REMOVE:
            hk, sk = decode_key(arg)
            return [f"{INDENT}[REMOVE] {q(hk)} : {q(sk)}"]
        if spec is m.RRDB_MULTI_PUT:
            return [f"{INDENT}[MULTI_PUT] {len(arg.kvs)}"] + [
                f"{INDENT * 2}[PUT] {q(arg.hash_key)} : {q(kv.key)} => "
                f"{arg.expire_ts_seconds} : {q(kv.value)}"
                for kv in arg.kvs
            ]
        if spec is m.RRDB_MULTI_REMOVE:
            return [f"{INDENT}[MULTI_REMOVE] {len(arg.sort_keys)}"] + [
                f"{INDENT * 2}[REMOVE] {q(arg.hash_key)} : {q(sk)}" for sk in arg.sort_keys
            ]
        if spec is m.RRDB_INCR:
            hk, sk = decode_key(arg.key)
            return [f"{INDENT}[INCR] {q(hk)} : {q(sk)} => {arg.increment}"]
        check = f"IF SORT_KEY({e(arg.check_sort_key)}) {_check_type(arg.check_type)} "
        if arg.check_type >= CasCheckType.CT_VALUE_MATCH_ANYWHERE:
            check += f"{q(arg.check_operand)} "
        if spec is m.RRDB_CHECK_AND_SET:
            set_sort_key = arg.set_sort_key if arg.set_diff_sort_key else arg.check_sort_key
            return [
                f"{INDENT}[CHECK_AND_SET] {q(arg.hash_key)} : {check}THEN SET "
                f"SORT_KEY({e(set_sort_key)}) => VALUE({e(arg.set_value)}) "
                f"[expire={arg.set_expire_ts_seconds}]"
            ]
        head = f"[CHECK_AND_MUTATE] {q(arg.hash_key)} : {check}THEN {len(arg.mutate_list)}"
        lines = [INDENT + head]
        for mu in arg.mutate_list:
            if mu.operation == MutateOperation.MO_PUT:
                lines.append(
                    f"{INDENT * 2}[PUT] {q(arg.hash_key)} : {q(mu.sort_key)} => "
                    f"{mu.set_expire_ts_seconds} : {q(mu.value)}"
                )
            else:
                lines.append(f"{INDENT * 2}[REMOVE] {q(arg.hash_key)} : {q(mu.sort_key)}")
        return lines
    except ValueError as err:
        return [f"{INDENT}ERROR: cannot decode {update.rpc_name}: {err}"]


def _check_type(value: int) -> str:
    try:
        return CasCheckType(value).name
    except ValueError:
        return f"INVALID={value}"


_WRITES = {
    spec.name: spec
    for spec in (
        m.RRDB_PUT,
        m.RRDB_REMOVE,
        m.RRDB_MULTI_PUT,
        m.RRDB_MULTI_REMOVE,
        m.RRDB_INCR,
        m.RRDB_CHECK_AND_SET,
        m.RRDB_CHECK_AND_MUTATE,
    )
}
