"""``ddd_diagnose``'s pure parts: upstream's recommendation rule, the report, the flags."""

from __future__ import annotations

import pytest

from pegasus_log.rpc.admin import DddNodeInfo, DddPartitionInfo
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from pegasus_log.shell.shell.ddd import ddd_report, recommend
from pegasus_log.shell.shell.escaping import split_args
from pegasus_log.shell.shell.flags import UsageError
from pegasus_log.shell.shell.meta_args import DddArgs, parse_ddd_diagnose

A, B, C = (RpcAddress("127.0.0.1", 34801 + i) for i in range(3))


def node(
    address: RpcAddress, *, alive: bool = True, committed: int = 10, ballot: int = 4
) -> DddNodeInfo:
    if not alive:
        return DddNodeInfo(node=address)
    return DddNodeInfo(
        node=address,
        is_alive=True,
        is_collected=True,
        ballot=ballot,
        last_committed_decree=committed,
        last_prepared_decree=committed,
    )


def info(*dropped: DddNodeInfo, floor: int = 0) -> DddPartitionInfo:
    config = PartitionConfiguration(
        pid=Gpid(3, 1),
        ballot=7,
        max_replica_count=3,
        last_drops=[n.node for n in dropped],
        last_committed_decree=floor,
    )
    return DddPartitionInfo(config=config, dropped=list(dropped), reason="waiting")


def test_recommendation_follows_upstreams_rule() -> None:
    # the latest dropped (C) is dead: the secondary latest (B) alone qualifies
    assert recommend(info(node(A), node(B), node(C, alive=False))) == B
    # both alive: the larger last committed decree, then the larger ballot, then the latest
    assert recommend(info(node(A), node(B, committed=12), node(C, committed=11))) == B
    assert recommend(info(node(A), node(B, ballot=5), node(C, ballot=4))) == B
    assert recommend(info(node(A), node(B), node(C))) == C
    # none of the last two alive and reported; or behind what the meta recorded
    assert recommend(info(node(A), node(B, alive=False), node(C, alive=False))) is None
    assert recommend(info(node(A), node(B), node(C, alive=False), floor=11)) is None
    assert recommend(info(node(C))) is None  # one drop only


def test_report_has_upstreams_lines() -> None:
    lines = ddd_report([info(node(A), node(B), node(C, alive=False))], diagnose=True)
    assert lines[:5] == [
        "Total 1 ddd partitions:",
        "",
        "(1) 3.1",
        "    config: ballot(7), last_committed(0)",
        "    ----",
    ]
    assert lines[6] == (
        f"    dropped[1]: node({B}), drop_time(-), alive(true), collected(true), ballot(4), "
        "last_committed(10), last_prepared(10)  <== the secondary latest"
    )
    assert lines[7] == (
        f"    dropped[2]: node({C}), drop_time(-), alive(false), collected(false), ballot(-1), "
        "last_committed(-1), last_prepared(-1)  <== the latest"
    )
    assert f"    last_drops[2]: node({C})  <== the latest" in lines
    assert "    ddd_reason: waiting" in lines
    assert f"    recommend_primary: {B}  <== the secondary latest" in lines
    assert "    propose_request: none" in lines
    assert lines[-2:] == ["Proposed count: 0/1", ""]
    assert ddd_report([], diagnose=False) == ["Total 0 ddd partitions:", ""]


def test_flags() -> None:
    assert parse_ddd_diagnose([]) == DddArgs()
    assert parse_ddd_diagnose(split_args("-g 3")) == DddArgs(3, -1)
    assert parse_ddd_diagnose(split_args("--gpid 3.1 -d -a -s -o f.txt")) == DddArgs(
        3, 1, True, "f.txt"
    )
    for bad in ("-g x", "-g 3.x", "-g 3.", "-g 99999999999"):
        with pytest.raises(UsageError, match="invalid gpid"):
            parse_ddd_diagnose(split_args(bad))
