"""Pure parsers turning the arguments of the shell's commands into typed requests.

Parsers take the arguments after the command name (bytes, as ``escaping.split_args``
returns them) and raise ``UsageError`` for anything upstream would refuse. Nothing here
touches the network or the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

from pegasus_log.client.aio import MultiGetOptions, Mutation
from pegasus_log.frozen import frozen
from pegasus_log.rpc.messages import CasCheckType, FilterType
from pegasus_log.rpc.thrift import RpcAddress
from pegasus_log.shell.shell.escaping import ArgSyntaxError, split_args
from pegasus_log.shell.shell.flags import (
    INT64_MAX,
    Flag,
    Parsed,
    UsageError,
    expect_count,
    parse_bool,
    parse_flags,
    parse_int,
    text,
)

# Upstream's defaults for the bulk commands: at most this many requests in flight per
# split (partition), and the scanner batch size of copy_data.
DEFAULT_MAX_BATCH_COUNT = 500
DEFAULT_MAX_MULTI_SET_CONCURRENCY = 20
DEFAULT_SCAN_BATCH_SIZE = 1000
# Bound on the shell's own read/write timeout, like upstream's int32 milliseconds.
TIMEOUT_MS_MAX = 3_600_000


# ---- shared argument types -------------------------------------------------------------

_FILTER_NAMES = {
    "anywhere": FilterType.FT_MATCH_ANYWHERE,
    "prefix": FilterType.FT_MATCH_PREFIX,
    "postfix": FilterType.FT_MATCH_POSTFIX,
}
NO_FILTER = "no_filter"
EXACT = "exact"


@frozen
class Filter:
    """A key or value filter: ``kind`` is no_filter, anywhere, prefix, postfix or exact
    (exact is the shell's own: the server matches a prefix, the shell checks the length)."""

    kind: str = NO_FILTER
    pattern: bytes = b""

    @property
    def active(self) -> bool:
        return self.kind != NO_FILTER

    @property
    def server_type(self) -> FilterType:
        if self.kind == EXACT:
            return FilterType.FT_MATCH_PREFIX
        return _FILTER_NAMES.get(self.kind, FilterType.FT_NO_FILTER)

    def matches(self, data: bytes) -> bool:
        """Upstream's ``validate_filter``."""
        if self.kind == NO_FILTER:
            return True
        if self.kind == EXACT:
            return data == self.pattern
        if not self.pattern:
            return True
        if self.kind == "anywhere":
            return self.pattern in data
        if self.kind == "prefix":
            return data.startswith(self.pattern)
        return data.endswith(self.pattern)


def _filter(parsed: Parsed, type_flag: str, pattern_flag: str, *, exact: bool) -> Filter:
    raw = parsed.last(type_flag)
    if raw is None:
        return Filter()
    kind = raw.decode("latin-1")
    if kind not in _FILTER_NAMES and not (exact and kind == EXACT):
        raise UsageError(f"invalid {type_flag} param {text(raw)!r}")
    return Filter(kind, parsed.last(pattern_flag) or b"")


@frozen
class ScanFilters:
    hash_key: Filter = Filter()
    sort_key: Filter = Filter()
    value: Filter = Filter()

    def keep(self, sort_key: bytes, value: bytes) -> bool:
        """The shell-side half of the filters (upstream's ``validate_filter`` on a row):
        exact sort keys (the server matched the prefix) and every value filter."""
        if self.sort_key.kind == EXACT and len(sort_key) > len(self.sort_key.pattern):
            return False
        return self.value.matches(value)


_FILTER_FLAGS = (
    Flag("h", "hash_key_filter_type"),
    Flag("x", "hash_key_filter_pattern"),
    Flag("s", "sort_key_filter_type"),
    Flag("y", "sort_key_filter_pattern"),
    Flag("v", "value_filter_type"),
    Flag("z", "value_filter_pattern"),
)


def _scan_filters(parsed: Parsed) -> ScanFilters:
    return ScanFilters(
        hash_key=_filter(parsed, "hash_key_filter_type", "hash_key_filter_pattern", exact=False),
        sort_key=_filter(parsed, "sort_key_filter_type", "sort_key_filter_pattern", exact=True),
        value=_filter(parsed, "value_filter_type", "value_filter_pattern", exact=True),
    )


def _no_extra(parsed: Parsed) -> None:
    if parsed.positional:
        extra = " ".join(text(a) for a in parsed.positional)
        raise UsageError(f"unexpected argument(s): {extra}")


def _partition(parsed: Parsed) -> int:
    raw = parsed.last("partition")
    if raw is None:
        return -1
    return parse_int("partition", raw, lo=0)


def _timeout_ms(parsed: Parsed, default: int) -> int:
    raw = parsed.last("timeout_ms")
    if raw is None:
        return default
    return parse_int("timeout_ms", raw, lo=1, hi=TIMEOUT_MS_MAX)


def _max_batch_count(parsed: Parsed) -> int:
    raw = parsed.last("max_batch_count")
    if raw is None:
        return DEFAULT_MAX_BATCH_COUNT
    value = parse_int("max_batch_count", raw)
    if value <= 1:
        raise UsageError("max_batch_count should be greater than 1")
    return value


def _max_count(parsed: Parsed) -> int:
    raw = parsed.last("max_count")
    return -1 if raw is None else parse_int("max_count", raw)


# ---- shell state commands --------------------------------------------------------------


def parse_meta_list(raw: bytes) -> list[str]:
    """``host:port,host:port``; UsageError for anything else."""
    metas = [m.strip() for m in raw.decode("latin-1").split(",") if m.strip()]
    if not metas:
        raise UsageError("no meta server address given")
    for m in metas:
        try:
            RpcAddress.parse(m)
        except ValueError as e:
            raise UsageError(str(e)) from None
    return metas


def parse_optional_bool(args: Sequence[bytes], name: str) -> bool | None:
    expect_count(args, lo=0, hi=1)
    return parse_bool(name, args[0]) if args else None


def parse_timeout(args: Sequence[bytes]) -> int | None:
    expect_count(args, lo=0, hi=1)
    if not args:
        return None
    return parse_int("timeout", args[0], lo=1, hi=TIMEOUT_MS_MAX)


# ---- single keys -----------------------------------------------------------------------


@frozen
class KeyArgs:
    hash_key: bytes
    sort_key: bytes


def parse_key(args: Sequence[bytes]) -> KeyArgs:
    """get, del, exist, ttl, hash: ``<hash_key> <sort_key>``."""
    expect_count(args, lo=2, hi=2)
    return KeyArgs(args[0], args[1])


@frozen
class SetArgs:
    hash_key: bytes
    sort_key: bytes
    value: bytes
    ttl_seconds: int = 0


def parse_set(args: Sequence[bytes]) -> SetArgs:
    expect_count(args, lo=3, hi=4)
    ttl = 0
    if len(args) == 4:
        ttl = parse_int("ttl", args[3])
        if ttl <= 0:
            raise UsageError(f"invalid ttl {ttl}")
    return SetArgs(args[0], args[1], args[2], ttl)


@frozen
class IncrArgs:
    hash_key: bytes
    sort_key: bytes
    increment: int = 1


def parse_incr(args: Sequence[bytes]) -> IncrArgs:
    expect_count(args, lo=2, hi=3)
    inc = 1
    if len(args) == 3:
        inc = parse_int("increment", args[2], lo=-INT64_MAX - 1, hi=INT64_MAX)
    return IncrArgs(args[0], args[1], inc)


# ---- one hash key ----------------------------------------------------------------------


def parse_hash_key(args: Sequence[bytes]) -> bytes:
    """multi_get_sortkeys, count: ``<hash_key>``."""
    expect_count(args, lo=1, hi=1)
    return args[0]


@frozen
class MultiSetArgs:
    hash_key: bytes
    pairs: list[tuple[bytes, bytes]]


def parse_multi_set(args: Sequence[bytes]) -> MultiSetArgs:
    expect_count(args, lo=3)
    if len(args) % 2 == 0:
        raise UsageError("sort keys and values must come in pairs")
    pairs: dict[bytes, bytes] = {}
    for sk, value in zip(args[1::2], args[2::2], strict=True):
        if sk in pairs:
            raise UsageError(f"duplicate sort key {text(sk)!r}")
        pairs[sk] = value
    return MultiSetArgs(args[0], list(pairs.items()))


@frozen
class MultiKeysArgs:
    hash_key: bytes
    sort_keys: list[bytes]  # sorted, distinct (upstream keeps them in a std::set)


def parse_multi_get(args: Sequence[bytes]) -> MultiKeysArgs:
    expect_count(args, lo=1)
    return MultiKeysArgs(args[0], sorted(set(args[1:])))


def parse_multi_del(args: Sequence[bytes]) -> MultiKeysArgs:
    expect_count(args, lo=2)
    return MultiKeysArgs(args[0], sorted(set(args[1:])))


_RANGE_FLAGS = (
    Flag("a", "start_inclusive"),
    Flag("b", "stop_inclusive"),
    Flag("s", "sort_key_filter_type"),
    Flag("y", "sort_key_filter_pattern"),
)


@frozen
class RangeArgs:
    hash_key: bytes
    start_sort_key: bytes
    stop_sort_key: bytes
    start_inclusive: bool = True
    stop_inclusive: bool = False
    sort_key_filter: Filter = Filter()


def _range(parsed: Parsed) -> RangeArgs:
    if len(parsed.positional) != 3:
        raise UsageError(
            f"expect <hash_key> <start_sort_key> <stop_sort_key>, got {len(parsed.positional)} "
            "argument(s)"
        )
    hk, start, stop = parsed.positional
    a, b = parsed.last("start_inclusive"), parsed.last("stop_inclusive")
    return RangeArgs(
        hk,
        start,
        stop,
        start_inclusive=True if a is None else parse_bool("start_inclusive", a),
        stop_inclusive=False if b is None else parse_bool("stop_inclusive", b),
        sort_key_filter=_filter(
            parsed, "sort_key_filter_type", "sort_key_filter_pattern", exact=False
        ),
    )


@frozen
class MultiGetRangeArgs:
    range: RangeArgs
    max_count: int
    no_value: bool
    reverse: bool

    @property
    def options(self) -> MultiGetOptions:
        r = self.range
        return MultiGetOptions(
            start_inclusive=r.start_inclusive,
            stop_inclusive=r.stop_inclusive,
            sort_key_filter_type=r.sort_key_filter.server_type,
            sort_key_filter_pattern=r.sort_key_filter.pattern,
            max_count=max(self.max_count, 0),
            no_value=self.no_value,
            reverse=self.reverse,
        )


def parse_multi_get_range(args: Sequence[bytes]) -> MultiGetRangeArgs:
    flags = (
        *_RANGE_FLAGS,
        Flag("n", "max_count"),
        Flag("i", "no_value", False),
        Flag("r", "reverse", False),
    )
    parsed = parse_flags(args, flags)
    return MultiGetRangeArgs(
        _range(parsed),
        max_count=_max_count(parsed),
        no_value=parsed.has("no_value"),
        reverse=parsed.has("reverse"),
    )


@frozen
class MultiDelRangeArgs:
    range: RangeArgs
    output: str | None
    silent: bool


def parse_multi_del_range(args: Sequence[bytes]) -> MultiDelRangeArgs:
    flags = (*_RANGE_FLAGS, Flag("o", "output"), Flag("i", "silent", False))
    parsed = parse_flags(args, flags)
    out = parsed.last("output")
    return MultiDelRangeArgs(
        _range(parsed), output=None if out is None else text(out), silent=parsed.has("silent")
    )


@frozen
class HashScanArgs:
    range: RangeArgs
    value_filter: Filter
    output: str | None
    max_count: int
    timeout_ms: int
    detailed: bool
    no_value: bool


def parse_hash_scan(args: Sequence[bytes], *, timeout_ms: int) -> HashScanArgs:
    flags = (
        *_RANGE_FLAGS,
        Flag("v", "value_filter_type"),
        Flag("z", "value_filter_pattern"),
        Flag("o", "output"),
        Flag("n", "max_count"),
        Flag("t", "timeout_ms"),
        Flag("d", "detailed", False),
        Flag("i", "no_value", False),
    )
    parsed = parse_flags(args, flags)
    value_filter = _filter(parsed, "value_filter_type", "value_filter_pattern", exact=True)
    no_value = parsed.has("no_value")
    if value_filter.active and no_value:
        raise UsageError("no_value should not be set when value_filter_type is set")
    out = parsed.last("output")
    return HashScanArgs(
        _range(parsed),
        value_filter=value_filter,
        output=None if out is None else text(out),
        max_count=_max_count(parsed),
        timeout_ms=_timeout_ms(parsed, timeout_ms),
        detailed=parsed.has("detailed"),
        no_value=no_value,
    )


@frozen
class FullScanArgs:
    filters: ScanFilters
    output: str | None
    max_count: int
    timeout_ms: int
    detailed: bool
    no_value: bool
    partition: int  # -1: all


def parse_full_scan(args: Sequence[bytes], *, timeout_ms: int) -> FullScanArgs:
    flags = (
        *_FILTER_FLAGS,
        Flag("o", "output"),
        Flag("n", "max_count"),
        Flag("t", "timeout_ms"),
        Flag("d", "detailed", False),
        Flag("i", "no_value", False),
        Flag("p", "partition"),
    )
    parsed = parse_flags(args, flags)
    _no_extra(parsed)
    filters = _scan_filters(parsed)
    no_value = parsed.has("no_value")
    if filters.value.active and no_value:
        raise UsageError("no_value should not be set when value_filter_type is set")
    out = parsed.last("output")
    return FullScanArgs(
        filters,
        output=None if out is None else text(out),
        max_count=_max_count(parsed),
        timeout_ms=_timeout_ms(parsed, timeout_ms),
        detailed=parsed.has("detailed"),
        no_value=no_value,
        partition=_partition(parsed),
    )


# ---- atomic writes ---------------------------------------------------------------------


def _check_type(raw: bytes) -> CasCheckType:
    name = raw.decode("latin-1")
    try:
        check = CasCheckType["CT_VALUE_" + name.upper()]
    except KeyError:
        raise UsageError(f"invalid check_type param {text(raw)!r}") from None
    return check


def operand_needed(check: CasCheckType) -> bool:
    return check >= CasCheckType.CT_VALUE_MATCH_ANYWHERE


@frozen
class CheckArgs:
    hash_key: bytes
    check_sort_key: bytes
    check_type: CasCheckType
    check_operand: bytes
    return_check_value: bool

    @property
    def check_type_name(self) -> str:
        return self.check_type.name.removeprefix("CT_VALUE_").lower()


_CHECK_FLAGS = (
    Flag("c", "check_sort_key"),
    Flag("t", "check_type"),
    Flag("o", "check_operand"),
    Flag("r", "return_check_value", False),
)


def _check(parsed: Parsed) -> CheckArgs:
    if len(parsed.positional) != 1:
        raise UsageError(f"expect one <hash_key>, got {len(parsed.positional)} argument(s)")
    sk = parsed.last("check_sort_key")
    if sk is None:
        raise UsageError("check_sort_key not provided")
    raw_type = parsed.last("check_type")
    if raw_type is None:
        raise UsageError("check_type not provided")
    check = _check_type(raw_type)
    operand = parsed.last("check_operand")
    if operand is None and operand_needed(check):
        raise UsageError("check_operand not provided")
    return CheckArgs(
        parsed.positional[0],
        sk,
        check,
        operand or b"",
        return_check_value=parsed.has("return_check_value"),
    )


@frozen
class CheckAndSetArgs:
    check: CheckArgs
    set_sort_key: bytes
    set_value: bytes
    ttl_seconds: int


def parse_check_and_set(args: Sequence[bytes]) -> CheckAndSetArgs:
    flags = (
        *_CHECK_FLAGS,
        Flag("s", "set_sort_key"),
        Flag("v", "set_value"),
        Flag("l", "set_value_ttl_seconds"),
    )
    parsed = parse_flags(args, flags)
    check = _check(parsed)
    set_sk, set_value = parsed.last("set_sort_key"), parsed.last("set_value")
    if set_sk is None:
        raise UsageError("set_sort_key not provided")
    if set_value is None:
        raise UsageError("set_value not provided")
    raw_ttl = parsed.last("set_value_ttl_seconds")
    ttl = 0 if raw_ttl is None else parse_int("set_value_ttl_seconds", raw_ttl, lo=0)
    return CheckAndSetArgs(check, set_sk, set_value, ttl)


@frozen
class CheckAndMutateArgs:
    check: CheckArgs
    mutations: list[Mutation] | None  # None: read them interactively, like upstream


def parse_check_and_mutate(args: Sequence[bytes]) -> CheckAndMutateArgs:
    parsed = parse_flags(args, (*_CHECK_FLAGS, Flag("m", "mutation")))
    check = _check(parsed)
    given = parsed.all("mutation")
    mutations = [parse_mutation_line(m.decode("utf-8", "surrogateescape")) for m in given]
    return CheckAndMutateArgs(check, [m for m in mutations if m is not None] if given else None)


MUTATIONS_DONE = "ok"
MUTATIONS_ABORT = "abort"


def parse_mutation_line(line: str) -> Mutation | None:
    """One mutation, ``set <sort_key> <value> [ttl]`` or ``del <sort_key>``, with the
    shell's quoting; None for a blank line."""
    try:
        words = split_args(line)
    except ArgSyntaxError as e:
        raise UsageError(f"invalid mutation {line!r}: {e}") from None
    if not words:
        return None
    op = words[0]
    if op == b"set" and len(words) in (3, 4):
        ttl = 0
        if len(words) == 4:
            ttl = parse_int("ttl", words[3])
            if ttl <= 0:
                raise UsageError(f"invalid ttl {ttl}")
        return Mutation(words[1], words[2], ttl)
    if op == b"del" and len(words) == 2:
        return Mutation(words[1], None)
    raise UsageError(
        f"invalid mutation {line!r}: expect 'set <sort_key> <value> [ttl]' or 'del <sort_key>'"
    )


# ---- bulk commands ---------------------------------------------------------------------

_BULK_FLAGS = (
    Flag("p", "partition"),
    Flag("b", "max_batch_count"),
    Flag("t", "timeout_ms"),
    *_FILTER_FLAGS,
)


@frozen
class BulkArgs:
    """What count_data, copy_data and clear_data share."""

    partition: int = -1
    max_batch_count: int = DEFAULT_MAX_BATCH_COUNT
    timeout_ms: int = 5000
    filters: ScanFilters = ScanFilters()


def _bulk(parsed: Parsed, timeout_ms: int) -> BulkArgs:
    _no_extra(parsed)
    return BulkArgs(
        partition=_partition(parsed),
        max_batch_count=_max_batch_count(parsed),
        timeout_ms=_timeout_ms(parsed, timeout_ms),
        filters=_scan_filters(parsed),
    )


@frozen
class CountDataArgs:
    bulk: BulkArgs
    precise: bool
    diff_hash_key: bool
    stat_size: bool
    top_count: int
    run_seconds: int


def parse_count_data(args: Sequence[bytes], *, timeout_ms: int) -> CountDataArgs:
    flags = (
        Flag("c", "precise", False),
        *_BULK_FLAGS,
        Flag("d", "diff_hash_key", False),
        Flag("a", "stat_size", False),
        Flag("n", "top_count"),
        Flag("r", "run_seconds"),
    )
    parsed = parse_flags(args, flags)
    raw_top, raw_run = parsed.last("top_count"), parsed.last("run_seconds")
    return CountDataArgs(
        _bulk(parsed, timeout_ms),
        precise=parsed.has("precise"),
        diff_hash_key=parsed.has("diff_hash_key"),
        stat_size=parsed.has("stat_size"),
        top_count=0 if raw_top is None else parse_int("top_count", raw_top, lo=0),
        run_seconds=0 if raw_run is None else parse_int("run_seconds", raw_run, lo=0),
    )


@frozen
class CopyDataArgs:
    bulk: BulkArgs
    target_metas: list[str]
    target_table: str
    max_multi_set_concurrency: int = DEFAULT_MAX_MULTI_SET_CONCURRENCY
    scan_batch_size: int = DEFAULT_SCAN_BATCH_SIZE
    no_ttl: bool = False
    no_overwrite: bool = False
    no_value: bool = False
    use_multi_set: bool = False


def parse_copy_data(args: Sequence[bytes], *, timeout_ms: int) -> CopyDataArgs:
    flags = (
        Flag("c", "target_cluster_meta"),
        Flag("a", "target_app_name"),
        *_BULK_FLAGS,
        Flag("m", "max_multi_set_concurrency"),
        Flag("o", "scan_option_batch_size"),
        Flag("e", "no_ttl", False),
        Flag("n", "no_overwrite", False),
        Flag("i", "no_value", False),
        Flag("g", "geo_data", False),
        Flag("u", "use_multi_set", False),
    )
    parsed = parse_flags(args, flags)
    bulk = _bulk(parsed, timeout_ms)
    raw_metas, raw_table = parsed.last("target_cluster_meta"), parsed.last("target_app_name")
    if raw_metas is None:
        raise UsageError("target_cluster_meta not specified")
    if not raw_table:
        raise UsageError("target_app_name not specified")
    if parsed.has("geo_data"):
        raise UsageError("geo_data is not supported: pegasus-log has no geo client")
    raw_conc, raw_batch = (
        parsed.last("max_multi_set_concurrency"),
        parsed.last("scan_option_batch_size"),
    )
    conc = DEFAULT_MAX_MULTI_SET_CONCURRENCY
    if raw_conc is not None:
        conc = parse_int("max_multi_set_concurrency", raw_conc, lo=1)
    batch = DEFAULT_SCAN_BATCH_SIZE
    if raw_batch is not None:
        batch = parse_int("scan_option_batch_size", raw_batch, lo=1)
    no_value = parsed.has("no_value")
    if bulk.filters.value.active and no_value:
        raise UsageError("no_value should not be set when value_filter_type is set")
    use_multi_set, no_overwrite = parsed.has("use_multi_set"), parsed.has("no_overwrite")
    if use_multi_set and no_overwrite:
        raise UsageError("copy with multi_set does not support no_overwrite")
    return CopyDataArgs(
        bulk,
        target_metas=parse_meta_list(raw_metas),
        target_table=text(raw_table),
        max_multi_set_concurrency=conc,
        scan_batch_size=batch,
        no_ttl=parsed.has("no_ttl"),
        no_overwrite=no_overwrite,
        no_value=no_value,
        use_multi_set=use_multi_set,
    )


@frozen
class ClearDataArgs:
    bulk: BulkArgs
    force: bool


def parse_clear_data(args: Sequence[bytes], *, timeout_ms: int) -> ClearDataArgs:
    parsed = parse_flags(args, (*_BULK_FLAGS, Flag("f", "force", False)))
    return ClearDataArgs(_bulk(parsed, timeout_ms), force=parsed.has("force"))


# ---- offline helpers -------------------------------------------------------------------


def parse_hex(args: Sequence[bytes]) -> bytes:
    expect_count(args, lo=1, hi=1)
    raw = args[0].decode("latin-1")
    raw = raw[2:] if raw[:2] in ("0x", "0X") else raw
    try:
        return bytes.fromhex(raw)
    except ValueError:
        raise UsageError(f"{raw!r} is not hex") from None
