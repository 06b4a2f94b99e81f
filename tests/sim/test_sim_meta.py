"""The meta's rule for configuration changes proposed by replicas (``accept_update``)."""

from __future__ import annotations

from dataclasses import replace

from pegasus_log.rpc.admin import ConfigType, ConfigurationUpdateRequest
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.messages import PartitionConfiguration
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from pegasus_log.sim.meta import NO_NODE, accept_update

A, B, C, D = (RpcAddress(f"10.0.0.{i}", 34801) for i in (1, 2, 3, 4))
STORED = PartitionConfiguration(
    pid=Gpid(1, 0), ballot=5, max_replica_count=3, primary=A, secondaries=[B], last_drops=[C]
)


def request(kind: ConfigType, node: RpcAddress, config: PartitionConfiguration, by=A):  # type: ignore[no-untyped-def]
    return ConfigurationUpdateRequest(config=config, type=kind, node=node, host_node=by)


def test_upgrade_to_secondary_at_the_next_ballot() -> None:
    proposed = replace(STORED, ballot=6, secondaries=[B, C])
    err, new = accept_update(STORED, request(ConfigType.CT_UPGRADE_TO_SECONDARY, C, proposed))
    assert err == ErrorCode.ERR_OK
    assert (new.ballot, new.secondaries, new.last_drops) == (6, [B, C], [])


def test_only_ballot_plus_one_is_accepted() -> None:
    proposed = replace(STORED, ballot=7, secondaries=[B, C])
    err, new = accept_update(STORED, request(ConfigType.CT_UPGRADE_TO_SECONDARY, C, proposed))
    assert err == ErrorCode.ERR_INVALID_VERSION and new is STORED


def test_a_retry_of_an_applied_proposal_is_answered_ok() -> None:
    proposed = replace(STORED, ballot=6, secondaries=[B, C])
    _err, applied = accept_update(STORED, request(ConfigType.CT_UPGRADE_TO_SECONDARY, C, proposed))
    err, again = accept_update(applied, request(ConfigType.CT_UPGRADE_TO_SECONDARY, C, proposed))
    assert err == ErrorCode.ERR_OK and again is applied


def test_downgrade_of_a_secondary_records_the_drop() -> None:
    proposed = replace(STORED, ballot=6, secondaries=[])
    err, new = accept_update(STORED, request(ConfigType.CT_DOWNGRADE_TO_INACTIVE, B, proposed))
    assert err == ErrorCode.ERR_OK and new.last_drops == [C, B]


def test_a_failed_primary_removes_itself() -> None:
    proposed = replace(STORED, ballot=6, primary=NO_NODE)
    err, new = accept_update(STORED, request(ConfigType.CT_DOWNGRADE_TO_INACTIVE, A, proposed))
    assert err == ErrorCode.ERR_OK and new.primary.is_invalid and new.last_drops == [C, A]


def test_force_update_ballot_keeps_the_members() -> None:
    proposed = replace(STORED, ballot=6)
    err, new = accept_update(
        STORED, request(ConfigType.CT_PRIMARY_FORCE_UPDATE_BALLOT, A, proposed)
    )
    assert err == ErrorCode.ERR_OK and new == proposed


def test_only_the_primary_may_propose() -> None:
    proposed = replace(STORED, ballot=6, secondaries=[])
    err, _new = accept_update(
        STORED, request(ConfigType.CT_DOWNGRADE_TO_INACTIVE, B, proposed, by=B)
    )
    assert err == ErrorCode.ERR_INVALID_STATE


def test_the_membership_must_be_what_the_meta_computes() -> None:
    proposed = replace(STORED, ballot=6, secondaries=[B, D])
    err, _new = accept_update(STORED, request(ConfigType.CT_UPGRADE_TO_SECONDARY, C, proposed))
    assert err == ErrorCode.ERR_INVALID_PARAMETERS
