"""Configuration updates proposed by replicas (RPC_CM_UPDATE_PARTITION_CONFIGURATION).

A primary proposes the partition's next configuration with ballot + 1 (add a learned
secondary, remove a failed one, downgrade itself for a balancer move). The meta accepts
it only if its ballot is exactly the stored ballot + 1 — so of two proposers working from
the same configuration only the first wins, and a deposed primary (whose ballot is behind)
never does — and a repeat of the configuration already stored is answered OK without a
new write (the proposer's first answer was lost). ``last_drops`` is kept by the meta: a
node leaving the group is appended, a node joining is removed.

Pure: the stored configuration and the request in, the verdict out.
"""

from __future__ import annotations

from dataclasses import replace

from pegasus_log.frozen import frozen
from pegasus_log.meta.core.guardian import LAST_DROPS_MAX, members
from pegasus_log.rpc.admin import ConfigType
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import RpcAddress

# Types after which ``node`` is no longer a member, and types after which it is one.
LEAVING = frozenset(
    {
        ConfigType.CT_DOWNGRADE_TO_INACTIVE,
        ConfigType.CT_REMOVE,
    }
)
JOINING = frozenset(
    {
        ConfigType.CT_ASSIGN_PRIMARY,
        ConfigType.CT_UPGRADE_TO_PRIMARY,
        ConfigType.CT_UPGRADE_TO_SECONDARY,
        ConfigType.CT_ADD_SECONDARY,
        ConfigType.CT_ADD_SECONDARY_FOR_LB,
    }
)
ACCEPTED_TYPES = (
    LEAVING
    | JOINING
    | {
        ConfigType.CT_DOWNGRADE_TO_SECONDARY,
        ConfigType.CT_PRIMARY_FORCE_UPDATE_BALLOT,
    }
)


@frozen
class Verdict:
    err: ErrorCode
    config: PartitionConfiguration  # what to store (new) or what is stored (refused)
    changed: bool


def _same(a: PartitionConfiguration, b: PartitionConfiguration) -> bool:
    return (
        a.ballot == b.ballot
        and a.primary == b.primary
        and list(a.secondaries) == list(b.secondaries)
    )


def accept(
    stored: PartitionConfiguration,
    proposed: PartitionConfiguration,
    *,
    type: ConfigType,
    node: RpcAddress,
) -> Verdict:
    if _same(stored, proposed):
        return Verdict(ErrorCode.ERR_OK, stored, changed=False)
    if proposed.ballot != stored.ballot + 1:
        return Verdict(ErrorCode.ERR_INVALID_VERSION, stored, changed=False)
    if type not in ACCEPTED_TYPES:
        return Verdict(ErrorCode.ERR_INVALID_PARAMETERS, stored, changed=False)
    group = members(proposed)
    if len(group) != len(set(group)) or len(group) > max(stored.max_replica_count, 1) + 1:
        return Verdict(ErrorCode.ERR_INVALID_PARAMETERS, stored, changed=False)
    if type in LEAVING and node in group:
        return Verdict(ErrorCode.ERR_INVALID_PARAMETERS, stored, changed=False)
    if type in JOINING and node not in group:
        return Verdict(ErrorCode.ERR_INVALID_PARAMETERS, stored, changed=False)
    drops = [d for d in stored.last_drops if d not in group]
    if type in LEAVING and not node.is_invalid:
        drops = [d for d in drops if d != node] + [node]
    new = replace(
        stored,
        ballot=proposed.ballot,
        primary=proposed.primary,
        secondaries=list(proposed.secondaries),
        last_drops=drops[-LAST_DROPS_MAX:],
        last_committed_decree=max(stored.last_committed_decree, proposed.last_committed_decree),
    )
    return Verdict(ErrorCode.ERR_OK, new, changed=True)
