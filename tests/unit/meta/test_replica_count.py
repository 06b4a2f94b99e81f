"""The meta's RPC_CM_GET/SET_MAX_REPLICA_COUNT on the in-memory store: the table's record
and every partition take the new count (a new ballot each, members unchanged), refusals
in upstream's words, and a change cut short finished by the next tick."""

from __future__ import annotations

from dataclasses import replace

from pegasus_log.meta.core import guardian
from pegasus_log.meta.service import MetaService
from pegasus_log.meta.state.model import PartitionConfig
from pegasus_log.rpc import admin as a
from tests.unit.meta.service_helpers import GPID, A, B, call_of, leader, run


async def _set(service: MetaService, name: str, count: int) -> a.SetMaxReplicaCountResponse:
    req = a.SetMaxReplicaCountRequest(app_name=name, max_replica_count=count)
    return await service.on_set_max_replica_count(call_of(a.CM_SET_MAX_REPLICA_COUNT, req))


def _get(service: MetaService, name: str) -> a.GetMaxReplicaCountResponse:
    req = a.GetMaxReplicaCountRequest(app_name=name)
    return service.on_get_max_replica_count(call_of(a.CM_GET_MAX_REPLICA_COUNT, req))


def test_every_partition_takes_the_new_count_with_a_new_ballot() -> None:
    async def test() -> None:
        service = await leader()
        assert _get(service, "t").max_replica_count == 2
        resp = await _set(service, "t", 3)
        assert (resp.err, resp.old_max_replica_count, resp.hint_message) == ("ERR_OK", 2, "")
        assert service._apps[1].value.max_replica_count == 3
        stored = service._partitions[GPID].value
        assert (stored.ballot, stored.max_replica_count) == (4, 3)
        assert (stored.primary, stored.secondaries) == (str(A), (str(B),))
        assert _get(service, "t") == a.GetMaxReplicaCountResponse(max_replica_count=3)
        # The guardian now has a member to add.
        wire = service._update_request(GPID).config
        action = guardian.cure(wire, nodes=service._node_views(), reported={})
        assert action is not None and action.type == a.ConfigType.CT_ADD_SECONDARY
        await service.close()

    run(test)


def test_refusals() -> None:
    async def test() -> None:
        service = await leader()
        missing = await _set(service, "nothing", 3)
        assert (missing.err, missing.hint_message) == (
            "ERR_APP_NOT_EXIST",
            "app(nothing) does not exist",
        )
        assert _get(service, "nothing").err == "ERR_APP_NOT_EXIST"
        too_many = await _set(service, "t", 4)  # three replica servers alive
        assert too_many.err == "ERR_INVALID_PARAMETERS"
        assert too_many.hint_message == (
            "there are not enough alive replica servers(3) for the requested replica count(4)"
        )
        zero = await _set(service, "t", 0)
        assert zero.err == "ERR_INVALID_PARAMETERS"
        assert zero.hint_message == (
            "requested replica count(0) must be within the range of [min=1, max=5]"
        )
        same = await _set(service, "t", 2)
        assert (same.err, same.old_max_replica_count) == ("ERR_OK", 2)
        assert "not changed" in same.hint_message
        assert service._partitions[GPID].value.ballot == 3  # nothing written
        await service.close()
        frozen = await leader(level=a.MetaFunctionLevel.fl_freezed)
        assert (await _set(frozen, "t", 3)).err == "ERR_STATE_FREEZED"
        await frozen.close()

    run(test)


def test_a_change_cut_short_is_finished_by_the_next_tick() -> None:
    async def test() -> None:
        service = await leader()
        # A leader that wrote the table's record and died before the partitions.
        app = service._apps[1].value
        assert await service._write_app(replace(app, max_replica_count=1)) is None
        assert service._partitions[GPID].value.max_replica_count == 2
        # Until it is finished, both requests are refused in upstream's words.
        hint = "partition_max_replica_count(2) != app_max_replica_count(1) for partition 1.0"
        assert (await _set(service, "t", 3)) == a.SetMaxReplicaCountResponse(
            err="ERR_INCONSISTENT_STATE", hint_message=hint
        )
        assert _get(service, "t") == a.GetMaxReplicaCountResponse(
            err="ERR_INCONSISTENT_STATE", hint_message=hint
        )
        await service.tick()
        stored = service._partitions[GPID].value
        assert (stored.ballot, stored.max_replica_count) == (4, 1)
        assert _get(service, "t").max_replica_count == 1
        await service.close()

    run(test)


def test_a_partition_without_a_primary_waits_for_one() -> None:
    async def test() -> None:
        headless = PartitionConfig(1, 0, ballot=3, max_replica_count=2, secondaries=(str(B),))
        service = await leader(config=headless)
        assert await service._align_replica_counts()  # the counts agree: nothing to do
        app = service._apps[1].value
        assert await service._write_app(replace(app, max_replica_count=3)) is None
        assert not await service._align_replica_counts()
        assert service._partitions[GPID].value == headless
        await service.close()

    run(test)
