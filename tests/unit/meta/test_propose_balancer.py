"""The meta's RPC_CM_PROPOSE_BALANCER and RPC_CM_DDD_DIAGNOSE handlers on the in-memory
store: a move written or started, refusals, a move worked out before another write got
in, dropped; the partitions whose every member died, listed with what the meta knows."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from pegasus_log.client.admin import AsyncAdmin
from pegasus_log.meta.state.model import PartitionConfig
from pegasus_log.rpc import admin as a
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from pegasus_log.transport.server import Call
from tests.unit.meta.service_helpers import GPID, A, B, C, call_of, leader, run


def _call(kind: str, source: RpcAddress, destination: RpcAddress) -> Call:
    req = AsyncAdmin.balance_request(Gpid(*GPID), kind, str(source), str(destination))
    return call_of(a.CM_PROPOSE_BALANCER, req)


def test_move_pri_is_written_at_once() -> None:
    async def test() -> None:
        service = await leader()
        resp = await service.on_propose_balancer(_call("move_pri", A, B))
        assert resp.err == "ERR_OK"
        stored = service._partitions[GPID].value
        assert (stored.ballot, stored.primary, stored.secondaries) == (4, str(B), (str(A),))
        again = await service.on_propose_balancer(_call("move_pri", A, B))
        assert again.err == "ERR_INVALID_PARAMETERS"  # A is no longer the primary
        await service.close()

    run(test)


def test_copy_sec_starts_a_copy_and_a_second_move_waits_for_it() -> None:
    async def test() -> None:
        service = await leader()
        resp = await service.on_propose_balancer(_call("copy_sec", B, C))
        assert resp.err == "ERR_OK"
        assert GPID in service._copies
        busy = await service.on_propose_balancer(_call("move_pri", A, B))
        assert busy.err == "ERR_BUSY"
        await service.close()

    run(test)


def test_refusals() -> None:
    async def test() -> None:
        service = await leader()
        for kind, source, destination in [
            ("copy_sec", A, C),  # from the primary
            ("copy_pri", A, B),  # to a member
            ("move_pri", A, C),  # to a node that is no member
        ]:
            resp = await service.on_propose_balancer(_call(kind, source, destination))
            assert resp.err == "ERR_INVALID_PARAMETERS", (kind, source, destination)
        service._nodes[C].alive = False
        dead = await service.on_propose_balancer(_call("copy_sec", B, C))
        assert dead.err == "ERR_INVALID_PARAMETERS"
        forced = replace(_call("move_pri", A, B).arg, force=True)
        resp = await service.on_propose_balancer(call_of(a.CM_PROPOSE_BALANCER, forced))
        assert resp.err == "ERR_NOT_IMPLEMENTED"
        assert service._partitions[GPID].value.ballot == 3  # nothing written
        await service.close()

        frozen = await leader(a.MetaFunctionLevel.fl_freezed)
        resp = await frozen.on_propose_balancer(_call("move_pri", A, B))
        assert resp.err == "ERR_STATE_FREEZED"
        await frozen.close()

    run(test)


def test_a_move_worked_out_before_another_write_got_in_is_dropped() -> None:
    async def test() -> None:
        service = await leader()
        stored = service._partitions[GPID]
        # Another write (a primary's proposal, say) holds the store lock meanwhile.
        async with service._write_lock:
            task = asyncio.create_task(service.on_propose_balancer(_call("move_pri", A, B)))
            await asyncio.sleep(0.05)  # checked, worked out at ballot 4, waiting for the lock
            assert not task.done()
            other = replace(stored.value, ballot=4, secondaries=(str(C),))
            await service._store_partition(GPID, other, stored.version)
        resp = await task
        assert resp.err == "ERR_BUSY"
        assert service._partitions[GPID].value == other  # not written over
        await service.close()

    run(test)


def test_ddd_diagnose_lists_a_partition_whose_members_all_died() -> None:
    async def test() -> None:
        dead_all = PartitionConfig(1, 0, ballot=6, max_replica_count=2, last_drops=(str(A), str(B)))
        service = await leader(a.MetaFunctionLevel.fl_freezed, dead_all)
        service._nodes[B].alive = False
        replica = a.ReplicaInfo(
            pid=Gpid(*GPID), ballot=5, last_committed_decree=9, last_prepared_decree=10
        )
        sync = a.ConfigurationQueryByNodeRequest(node=A, stored_replicas=[replica])
        assert service.on_config_sync(call_of(a.CM_CONFIG_SYNC, sync)).err == "ERR_OK"
        for pid in (Gpid(-1, -1), Gpid(1, -1), Gpid(1, 0)):
            req = a.DddDiagnoseRequest(pid=pid)
            resp = service.on_ddd_diagnose(call_of(a.CM_DDD_DIAGNOSE, req))
            assert resp.err == "ERR_OK"
            (ddd,) = resp.partitions
            assert ddd.config.pid == Gpid(1, 0) and ddd.config.last_drops == [A, B]
            assert "latest dropped replica server 127.0.0.1:2 to come back" in ddd.reason
            a_info, b_info = ddd.dropped
            assert (a_info.node, a_info.is_alive, a_info.is_collected) == (A, True, True)
            assert (a_info.ballot, a_info.last_committed_decree) == (5, 9)
            assert (b_info.node, b_info.is_alive, b_info.is_collected) == (B, False, False)
            assert b_info.ballot == a.INVALID_BALLOT
        # A dies and comes back: what it reported before counts again only once it syncs.
        every = a.DddDiagnoseRequest()
        service._nodes[A].alive = False
        service.on_beacon(call_of(a.FD_BEACON, a.BeaconMsg(from_node=A)))
        (ddd,) = service.on_ddd_diagnose(call_of(a.CM_DDD_DIAGNOSE, every)).partitions
        a_info = ddd.dropped[0]
        assert (a_info.is_alive, a_info.is_collected, a_info.ballot) == (True, False, -1)
        assert service._reported(GPID) == {}
        empty = a.ConfigurationQueryByNodeRequest(node=A, stored_replicas=[])
        service.on_config_sync(call_of(a.CM_CONFIG_SYNC, empty))
        (ddd,) = service.on_ddd_diagnose(call_of(a.CM_DDD_DIAGNOSE, every)).partitions
        assert (ddd.dropped[0].is_collected, ddd.dropped[0].ballot) == (True, -1)
        for pid in (Gpid(2, -1), Gpid(1, 1)):  # another table, another partition
            req = a.DddDiagnoseRequest(pid=pid)
            resp = service.on_ddd_diagnose(call_of(a.CM_DDD_DIAGNOSE, req))
            assert resp.partitions == []
        await service.close()

        healthy = await leader()
        req = a.DddDiagnoseRequest()
        resp = healthy.on_ddd_diagnose(call_of(a.CM_DDD_DIAGNOSE, req))
        assert resp.partitions == []
        await healthy.close()

    run(test)


def _assign(node: RpcAddress) -> Call:
    req = a.ConfigurationBalancerRequest(
        gpid=Gpid(*GPID),
        action_list=[
            a.ConfigurationProposalAction(
                target=node, node=node, type=int(a.ConfigType.CT_ASSIGN_PRIMARY)
            )
        ],
        force=True,
    )
    return call_of(a.CM_PROPOSE_BALANCER, req)


def test_propose_force_assigns_a_primary_to_a_partition_whose_members_all_died() -> None:
    async def test() -> None:
        dead_all = PartitionConfig(1, 0, ballot=6, max_replica_count=2, last_drops=(str(A), str(B)))
        service = await leader(a.MetaFunctionLevel.fl_steady, dead_all)
        service._nodes[B].alive = False  # the latest drop will not come back
        replica = a.ReplicaInfo(
            pid=Gpid(*GPID), ballot=5, last_committed_decree=9, last_prepared_decree=10
        )
        sync = a.ConfigurationQueryByNodeRequest(node=A, stored_replicas=[replica])
        assert service.on_config_sync(call_of(a.CM_CONFIG_SYNC, sync)).err == "ERR_OK"
        for node in (B, C):  # dead; alive but holding no replica of it
            resp = await service.on_propose_balancer(_assign(node))
            assert resp.err == "ERR_INVALID_PARAMETERS", node
        unforced = replace(_assign(A).arg, force=False)
        resp = await service.on_propose_balancer(call_of(a.CM_PROPOSE_BALANCER, unforced))
        assert resp.err == "ERR_INVALID_PARAMETERS"  # a single action spells no move
        assert service._partitions[GPID].value.ballot == 6  # nothing written
        assert (await service.on_propose_balancer(_assign(A))).err == "ERR_OK"
        stored = service._partitions[GPID].value
        assert (stored.ballot, stored.primary, stored.last_drops) == (7, str(A), (str(B),))
        # Now it has a primary: another forced assignment is refused.
        assert (await service.on_propose_balancer(_assign(A))).err == "ERR_INVALID_PARAMETERS"
        await service.close()

    run(test)
