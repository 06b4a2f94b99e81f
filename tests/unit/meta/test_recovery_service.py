"""The meta's recovery mode on the in-memory store: what it refuses while it waits, and
RPC_CM_START_RECOVERY with answering, silent and skipped replica servers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from pegasus_log.meta.core.recovery import NodeReport
from pegasus_log.meta.service import MetaOptions, MetaService
from pegasus_log.meta.state.layout import Layout
from pegasus_log.meta.state.memory import MemoryStore
from pegasus_log.meta.state.repository import AppsLocked, MetaStateRepository
from pegasus_log.meta.state.store import Op
from pegasus_log.rpc import admin as a
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from pegasus_log.transport.server import RpcError
from tests.unit.meta.service_helpers import A, B, call_of, leader, run

TEMP = a.AppInfoMessage(
    status=a.AppStatus.AS_AVAILABLE,
    app_name="temp",
    app_id=1,
    partition_count=2,
    max_replica_count=2,
)


async def _recovering(store: MemoryStore | None = None) -> MetaService:
    repo = MetaStateRepository(store or MemoryStore(), Layout.for_cluster("unit"))
    service = MetaService(
        repo=repo,
        address=RpcAddress("127.0.0.1", 4),
        options=MetaOptions(tick_s=3600.0, recover_from_replica_servers=True),
    )
    await service.become_leader()
    return service


async def _recover(
    service: MetaService, *, skip_bad: bool = False
) -> a.ConfigurationRecoveryResponse:
    req = a.ConfigurationRecoveryRequest(recovery_nodes=[A, B], skip_bad_nodes=skip_bad)
    return await service.on_start_recovery(call_of(a.CM_START_RECOVERY, req))


def test_a_recovering_meta_changes_nothing_and_gives_no_lease() -> None:
    async def test() -> None:
        service = await _recovering()
        assert service.recovering
        spec, create = service.handlers()[a.CM_CREATE_APP.name]
        with pytest.raises(RpcError) as refused:
            create(call_of(spec, a.CreateAppRequest(app_name="x")))
        assert refused.value.code == ErrorCode.ERR_UNDER_RECOVERY
        beacon = service.on_beacon(call_of(a.FD_BEACON, a.BeaconMsg(from_node=A, to_node=A)))
        assert beacon.is_master and not beacon.allowed
        sync = service.on_config_sync(
            call_of(a.CM_CONFIG_SYNC, a.ConfigurationQueryByNodeRequest(node=A))
        )
        assert sync.err == "ERR_UNDER_RECOVERY"
        await service.close()
        # A meta whose store holds tables serves, whatever its flag says.
        serving = await leader()
        assert not serving.recovering
        resp = await _recover(serving)
        assert resp.err == "ERR_SERVICE_ALREADY_RUNNING"
        await serving.close()

    run(test)


def test_silent_servers_fail_the_recovery_unless_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    async def answers(nodes: list[RpcAddress], **_: Any) -> list[NodeReport | str]:
        replicas = tuple(
            a.ReplicaInfo(pid=Gpid(1, i), ballot=3, last_committed_decree=10) for i in (0, 1)
        )
        return [NodeReport(str(A), (TEMP,), replicas), "ERR_NETWORK_FAILURE"]

    monkeypatch.setattr("pegasus_log.meta.service.ask_replica_servers", answers)

    async def test() -> None:
        service = await _recovering()
        failed = await _recover(service)
        assert failed.err == "ERR_TRY_AGAIN"
        assert failed.hint_message == (
            f"ERROR: collect app and replica info from node({B}) failed with "
            "err(ERR_NETWORK_FAILURE), you can skip it by set skip_bad_nodes option\n"
        )
        assert service.recovering and service._repo.load_all().apps == {}
        done = await _recover(service, skip_bad=True)
        assert done.err == "ERR_OK"
        assert done.hint_message == (
            f"WARNING: collect app and replica info from node({B}) failed with "
            "err(ERR_NETWORK_FAILURE), skip the bad node\n"
            "WARNING: partition(1.0) only collects 1/2 of replicas, may lost data\n"
            "WARNING: partition(1.1) only collects 1/2 of replicas, may lost data\n"
        )
        assert not service.recovering
        stored = service._repo.load_all()
        assert stored.apps[1].value.app_name == "temp"
        p0 = stored.partitions[(1, 0)].value
        assert (p0.ballot, p0.primary, p0.last_drops) == (4, None, (str(A),))
        assert (await _recover(service, skip_bad=True)).err == "ERR_SERVICE_ALREADY_RUNNING"
        await service.close()

    run(test)


class _DiesOnCommit(MemoryStore):
    """A store whose connection drops on its ``n``-th transaction, from then on."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.commits_left = n

    def commit(self, ops: Sequence[Op]) -> None:
        self.commits_left -= 1
        if self.commits_left == 0:
            self.suspend()
        super().commit(ops)


def test_a_recovery_cut_short_is_not_served_and_is_run_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = a.AppInfoMessage(
        status=a.AppStatus.AS_AVAILABLE,
        app_name="other",
        app_id=2,
        partition_count=1,
        max_replica_count=2,
    )

    async def answers(nodes: list[RpcAddress], **_: Any) -> list[NodeReport | str]:
        replicas = (
            *(a.ReplicaInfo(pid=Gpid(1, i), ballot=3, last_committed_decree=10) for i in (0, 1)),
            a.ReplicaInfo(pid=Gpid(2, 0), ballot=5, last_committed_decree=7),
        )
        return [NodeReport(str(n), (TEMP, other), replicas) for n in nodes]

    monkeypatch.setattr("pegasus_log.meta.service.ask_replica_servers", answers)

    async def test() -> None:
        # The first table is written (one transaction), the second is not.
        store = _DiesOnCommit(2)
        first = await _recovering(store)
        failed = await _recover(first)
        assert failed.err == "ERR_ZOOKEEPER_OPERATION"
        assert first.recovering
        await first.close()
        store.resume()
        repo = MetaStateRepository(store, Layout.for_cluster("unit"))
        assert store.children(repo.layout.apps_root) == ["1"]  # a part of the state
        with pytest.raises(AppsLocked):
            repo.load_all()
        # A meta without the flag does not lead over it (upstream's meta stops there).
        plain = MetaService(repo=repo, address=RpcAddress("127.0.0.1", 5), options=MetaOptions())
        with pytest.raises(AppsLocked):
            await plain.become_leader()
        # One with the flag clears it and waits; recover then writes the whole state.
        second = await _recovering(store)
        assert second.recovering and store.children(repo.layout.apps_root) == []
        done = await _recover(second)
        assert done.err == "ERR_OK" and not second.recovering
        stored = repo.load_all()
        assert sorted(stored.apps) == [1, 2] and len(stored.partitions) == 3
        assert stored.partitions[(2, 0)].value.ballot == 6
        await second.close()

    run(test)
