"""A shell session: the current cluster and table, and every command run against them.

``Session.execute(line)`` splits one command line, checks it against the vocabulary, runs
it and says whether it succeeded. Results (values, rows, ``OK``) go to ``out``; the rest —
the parameters echoed back, the ``app_id / partition_index / server`` block, summaries,
progress and errors — go to ``err``, so ``pegasus-log shell -e "use t; full_scan" > dump``
keeps only rows. (Upstream's shell prints everything to stderr.) The table and cluster
commands live in ``meta_commands``.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import TextIO

from pegasus_log.client.aio import Mutation, ScanItem, Scanner, ScanOptions
from pegasus_log.client.errors import PegasusError
from pegasus_log.client.routing import Route
from pegasus_log.client.sync import Table
from pegasus_log.frozen import frozen
from pegasus_log.replica.plog import FileLogDisk, PlogConfig
from pegasus_log.shell.shell import bulk
from pegasus_log.shell.shell.client import ShellClient, primary_of
from pegasus_log.shell.shell.commands import (
    MUTATIONS_ABORT,
    MUTATIONS_DONE,
    BulkArgs,
    CheckArgs,
    Filter,
    FullScanArgs,
    operand_needed,
    parse_check_and_mutate,
    parse_check_and_set,
    parse_clear_data,
    parse_copy_data,
    parse_count_data,
    parse_full_scan,
    parse_hash_key,
    parse_hash_scan,
    parse_hex,
    parse_incr,
    parse_key,
    parse_meta_list,
    parse_multi_del,
    parse_multi_del_range,
    parse_multi_get,
    parse_multi_get_range,
    parse_multi_set,
    parse_mutation_line,
    parse_optional_bool,
    parse_set,
    parse_timeout,
)
from pegasus_log.shell.shell.escaping import ArgSyntaxError, split_args
from pegasus_log.shell.shell.flags import CommandError, UsageError, expect_count, text
from pegasus_log.shell.shell.local_db import local_get, value_lines
from pegasus_log.shell.shell.meta_commands import MetaCommands
from pegasus_log.shell.shell.mlog import mlog_lines, parse_mlog_dump
from pegasus_log.shell.shell.output import (
    fetch_summary,
    help_all,
    help_one,
    info_lines,
    kv_line,
    location_detail,
    name_value_table,
    quoted,
    usage_lines,
)
from pegasus_log.shell.shell.progress import make_progress
from pegasus_log.shell.shell.vocabulary import COMMANDS, COMMANDS_BY_NAME, Command
from pegasus_log.storage.keyhash import partition_hash
from pegasus_log.storage.schema import decode_key, decode_value, encode_key

# Upstream's shell defaults to 5000 ms per operation.
DEFAULT_TIMEOUT_MS = 5000
# multi_del_range deletes in batches of this many sort keys, as upstream does.
DEL_RANGE_BATCH = 100
# Scanner batch size of the shell's own scans (hash_scan, full_scan, multi_del_range).
SCAN_BATCH_SIZE = 1000
# Lines of mutations check_and_mutate reads interactively before giving up.
MUTATION_LINES_MAX = 10_000


class ShellExit(Exception):
    """``exit`` / ``quit``: stop reading commands."""


@frozen
class Location:
    app_id: int
    partition_index: int
    server: str


Handler = Callable[[list[bytes]], bool]


class Session:
    def __init__(
        self,
        metas: Sequence[str],
        *,
        out: TextIO,
        err: TextIO,
        read_line: Callable[[str], str | None] | None = None,
        timeout_ms: int = DEFAULT_TIMEOUT_MS,
    ) -> None:
        self.out = out
        self.err = err
        self._read_line = read_line
        self.timeout_ms = timeout_ms
        self.escape_all = False
        self.client = ShellClient(metas, timeout_s=timeout_ms / 1000)
        self.table_name = ""
        self._table: Table | None = None
        self._route: Route | None = None
        self._handlers: dict[str, Handler] = {
            "help": self.cmd_help,
            "version": self.cmd_version,
            "use": self.cmd_use,
            "cc": self.cmd_cc,
            "escape_all": self.cmd_escape_all,
            "timeout": self.cmd_timeout,
            "hash": self.cmd_hash,
            "set": self.cmd_set,
            "multi_set": self.cmd_multi_set,
            "get": self.cmd_get,
            "multi_get": self.cmd_multi_get,
            "multi_get_range": self.cmd_multi_get_range,
            "multi_get_sortkeys": self.cmd_multi_get_sortkeys,
            "del": self.cmd_del,
            "multi_del": self.cmd_multi_del,
            "multi_del_range": self.cmd_multi_del_range,
            "incr": self.cmd_incr,
            "check_and_set": self.cmd_check_and_set,
            "check_and_mutate": self.cmd_check_and_mutate,
            "exist": self.cmd_exist,
            "count": self.cmd_count,
            "ttl": self.cmd_ttl,
            "hash_scan": self.cmd_hash_scan,
            "full_scan": self.cmd_full_scan,
            "copy_data": self.cmd_copy_data,
            "clear_data": self.cmd_clear_data,
            "count_data": self.cmd_count_data,
            "rdb_key_str2hex": self.cmd_rdb_key_str2hex,
            "rdb_key_hex2str": self.cmd_rdb_key_hex2str,
            "mlog_dump": self.cmd_mlog_dump,
            "local_get": self.cmd_local_get,
            "rdb_value_hex2str": self.cmd_rdb_value_hex2str,
            "exit": self.cmd_exit,
            "quit": self.cmd_exit,
            **MetaCommands(self).handlers(),
        }
        runnable = {c.name for c in COMMANDS if not c.unavailable}
        assert runnable == set(self._handlers), runnable ^ set(self._handlers)

    def close(self) -> None:
        self.client.close()

    # ---- printing ------------------------------------------------------------------------

    def say(self, line: str = "") -> None:
        """A result line."""
        print(line, file=self.out, flush=True)

    def note(self, line: str = "") -> None:
        """Everything around results: echoed parameters, info blocks, summaries."""
        print(line, file=self.err, flush=True)

    def error(self, message: str) -> None:
        print(f"ERROR: {message}", file=self.err, flush=True)

    def confirm(self, action: str) -> bool:
        """Upstream's question before an unsafe command: ``y`` goes on, ``n`` stops, up to
        five tries; no input to read stops."""
        question = f"PLEASE be CAUTIOUS with this operation ! Are you sure to {action} ? [y/n]: "
        for _ in range(5):
            line = None if self._read_line is None else self._read_line(question)
            if line is None:
                self.say("no answer, we will stop !")
                return False
            if line.strip() == "y":
                self.say("you've chosen YES, we will continue ...")
                return True
            if line.strip() == "n":
                self.say("you've chosen NO, we will stop !")
                return False
        self.say("too many failed attempts, we will stop !")
        return False

    def q(self, data: bytes) -> str:
        return quoted(data, escape_all=self.escape_all)

    # ---- dispatch ------------------------------------------------------------------------

    def execute(self, line: str) -> bool:
        """Run one command line; True when it succeeded. Raises ShellExit on exit."""
        try:
            argv = split_args(line)
        except ArgSyntaxError as e:
            self.error(f"invalid argument(s): {e}")
            return False
        if not argv:
            return True
        name = argv[0].decode("utf-8", "backslashreplace")
        command = COMMANDS_BY_NAME.get(name)
        if command is None:
            self._unknown(name)
            return False
        if command.unavailable:
            self.error(f"{name} is not available yet: {command.unavailable}")
            return False
        if command.needs_table and self._table is None:
            self.error("No app is using now")
            self.note("USAGE: use [app_name]")
            return False
        return self._run(command, argv[1:])

    def _run(self, command: Command, args: list[bytes]) -> bool:
        try:
            return self._handlers[command.name](args)
        except UsageError as e:
            self.error(str(e))
            for line in usage_lines(command):
                self.note(line)
        except (CommandError, PegasusError) as e:
            self.error(str(e))
            self._refresh_route()
        except OSError as e:
            self.error(str(e))
        except KeyboardInterrupt:
            self.note()  # the interrupted line may be half printed
            self.error(f"{command.name} interrupted")
        return False

    def _unknown(self, name: str) -> None:
        self.error(f"invalid subcommand '{name}'")
        near = difflib.get_close_matches(name, COMMANDS_BY_NAME, n=3)
        if near:
            self.note(f"Did you mean: {', '.join(near)}?")
        self.note('Type "help" to list the commands.')

    # ---- where a key lives ---------------------------------------------------------------

    @property
    def table(self) -> Table:
        assert self._table is not None, "dispatch checks needs_table"
        return self._table

    def _refresh_route(self) -> None:
        if not self.table_name:
            return
        try:
            self._route = self.client.route(self.table_name)
        except PegasusError:
            pass  # keep the last one; the next command tries again

    def _where(self, hash_key: bytes, sort_key: bytes = b"") -> Location:
        route = self._route
        assert route is not None
        index = partition_hash(hash_key, sort_key) % route.partition_count
        return Location(route.app_id, index, primary_of(route, index))

    def _info(self, hash_key: bytes, sort_key: bytes = b"") -> None:
        loc = self._where(hash_key, sort_key)
        for line in info_lines(loc.app_id, loc.partition_index, loc.server):
            self.note(line)

    def _partition_detail(self, partition_index: int) -> str:
        route = self._route
        assert route is not None
        return location_detail(route.app_id, partition_index, primary_of(route, partition_index))

    # ---- shell state ---------------------------------------------------------------------

    def cmd_help(self, args: list[bytes]) -> bool:
        expect_count(args, lo=0, hi=1)
        if not args:
            for line in help_all(COMMANDS):
                self.say(line)
            return True
        command = COMMANDS_BY_NAME.get(text(args[0]))
        if command is None:
            self._unknown(text(args[0]))
            return False
        for line in help_one(command):
            self.say(line)
        return True

    def cmd_version(self, args: list[bytes]) -> bool:
        expect_count(args, lo=0, hi=0)
        try:
            version = metadata.version("pegasus-log")
        except metadata.PackageNotFoundError:
            version = "unknown"
        self.say(f"Pegasus Shell (pegasus-log {version})")
        return True

    def cmd_use(self, args: list[bytes]) -> bool:
        expect_count(args, lo=0, hi=1)
        if not args:
            if not self.table_name:
                raise UsageError("Current app not specified.")
            self.say(f"Current app: {self.table_name}")
            return True
        self._open(text(args[0]))
        self.say("OK")
        return True

    def _open(self, name: str) -> None:
        """Make ``name`` the current table (checking with the meta that it exists)."""
        table = self.client.open_table(name)
        route = self.client.route(name)
        self.table_name, self._table, self._route = name, table, route

    def _reconnect(self, metas: Sequence[str], timeout_ms: int) -> None:
        new = ShellClient(metas, timeout_s=timeout_ms / 1000)
        old, self.client = self.client, new
        old.close()
        self.timeout_ms = timeout_ms
        name, self.table_name, self._table, self._route = self.table_name, "", None, None
        if name:
            try:
                self._open(name)
            except PegasusError as e:
                self.note(f"WARNING: table {name} not opened in the new client: {e}")

    def cmd_cc(self, args: list[bytes]) -> bool:
        expect_count(args, lo=1, hi=1)
        metas = parse_meta_list(args[0])
        self._reconnect(metas, self.timeout_ms)
        self.say(f"The cluster meta list is: {','.join(metas)}")
        return True

    def cmd_escape_all(self, args: list[bytes]) -> bool:
        value = parse_optional_bool(args, "escape_all")
        if value is None:
            self.say(f"Current escape_all: {'true' if self.escape_all else 'false'}.")
        else:
            self.escape_all = value
            self.say("OK")
        return True

    def cmd_timeout(self, args: list[bytes]) -> bool:
        value = parse_timeout(args)
        if value is None:
            self.say(f"Current timeout: {self.timeout_ms} ms.")
        else:
            self._reconnect(self.client.metas, value)
            self.say("OK")
        return True

    def cmd_exit(self, args: list[bytes]) -> bool:
        raise ShellExit

    def cmd_hash(self, args: list[bytes]) -> bool:
        key = parse_key(args)
        key_hash = partition_hash(key.hash_key, key.sort_key)
        rows = [("key_hash", str(key_hash))]
        if self._route is not None:
            loc = self._where(key.hash_key, key.sort_key)
            rows += [
                ("app_name", self.table_name),
                ("app_id", str(loc.app_id)),
                ("partition_count", str(self._route.partition_count)),
                ("partition_index", str(loc.partition_index)),
                ("primary", loc.server),
            ]
        for line in name_value_table(rows):
            self.say(line)
        return True

    def cmd_rdb_key_str2hex(self, args: list[bytes]) -> bool:
        key = parse_key(args)
        try:
            raw = encode_key(key.hash_key, key.sort_key)
        except ValueError as e:
            raise UsageError(str(e)) from None
        self.say(f'"{raw.hex().upper()}"')
        return True

    def cmd_rdb_key_hex2str(self, args: list[bytes]) -> bool:
        raw = parse_hex(args)
        try:
            hash_key, sort_key = decode_key(raw)
        except ValueError as e:
            raise UsageError(f"not a Pegasus key: {e}") from None
        self.say(f"hash key: {self.q(hash_key)}")
        self.say(f"sort key: {self.q(sort_key)}")
        return True

    def cmd_rdb_value_hex2str(self, args: list[bytes]) -> bool:
        for line in value_lines(parse_hex(args), self.q):
            self.say(line)
        return True

    def cmd_local_get(self, args: list[bytes]) -> bool:
        expect_count(args, lo=3, hi=3)
        db_path, hash_key, sort_key = text(args[0]), args[1], args[2]
        raw = local_get(db_path, hash_key, sort_key)
        if raw is None:
            raise CommandError("get failed: NotFound")
        try:
            expire_ts, _timetag, user_data = decode_value(raw)
        except ValueError as e:
            raise CommandError(f"not a Pegasus value: {e}") from None
        self.say(f"{expire_ts} : {self.q(user_data)}")
        return True

    def cmd_mlog_dump(self, args: list[bytes]) -> bool:
        """A replica server's mutation log as text (``mlog.py``), into ``-o`` or ``out``;
        ``Done`` on ``err`` when it is all there."""
        a = parse_mlog_dump(args)
        directory = Path(a.input)
        if not directory.is_dir():
            raise CommandError(f"'{a.input}' is not a directory")
        lines = mlog_lines(
            FileLogDisk(directory),
            block_bytes_max=PlogConfig().block_bytes_max,
            detailed=a.detailed,
            gpid=a.gpid,
            escape_all=self.escape_all,
        )
        if a.output is None:
            for line in lines:
                self.say(line)
        else:
            with open(a.output, "w", encoding="utf-8") as f:
                f.writelines(line + "\n" for line in lines)
        self.note("Done")
        return True

    # ---- single keys ---------------------------------------------------------------------

    def cmd_set(self, args: list[bytes]) -> bool:
        a = parse_set(args)
        self.table.set(a.hash_key, a.sort_key, a.value, ttl_seconds=a.ttl_seconds)
        self.say("OK")
        self._info(a.hash_key, a.sort_key)
        return True

    def cmd_get(self, args: list[bytes]) -> bool:
        key = parse_key(args)
        value = self.table.get(key.hash_key, key.sort_key)
        self.say("Not found" if value is None else self.q(value))
        self._info(key.hash_key, key.sort_key)
        return True

    def cmd_del(self, args: list[bytes]) -> bool:
        key = parse_key(args)
        self.table.delete(key.hash_key, key.sort_key)
        self.say("OK")
        self._info(key.hash_key, key.sort_key)
        return True

    def cmd_exist(self, args: list[bytes]) -> bool:
        key = parse_key(args)
        self.say("True" if self.table.exist(key.hash_key, key.sort_key) else "False")
        self._info(key.hash_key, key.sort_key)
        return True

    def cmd_ttl(self, args: list[bytes]) -> bool:
        key = parse_key(args)
        ttl = self.table.ttl(key.hash_key, key.sort_key)
        self.say({-1: "Infinite", -2: "Not found"}.get(ttl, str(ttl)))
        self._info(key.hash_key, key.sort_key)
        return True

    def cmd_incr(self, args: list[bytes]) -> bool:
        a = parse_incr(args)
        self.say(str(self.table.incr(a.hash_key, a.sort_key, a.increment)))
        self._info(a.hash_key, a.sort_key)
        return True

    # ---- one hash key --------------------------------------------------------------------

    def cmd_multi_set(self, args: list[bytes]) -> bool:
        a = parse_multi_set(args)
        self.table.multi_set(a.hash_key, a.pairs)
        self.say("OK")
        self._info(a.hash_key)
        return True

    def cmd_multi_get(self, args: list[bytes]) -> bool:
        a = parse_multi_get(args)
        kvs, complete = self.table.multi_get(a.hash_key, a.sort_keys)
        for sk, value in sorted(kvs):
            self.say(kv_line(a.hash_key, sk, value, escape_all=self.escape_all))
        self.note()
        self.note(fetch_summary(len(kvs), complete))
        self._info(a.hash_key)
        return True

    def cmd_multi_get_sortkeys(self, args: list[bytes]) -> bool:
        hash_key = parse_hash_key(args)
        kvs, complete = self.table.multi_get(hash_key, no_value=True)
        for sk, _ in sorted(kvs):
            self.say(self.q(sk))
        self.note()
        self.note(fetch_summary(len(kvs), complete, "sort keys"))
        self._info(hash_key)
        return True

    def cmd_count(self, args: list[bytes]) -> bool:
        hash_key = parse_hash_key(args)
        self.say(str(self.table.sortkey_count(hash_key)))
        self._info(hash_key)
        return True

    def cmd_multi_del(self, args: list[bytes]) -> bool:
        a = parse_multi_del(args)
        deleted = self.table.multi_del(a.hash_key, a.sort_keys)
        self.say(f"{deleted} key-value pairs deleted.")
        self._info(a.hash_key)
        return True

    def _echo_range(
        self, hash_key: bytes, start: bytes, stop: bytes, start_inc: bool, stop_inc: bool
    ) -> None:
        self.note(f"hash_key: {quoted(hash_key)}")
        self.note(f"start_sort_key: {quoted(start)}")
        self.note(f"start_inclusive: {_bool(start_inc)}")
        self.note(f"stop_sort_key: {quoted(stop)}")
        self.note(f"stop_inclusive: {_bool(stop_inc)}")

    def _echo_filter(self, what: str, f: Filter, *, prefix: str = "", sep: str = ": ") -> None:
        self.note(f"{prefix}{what}_filter_type{sep}{f.kind}")
        if f.active:
            self.note(f"{prefix}{what}_filter_pattern{sep}{quoted(f.pattern)}")

    def cmd_multi_get_range(self, args: list[bytes]) -> bool:
        a = parse_multi_get_range(args)
        r = a.range
        self._echo_range(
            r.hash_key, r.start_sort_key, r.stop_sort_key, r.start_inclusive, r.stop_inclusive
        )
        self._echo_filter("sort_key", r.sort_key_filter)
        self.note(f"max_count: {a.max_count}")
        self.note(f"no_value: {_bool(a.no_value)}")
        self.note(f"reverse: {_bool(a.reverse)}")
        self.note()
        kvs, complete = self.table.multi_get_range(
            r.hash_key, r.start_sort_key, r.stop_sort_key, a.options
        )
        for sk, value in kvs:
            value_or_none = None if a.no_value else value
            self.say(kv_line(r.hash_key, sk, value_or_none, escape_all=self.escape_all))
        if kvs:
            self.note()
        self.note(fetch_summary(len(kvs), complete))
        self._info(r.hash_key)
        return True

    def cmd_multi_del_range(self, args: list[bytes]) -> bool:
        a = parse_multi_del_range(args)
        r = a.range
        self._echo_range(
            r.hash_key, r.start_sort_key, r.stop_sort_key, r.start_inclusive, r.stop_inclusive
        )
        self._echo_filter("sort_key", r.sort_key_filter)
        self.note(f"silent: {_bool(a.silent)}")
        self.note()
        options = ScanOptions(
            batch_size=SCAN_BATCH_SIZE,
            start_inclusive=r.start_inclusive,
            stop_inclusive=r.stop_inclusive,
            sort_key_filter_type=r.sort_key_filter.server_type,
            sort_key_filter_pattern=r.sort_key_filter.pattern,
            no_value=True,
        )
        deleted = 0
        with self._output(a.output) as write:
            items = self.table.scan(r.hash_key, r.start_sort_key, r.stop_sort_key, options)
            try:
                for chunk in _chunks(items, DEL_RANGE_BATCH):
                    keys = [item.sort_key for item in chunk]
                    self.table.multi_del(r.hash_key, keys)
                    deleted += len(keys)
                    if not a.silent:
                        for sk in keys:
                            write(f"Deleted: {self.q(sk)}")
            except PegasusError as e:
                self.error(str(e))
                self.note(f"\nTerminated for error, {deleted} sort keys deleted.")
                return False
            finally:
                _close(items)
        if a.output is None and not a.silent and deleted:
            self.note()
        self.say(f"OK, {deleted} sort keys deleted.")
        return True

    # ---- atomic writes -------------------------------------------------------------------

    def _echo_check(self, c: CheckArgs) -> None:
        self.note(f"hash_key: {quoted(c.hash_key)}")
        self.note(f"check_sort_key: {quoted(c.check_sort_key)}")
        self.note(f"check_type: {c.check_type_name}")
        if operand_needed(c.check_type):
            self.note(f"check_operand: {quoted(c.check_operand)}")

    def _check_result(
        self, what: str, succeed: bool, returned: bool, exist: bool, value: bytes
    ) -> None:
        self.say(f"{what} succeed." if succeed else f"{what} failed, because check not passed.")
        if returned:
            self.say()
            self.say(f"Check value: {self.q(value)}" if exist else "Check value not exist.")

    def cmd_check_and_set(self, args: list[bytes]) -> bool:
        a = parse_check_and_set(args)
        c = a.check
        self._echo_check(c)
        self.note(f"set_sort_key: {quoted(a.set_sort_key)}")
        self.note(f"set_value: {quoted(a.set_value)}")
        self.note(f"set_value_ttl_seconds: {a.ttl_seconds}")
        self.note(f"return_check_value: {_bool(c.return_check_value)}")
        self.note()
        result = self.table.check_and_set(
            c.hash_key,
            c.check_sort_key,
            c.check_type,
            c.check_operand,
            a.set_sort_key,
            a.set_value,
            ttl_seconds=a.ttl_seconds,
            return_check_value=c.return_check_value,
        )
        self._check_result(
            "Set",
            result.set_succeed,
            result.check_value_returned,
            result.check_value_exist,
            result.check_value,
        )
        self._info(c.hash_key)
        return True

    def _load_mutations(self) -> list[Mutation] | None:
        """Upstream's interactive loading: one mutation a line until ``ok`` (None on
        ``abort`` or end of input)."""
        if self._read_line is None:
            raise UsageError("no mutations given: pass -m 'set <sort_key> <value> [ttl]' ...")
        self.note("Load mutations, like")
        self.note("  set <sort_key> <value> [ttl]")
        self.note("  del <sort_key>")
        self.note('Print "ok" to finish loading, "abort" to abort this command')
        mutations: list[Mutation] = []
        for _ in range(MUTATION_LINES_MAX):
            line = self._read_line(">>> ")
            word = (line or "").strip()
            if line is None or word == MUTATIONS_ABORT:
                self.note("INFO: abort loading")
                return None
            if word == MUTATIONS_DONE:
                self.note("INFO: load mutations done.")
                self.note()
                return mutations
            try:
                mutation = parse_mutation_line(line)
            except UsageError as e:
                self.error(f'{e}; print "ok" to finish loading, "abort" to abort this command')
                continue
            if mutation is not None:
                mutations.append(mutation)
                self.note(_load_line(mutation, self.escape_all))
        raise UsageError(f"more than {MUTATION_LINES_MAX} mutation lines")

    def cmd_check_and_mutate(self, args: list[bytes]) -> bool:
        a = parse_check_and_mutate(args)
        c = a.check
        mutations = a.mutations
        if mutations is None:
            mutations = self._load_mutations()
            if mutations is None:
                self.note("INFO: abort check_and_mutate command")
                return False
        if not mutations:
            raise UsageError("mutations not provided")
        self._echo_check(c)
        self.note(f"return_check_value: {_bool(c.return_check_value)}")
        self.note("mutations:")
        for i, mu in enumerate(mutations):
            for line in _mutation_lines(i, mu):
                self.note(line)
        self.note()
        result = self.table.check_and_mutate(
            c.hash_key,
            c.check_sort_key,
            c.check_type,
            c.check_operand,
            mutations,
            return_check_value=c.return_check_value,
        )
        self._check_result(
            "Mutate",
            result.set_succeed,
            result.check_value_returned,
            result.check_value_exist,
            result.check_value,
        )
        self._info(c.hash_key)
        return True

    # ---- scans ---------------------------------------------------------------------------

    @contextmanager
    def _output(self, path: str | None) -> Iterator[Callable[[str], None]]:
        """Where rows go: ``out``, or the file of ``-o``."""
        if path is None:
            yield self.say
            return
        with open(path, "w", encoding="utf-8") as f:
            yield lambda line: print(line, file=f)

    def cmd_hash_scan(self, args: list[bytes]) -> bool:
        a = parse_hash_scan(args, timeout_ms=self.timeout_ms)
        r = a.range
        self._echo_range(
            r.hash_key, r.start_sort_key, r.stop_sort_key, r.start_inclusive, r.stop_inclusive
        )
        self._echo_filter("sort_key", r.sort_key_filter)
        self._echo_filter("value", a.value_filter)
        self._echo_scan_flags(a.max_count, a.timeout_ms, a.detailed, a.no_value)
        options = ScanOptions(
            batch_size=SCAN_BATCH_SIZE,
            start_inclusive=r.start_inclusive,
            stop_inclusive=r.stop_inclusive,
            sort_key_filter_type=r.sort_key_filter.server_type,
            sort_key_filter_pattern=r.sort_key_filter.pattern,
            no_value=a.no_value,
        )
        detail = self._partition_detail(self._where(r.hash_key).partition_index)
        count = 0
        with self._output(a.output) as write:
            items = self.table.scan(r.hash_key, r.start_sort_key, r.stop_sort_key, options)
            try:
                for item in items:
                    if 0 < a.max_count <= count:
                        break
                    if not a.value_filter.matches(item.value):
                        continue
                    value = None if a.no_value else item.value
                    write(
                        self._row(item.hash_key, item.sort_key, value, detail if a.detailed else "")
                    )
                    count += 1
            finally:
                _close(items)
        self._scan_summary(count, a.output)
        return True

    def _echo_scan_flags(
        self, max_count: int, timeout_ms: int, detailed: bool, no_value: bool
    ) -> None:
        self.note(f"max_count: {max_count}")
        self.note(f"timeout_ms: {timeout_ms}")
        self.note(f"detailed: {_bool(detailed)}")
        self.note(f"no_value: {_bool(no_value)}")
        self.note()

    def _row(self, hash_key: bytes, sort_key: bytes, value: bytes | None, detail: str) -> str:
        return kv_line(hash_key, sort_key, value, escape_all=self.escape_all, detail=detail)

    def _scan_summary(self, count: int, output: str | None) -> None:
        if output is None and count:
            self.note()
        self.note(f"{count} key-value pairs got.")

    def cmd_full_scan(self, args: list[bytes]) -> bool:
        a = parse_full_scan(args, timeout_ms=self.timeout_ms)
        f = a.filters
        self.note(f"partition: {a.partition if a.partition >= 0 else 'all'}")
        self._echo_filter("hash_key", f.hash_key)
        self._echo_filter("sort_key", f.sort_key)
        self._echo_filter("value", f.value)
        self._echo_scan_flags(a.max_count, a.timeout_ms, a.detailed, a.no_value)
        options = bulk.scan_options(f, no_value=a.no_value, batch_size=SCAN_BATCH_SIZE)
        scanners = self.client.partition_scanners(self.table_name, options)
        if a.partition >= len(scanners):
            raise CommandError(
                f"partition {a.partition} out of range, should be in range of "
                f"[0,{len(scanners) - 1}]"
            )
        count = 0
        with self._output(a.output) as write:
            for index, scanner in enumerate(scanners):
                if a.partition >= 0 and index != a.partition:
                    continue
                detail = self._partition_detail(index) if a.detailed else ""
                left = a.max_count - count if a.max_count > 0 else 0
                count += self._scan_partition(scanner, a, detail, write, left)
                if 0 < a.max_count <= count:
                    break
        self._scan_summary(count, a.output)
        return True

    def _scan_partition(
        self,
        scanner: Scanner,
        a: FullScanArgs,
        detail: str,
        write: Callable[[str], None],
        left: int,
    ) -> int:
        """Print the rows of one partition's scanner, at most ``left`` when positive."""
        count = 0
        batches = self.client.batches(scanner)
        try:
            for batch in batches:
                for item in batch:
                    if not a.filters.keep(item.sort_key, item.value):
                        continue
                    value = None if a.no_value else item.value
                    write(self._row(item.hash_key, item.sort_key, value, detail))
                    count += 1
                    if left > 0 and count == left:
                        return count
        finally:
            _close(batches)
        return count

    # ---- bulk ----------------------------------------------------------------------------

    def _echo_bulk(self, b: BulkArgs) -> None:
        self.note(f"INFO: partition = {b.partition if b.partition >= 0 else 'all'}")
        self.note(f"INFO: max_batch_count = {b.max_batch_count}")
        self.note(f"INFO: timeout_ms = {b.timeout_ms}")
        for what, f in (
            ("hash_key", b.filters.hash_key),
            ("sort_key", b.filters.sort_key),
            ("value", b.filters.value),
        ):
            self._echo_filter(what, f, prefix="INFO: ", sep=" = ")

    def _open_splits(self, b: BulkArgs, options: ScanOptions) -> tuple[bulk.Job, list[Scanner]]:
        scanners = self.client.partition_scanners(self.table_name, options)
        self.note(f"INFO: open app scanner succeed, partition_count = {len(scanners)}")
        if b.partition >= 0:
            if b.partition >= len(scanners):
                raise CommandError(
                    f"partition {b.partition} out of range, should be in range of "
                    f"[0,{len(scanners) - 1}]"
                )
            indexes = [b.partition]
        else:
            indexes = list(range(len(scanners)))
        self.note(f"INFO: prepare scanners succeed, split_count = {len(indexes)}")
        job = bulk.Job([bulk.Split(i) for i in indexes])
        return job, [scanners[i] for i in indexes]

    def _run_job(
        self,
        job: bulk.Job,
        scanners: list[Scanner],
        work: Callable[[bulk.Split, Scanner], Awaitable[None]],
        *,
        desc: str,
        time_limit_s: float = 0.0,
        hash_keys: bool = False,
    ) -> bool:
        """Run a bulk job with progress; False when the time limit stopped it."""
        progress = make_progress(job, desc=desc, stream=self.err, hash_keys=hash_keys)
        try:
            finished, _ = self.client.run_job(
                bulk.run_splits(job, scanners, work), tick=progress.tick, time_limit_s=time_limit_s
            )
        finally:
            progress.close()
        return finished

    def _split_report(self, job: bulk.Job, *, hash_keys: bool = False) -> None:
        for s in job.splits:
            keys = f" ({s.hash_keys} hash keys)" if hash_keys else ""
            self.note(f"INFO: split[{s.index}]: {s.rows} rows{keys}")

    def cmd_count_data(self, args: list[bytes]) -> bool:
        a = parse_count_data(args, timeout_ms=self.timeout_ms)
        b, f = a.bulk, a.bulk.filters
        self.note(f"INFO: app_name = {self.table_name}")
        self._echo_bulk(b)
        self.note(f"INFO: diff_hash_key = {_bool(a.diff_hash_key)}")
        self.note(f"INFO: stat_size = {_bool(a.stat_size)}")
        self.note(f"INFO: top_count = {a.top_count}")
        self.note(f"INFO: run_seconds = {a.run_seconds}")
        need_rows = a.diff_hash_key or a.stat_size or f.value.active or f.sort_key.kind == "exact"
        if not need_rows:
            self.note("INFO: scanner only return kv count, not return value")
        options = bulk.scan_options(
            f,
            no_value=not (a.stat_size or f.value.active),
            batch_size=SCAN_BATCH_SIZE,
            only_return_count=not need_rows,
        )
        job, scanners = self._open_splits(b, options)
        stats = bulk.SizeStats(top_count=a.top_count) if a.stat_size else None
        work = bulk.count_worker(f, diff_hash_key=a.diff_hash_key, stats=stats)
        finished = self._run_job(
            job,
            scanners,
            work,
            desc="count_data",
            time_limit_s=a.run_seconds,
            hash_keys=a.diff_hash_key,
        )
        if not finished:
            self.note("INFO: reached run seconds, terminate processing")
        elif job.error:
            self.error(job.error)
        self._split_report(job, hash_keys=a.diff_hash_key)
        if job.error:
            how = "terminated as error occurred"
        else:
            how = "done" if finished else "terminated as run time used out"
        keys = f" ({job.hash_keys} hash keys)" if a.diff_hash_key else ""
        self.say(f"Count {how}, total {job.rows} rows.{keys}")
        if stats is not None:
            self._size_report(stats)
        return job.error is None

    def _size_report(self, stats: bulk.SizeStats) -> None:
        for name, h in (
            ("hash_key_size", stats.hash_key),
            ("sort_key_size", stats.sort_key),
            ("value_size", stats.value),
            ("row_size", stats.row),
        ):
            self.say(f"[{name}] {h.summary()}")
        for i, (size, hk, sk) in enumerate(stats.largest(), start=1):
            self.say(f"[top][{i}].hash_key = {self.q(hk)}")
            self.say(f"[top][{i}].sort_key = {self.q(sk)}")
            self.say(f"[top][{i}].row_size = {size}")

    def cmd_copy_data(self, args: list[bytes]) -> bool:
        a = parse_copy_data(args, timeout_ms=self.timeout_ms)
        b = a.bulk
        self.note(f"INFO: source_cluster_meta = {','.join(self.client.metas)}")
        self.note(f"INFO: source_app_name = {self.table_name}")
        self.note(f"INFO: target_cluster_meta = {','.join(a.target_metas)}")
        self.note(f"INFO: target_app_name = {a.target_table}")
        if a.use_multi_set:
            self.note(
                "INFO: copy use multi_set, max_multi_set_concurrency = "
                f"{a.max_multi_set_concurrency}"
            )
        self._echo_bulk(b)
        self.note(f"INFO: no_overwrite = {_bool(a.no_overwrite)}")
        self.note(f"INFO: no_value = {_bool(a.no_value)}")
        self.note(f"INFO: no_ttl = {_bool(a.no_ttl)}")
        if a.target_table == self.table_name and sorted(a.target_metas) == sorted(
            self.client.metas
        ):
            raise CommandError("source and target are the same table")
        target = self.client.remote_table(a.target_metas, a.target_table)
        self.note("INFO: open target app succeed")
        if a.use_multi_set:
            self.note(
                "WARN: multi_set gives every record of one call the same ttl: the longest of them"
            )
        options = bulk.scan_options(
            b.filters,
            no_value=a.no_value,
            batch_size=a.scan_batch_size,
            return_expire_ts=not a.no_ttl,
        )
        job, scanners = self._open_splits(b, options)
        work = bulk.copy_worker(
            target,
            b.filters,
            max_batch_count=b.max_batch_count,
            max_multi_set_concurrency=a.max_multi_set_concurrency,
            no_overwrite=a.no_overwrite,
            use_multi_set=a.use_multi_set,
        )
        self._run_job(job, scanners, work, desc="copy_data")
        return self._bulk_done("Copy", job)

    def _bulk_done(self, what: str, job: bulk.Job) -> bool:
        if job.error:
            self.error(job.error)
            self.error("error occurred, processing terminated")
        self._split_report(job)
        self.say(f"{what} {'terminated' if job.error else 'done'}, total {job.rows} rows.")
        return job.error is None

    def cmd_clear_data(self, args: list[bytes]) -> bool:
        a = parse_clear_data(args, timeout_ms=self.timeout_ms)
        b = a.bulk
        self.note(f"INFO: app_name = {self.table_name}")
        self._echo_bulk(b)
        self.note(f"INFO: force = {_bool(a.force)}")
        if not a.force:
            raise UsageError(
                "be careful to clear data!!! Please specify --force if you are determined to do."
            )
        options = bulk.scan_options(
            b.filters, no_value=not b.filters.value.active, batch_size=SCAN_BATCH_SIZE
        )
        job, scanners = self._open_splits(b, options)
        work = bulk.clear_worker(
            self.client.async_table(self.table_name), b.filters, max_batch_count=b.max_batch_count
        )
        self._run_job(job, scanners, work, desc="clear_data")
        return self._bulk_done("Clear", job)


# ---- helpers ---------------------------------------------------------------------------


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _close(it: Iterator[object]) -> None:
    """Close a generator early (its ``finally`` closes the scanner behind it)."""
    close = getattr(it, "close", None)
    if callable(close):
        close()


def _chunks(items: Iterator[ScanItem], size: int) -> Iterator[list[ScanItem]]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def _load_line(m: Mutation, escape_all: bool) -> str:
    sk = quoted(m.sort_key, escape_all=escape_all)
    if m.value is None:
        return f"LOAD: del sortkey {sk}"
    value = quoted(m.value, escape_all=escape_all)
    return f"LOAD: set sortkey {sk}, value {value}, ttl {m.ttl_seconds}"


def _mutation_lines(i: int, m: Mutation) -> list[str]:
    if m.value is None:
        return [f"  mutation[{i}].type: DEL", f"  mutation[{i}].sort_key: {quoted(m.sort_key)}"]
    return [
        f"  mutation[{i}].type: SET",
        f"  mutation[{i}].sort_key: {quoted(m.sort_key)}",
        f"  mutation[{i}].value: {quoted(m.value)}",
        f"  mutation[{i}].expire_seconds: {m.ttl_seconds}",
    ]
