"""RPC_CM_START_MANUAL_COMPACT and RPC_CM_QUERY_MANUAL_COMPACT_STATUS on the in-memory
store: the envs written, upstream's refusals, and the progress from config syncs."""

from __future__ import annotations

from dataclasses import replace

from pegasus_log.meta.core.manual_compact import progress, start_envs
from pegasus_log.meta.service import MetaService
from pegasus_log.rpc import admin as a
from pegasus_log.rpc.admin import ManualCompactStatus as S
from pegasus_log.rpc.thrift import Gpid, RpcAddress
from tests.unit.meta.service_helpers import A, B, C, call_of, leader, run


def test_start_envs_as_upstream_writes_them() -> None:
    req = a.StartAppManualCompactRequest(app_name="t")
    assert start_envs(req, now_s=1234) == {
        "manual_compact.once.target_level": "-1",
        "manual_compact.once.bottommost_level_compaction": "skip",
        "manual_compact.once.trigger_time": "1234",
    }
    full = a.StartAppManualCompactRequest(
        app_name="t", trigger_time=99, target_level=2, bottommost=True, max_running_count=3
    )
    assert start_envs(full, now_s=1234) == {
        "manual_compact.once.target_level": "2",
        "manual_compact.max_concurrent_running_count": "3",
        "manual_compact.once.bottommost_level_compaction": "force",
        "manual_compact.once.trigger_time": "99",
    }
    zero = replace(full, max_running_count=0)  # 0: the env is left as it is
    zero_envs = start_envs(zero, now_s=1)
    assert isinstance(zero_envs, dict)
    assert "manual_compact.max_concurrent_running_count" not in zero_envs
    assert start_envs(replace(full, target_level=-2), now_s=1) == (
        "invalid target_level(-2), should in range of [-1, num_levels]"
    )
    assert start_envs(replace(full, max_running_count=-1), now_s=1) == (
        "invalid max_running_count(-1), should be greater than 0"
    )


def test_progress_counts_finished_over_every_replica() -> None:
    assert progress([S.IDLE, S.IDLE], total=2) is None
    assert progress([S.IDLE], total=2) is None  # one has not reported: idle too
    assert progress([S.QUEUING], total=2) == 0
    assert progress([S.QUEUING, S.RUNNING, S.FINISHED], total=4) == 25
    assert progress([S.FINISHED] * 3, total=3) == 100


async def _start(service: MetaService, **fields: object) -> a.StartAppManualCompactResponse:
    req = a.StartAppManualCompactRequest(app_name="t", **fields)  # type: ignore[arg-type]
    return await service.on_start_manual_compact(call_of(a.CM_START_MANUAL_COMPACT, req))


def _query(service: MetaService, name: str = "t") -> a.QueryAppManualCompactResponse:
    req = a.QueryAppManualCompactRequest(app_name=name)
    return service.on_query_manual_compact_status(call_of(a.CM_QUERY_MANUAL_COMPACT_STATUS, req))


def _sync(service: MetaService, node: RpcAddress, status: S | None) -> None:
    info = a.ReplicaInfo(pid=Gpid(1, 0), manual_compact_status=status)
    req = a.ConfigurationQueryByNodeRequest(node=node, stored_replicas=[info])
    assert service.on_config_sync(call_of(a.CM_CONFIG_SYNC, req)).err == "ERR_OK"


def test_start_writes_the_envs_and_query_follows_the_replicas() -> None:
    async def test() -> None:
        service = await leader()  # table t: one partition, primary A, secondary B
        before = _query(service)
        assert (before.err, before.hint_msg) == (
            "ERR_INVALID_STATE",
            "app t is not manual compaction",
        )
        _sync(service, A, S.FINISHED)  # an old compaction's report...
        resp = await _start(service, target_level=3, trigger_time=777)
        assert (resp.err, resp.hint_msg) == ("ERR_OK", "succeed")
        envs = service._repo.load_all().apps[1].value.envs
        assert envs["manual_compact.once.trigger_time"] == "777"
        assert envs["manual_compact.once.target_level"] == "3"
        assert _query(service).err == "ERR_INVALID_STATE"  # ...counts as idle now
        _sync(service, A, S.RUNNING)
        _sync(service, B, None)  # a server that says nothing: idle
        assert (_query(service).err, _query(service).progress) == ("ERR_OK", 0)
        _sync(service, A, S.FINISHED)
        _sync(service, B, S.QUEUING)
        assert _query(service).progress == 50
        _sync(service, B, S.FINISHED)
        _sync(service, C, S.RUNNING)  # not a member of the partition: not counted
        assert _query(service).progress == 100
        await service.close()

    run(test)


def test_refusals() -> None:
    async def test() -> None:
        service = await leader()
        missing = await service.on_start_manual_compact(
            call_of(a.CM_START_MANUAL_COMPACT, a.StartAppManualCompactRequest(app_name="nope"))
        )
        assert (missing.err, missing.hint_msg) == ("ERR_APP_NOT_EXIST", "app nope is not existed")
        assert _query(service, "nope").err == "ERR_APP_NOT_EXIST"
        bad = await _start(service, max_running_count=-1)
        assert bad.err == "ERR_INVALID_PARAMETERS"
        update = a.UpdateAppEnvRequest(
            app_name="t",
            op=a.AppEnvOperation.APP_ENV_OP_SET,
            keys=["manual_compact.disabled"],
            values=["true"],
        )
        assert (
            await service.on_update_app_env(call_of(a.CM_UPDATE_APP_ENV, update))
        ).err == "ERR_OK"
        disabled = await _start(service)
        assert (disabled.err, disabled.hint_msg) == (
            "ERR_OPERATION_DISABLED",
            "app t disable manual compaction",
        )
        drop = a.DropAppRequest(app_name="t", options=a.DropAppOptions(success_if_not_exist=False))
        assert (await service.on_drop_app(call_of(a.CM_DROP_APP, drop))).err == "ERR_OK"
        dropped = await _start(service)
        assert (dropped.err, dropped.hint_msg) == ("ERR_APP_DROPPED", "app t is not available")
        assert _query(service).err == "ERR_APP_DROPPED"
        await service.close()

    run(test)
