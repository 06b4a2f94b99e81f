"""The meta's RPC_CM_RENAME_APP on the in-memory store: the table's record takes the new
name (stored, listed, routed), its partitions are untouched, and refusals come in
upstream's words."""

from __future__ import annotations

from dataclasses import replace

from pegasus_log.meta.service import MetaService
from pegasus_log.meta.state.model import AppState
from pegasus_log.rpc import admin as a
from pegasus_log.rpc import messages as m
from tests.unit.meta.service_helpers import GPID, call_of, leader, run


async def _rename(service: MetaService, old: str, new: str) -> a.RenameAppResponse:
    req = a.RenameAppRequest(old_app_name=old, new_app_name=new)
    return await service.on_rename_app(call_of(a.CM_RENAME_APP, req))


def _routed(service: MetaService, name: str) -> m.QueryCfgResponse:
    req = m.QueryCfgRequest(app_name=name, partition_indices=[])
    return service.on_query_cfg(call_of(m.CM_QUERY_PARTITION_CONFIG, req))


def test_a_renamed_table_is_stored_listed_and_routed_by_its_new_name() -> None:
    async def test() -> None:
        service = await leader()
        before = service._partitions[GPID].value
        assert await _rename(service, "t", "t2") == a.RenameAppResponse()
        assert service._apps[1].value.app_name == "t2"
        assert service._repo.read_app(1).value.app_name == "t2"  # in the store
        assert service._partitions[GPID].value == before  # no new ballot
        listed = service.on_list_apps(call_of(a.CM_LIST_APPS, a.ListAppsRequest()))
        assert [i.app_name for i in listed.infos] == ["t2"]
        assert _routed(service, "t2").app_id == 1
        assert _routed(service, "t").err == "ERR_OBJECT_NOT_FOUND"
        # The partition's replica servers are told the new name with the configuration.
        assert service._update_request(GPID).info.app_name == "t2"
        await service.close()

    run(test)


def test_refusals() -> None:
    async def test() -> None:
        service = await leader()
        missing = await _rename(service, "nothing", "t3")
        assert (missing.err, missing.hint_message) == (
            "ERR_APP_NOT_EXIST",
            "ERROR: app(nothing) not exist!",
        )
        bad = await _rename(service, "t", "no spaces allowed")
        assert bad.err == "ERR_INVALID_PARAMETERS" and "invalid table name" in bad.hint_message
        other = AppState(app_id=2, app_name="u", partition_count=1)
        service._repo.create_app(other, other.initial_partitions())
        service._apps[2] = service._repo.read_app(2)
        taken = await _rename(service, "t", "u")
        assert (taken.err, taken.hint_message) == (
            "ERR_INVALID_PARAMETERS",
            "ERROR: app(u) already exist!",
        )
        dropped = replace(service._apps[2].value, status=a.AppStatus.AS_DROPPED)
        assert await service._write_app(dropped) is None
        gone = await _rename(service, "u", "u2")
        assert (gone.err, gone.hint_message) == ("ERR_APP_NOT_EXIST", "ERROR: app(u) not exist!")
        # A dropped table's name may be taken (recall then asks for another one).
        assert (await _rename(service, "t", "u")).err == "ERR_OK"
        assert service._repo.read_app(1).value.app_name == "u"
        await service.close()
        stopped = await leader(level=a.MetaFunctionLevel.fl_stopped)
        assert (await _rename(stopped, "t", "t2")).err == "ERR_STATE_FREEZED"
        assert stopped._apps[1].value.app_name == "t"
        await stopped.close()

    run(test)
