"""Upstream's per-replica remote commands (``replica.query-compact``,
``replica.query-app-envs``, ...): which replicas an argument names, and the report;
``replica.kill_partition``'s own argument rule (``killed``).

As upstream's ``replica_stub::exec_command_on_replica``: the arguments are
comma-separated ``app_id`` or ``app_id.partition_index`` (none: every replica); only
primaries and secondaries answer; a named ``app_id.partition_index`` that does not is
"not found". The report is ``N processed, M not found`` and then a line per replica,
``    <app>.<index>@<this server>@P|S : <its answer>`` (no role for one not found), in
gpid order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from pegasus_log.rpc.admin import PartitionStatus
from pegasus_log.rpc.error_code import ErrorCode

INVALID_ARGUMENTS = "invalid arguments"

Gpid = tuple[int, int]


def chosen(
    args: Sequence[str], statuses: Mapping[Gpid, int]
) -> tuple[list[Gpid], list[Gpid]] | str:
    """(the replicas the arguments name that serve, the gpids named one by one), or
    ``INVALID_ARGUMENTS``."""
    if not args:
        return sorted(g for g, s in statuses.items() if _serves(s)), []
    picked: set[Gpid] = set()
    required: list[Gpid] = []
    for arg in args:
        for part in arg.split(","):
            if not part:
                continue
            app, dot, index = part.partition(".")
            if not _is_int(app) or (dot and not _is_int(index)):
                return INVALID_ARGUMENTS
            if dot:
                gpid = (int(app), int(index))
                required.append(gpid)
                if _serves(statuses.get(gpid, PartitionStatus.PS_INACTIVE)):
                    picked.add(gpid)
            else:
                picked.update(g for g, s in statuses.items() if g[0] == int(app) and _serves(s))
    return sorted(picked), required


def report(
    args: Sequence[str],
    statuses: Mapping[Gpid, int],
    *,
    address: str,
    answer: Callable[[Gpid], str],
) -> str:
    """The command's whole output: ``answer(gpid)`` for every replica named that serves."""
    picked = chosen(args, statuses)
    if isinstance(picked, str):
        return picked
    serving, required = picked
    lines = {g: f"{address}@{_role(statuses[g])} : {answer(g)}" for g in serving}
    missing = [g for g in dict.fromkeys(required) if g not in lines]
    for g in missing:
        lines[g] = f"{address} : not found"
    out = [f"{len(serving)} processed, {len(missing)} not found"]
    out += [f"    {g[0]}.{g[1]}@{lines[g]}" for g in sorted(lines)]
    return "\n".join(out)


def killed(args: Sequence[str], hosted: Iterable[Gpid]) -> list[Gpid] | ErrorCode:
    """The replicas ``replica.kill_partition [app_id [partition_index]]`` names, as
    upstream's ``on_kill_replica``: none given, every replica; an app id, its replicas;
    both, that one replica (ERR_OBJECT_NOT_FOUND when not hosted); more, or a number
    that is not one, ERR_INVALID_PARAMETERS. Upstream reads the numbers with ``atoi``;
    ours refuses what is not a number."""
    if len(args) > 2 or not all(_is_int(a) for a in args):
        return ErrorCode.ERR_INVALID_PARAMETERS
    ids = [int(a) for a in args]
    every = sorted(hosted)
    if not ids or ids[0] == -1:
        return every
    if len(ids) == 1 or ids[1] == -1:
        return [g for g in every if g[0] == ids[0]]
    gpid = (ids[0], ids[1])
    return [gpid] if gpid in every else ErrorCode.ERR_OBJECT_NOT_FOUND


def _serves(status: int) -> bool:
    return status in (PartitionStatus.PS_PRIMARY, PartitionStatus.PS_SECONDARY)


def _role(status: int) -> str:
    return "P" if status == PartitionStatus.PS_PRIMARY else "S"


def _is_int(text: str) -> bool:
    return text.lstrip("-").isdigit() and text.count("-") <= 1
