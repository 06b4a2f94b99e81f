"""The meta's acceptance of configurations proposed by primaries."""

from __future__ import annotations

from dataclasses import replace

from pegasus_log.meta.core.reconfig import accept
from pegasus_log.rpc.admin import ConfigType
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress

A, B, C = (RpcAddress("127.0.0.1", 34801 + i) for i in range(3))
STORED = PartitionConfiguration(
    pid=Gpid(1, 0), ballot=4, max_replica_count=3, primary=A, secondaries=[B], last_drops=[C]
)


def test_learned_secondary_joins_and_leaves_last_drops() -> None:
    proposed = replace(STORED, ballot=5, secondaries=[B, C])
    v = accept(STORED, proposed, type=ConfigType.CT_UPGRADE_TO_SECONDARY, node=C)
    assert v.err == ErrorCode.ERR_OK and v.changed
    assert v.config.secondaries == [B, C] and v.config.last_drops == []


def test_removed_secondary_goes_to_last_drops() -> None:
    proposed = replace(STORED, ballot=5, secondaries=[])
    v = accept(STORED, proposed, type=ConfigType.CT_DOWNGRADE_TO_INACTIVE, node=B)
    assert v.err == ErrorCode.ERR_OK and v.config.last_drops == [C, B]


def test_only_ballot_plus_one_wins_and_repeats_are_ok() -> None:
    stale = replace(STORED, ballot=4, secondaries=[])
    assert (
        accept(STORED, stale, type=ConfigType.CT_REMOVE, node=B).err
        == ErrorCode.ERR_INVALID_VERSION
    )
    ahead = replace(STORED, ballot=6, secondaries=[])
    assert (
        accept(STORED, ahead, type=ConfigType.CT_REMOVE, node=B).err
        == ErrorCode.ERR_INVALID_VERSION
    )
    again = accept(STORED, STORED, type=ConfigType.CT_REMOVE, node=B)
    assert again.err == ErrorCode.ERR_OK and not again.changed


def test_inconsistent_proposals_are_refused() -> None:
    dup = replace(STORED, ballot=5, secondaries=[A])
    assert (
        accept(STORED, dup, type=ConfigType.CT_ADD_SECONDARY, node=A).err
        == ErrorCode.ERR_INVALID_PARAMETERS
    )
    still_there = replace(STORED, ballot=5)
    assert (
        accept(STORED, still_there, type=ConfigType.CT_REMOVE, node=B).err
        == ErrorCode.ERR_INVALID_PARAMETERS
    )
    missing = replace(STORED, ballot=5, secondaries=[])
    assert (
        accept(STORED, missing, type=ConfigType.CT_UPGRADE_TO_SECONDARY, node=C).err
        == ErrorCode.ERR_INVALID_PARAMETERS
    )
    assert (
        accept(STORED, missing, type=ConfigType.CT_INVALID, node=B).err
        == ErrorCode.ERR_INVALID_PARAMETERS
    )
