"""The meta's RPC_CM_GET/SET_ATOMIC_IDEMPOTENT on the in-memory store: the table's record
takes the flag, refusals and hints in upstream's words."""

from __future__ import annotations

from pegasus_log.meta.service import MetaService
from pegasus_log.rpc import admin as a
from tests.unit.meta.service_helpers import call_of, leader, run


async def _set(service: MetaService, name: str, enabled: bool) -> a.SetAtomicIdempotentResponse:
    req = a.SetAtomicIdempotentRequest(app_name=name, atomic_idempotent=enabled)
    return await service.on_set_atomic_idempotent(call_of(a.CM_SET_ATOMIC_IDEMPOTENT, req))


def _get(service: MetaService, name: str) -> a.GetAtomicIdempotentResponse:
    req = a.GetAtomicIdempotentRequest(app_name=name)
    return service.on_get_atomic_idempotent(call_of(a.CM_GET_ATOMIC_IDEMPOTENT, req))


def test_the_table_record_takes_the_flag() -> None:
    async def test() -> None:
        service = await leader()
        assert _get(service, "t") == a.GetAtomicIdempotentResponse(atomic_idempotent=False)
        resp = await _set(service, "t", True)
        assert (resp.err, resp.old_atomic_idempotent, resp.hint_message) == ("ERR_OK", False, "")
        assert service._apps[1].value.atomic_idempotent
        assert _get(service, "t").atomic_idempotent
        same = await _set(service, "t", True)
        assert (same.err, same.old_atomic_idempotent) == ("ERR_OK", True)
        assert same.hint_message == "no need to update atomic_idempotent since it's unchanged"
        back = await _set(service, "t", False)
        assert (back.err, back.old_atomic_idempotent) == ("ERR_OK", True)
        assert not _get(service, "t").atomic_idempotent
        await service.close()

    run(test)


def test_refusals() -> None:
    async def test() -> None:
        service = await leader()
        missing = await _set(service, "nothing", True)
        assert (missing.err, missing.hint_message) == (
            "ERR_APP_NOT_EXIST",
            "app(nothing) does not exist",
        )
        assert _get(service, "nothing").err == "ERR_APP_NOT_EXIST"
        await service.close()
        frozen = await leader(level=a.MetaFunctionLevel.fl_freezed)
        refused = await _set(frozen, "t", True)
        assert refused.err == "ERR_STATE_FREEZED"
        assert not frozen._apps[1].value.atomic_idempotent
        await frozen.close()

    run(test)
