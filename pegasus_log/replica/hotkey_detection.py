"""A replica server's hotkey detection: ``RPC_DETECT_HOTKEY`` and the collectors of its
partitions (``replica/hotkey.py`` decides; this keeps them, feeds them the requests the
partitions serve, and runs their analyses every ``analyse_interval_s``).

Only collectors under way see requests, so a server with none pays one truth test per
request. Requests are captured where a primary serves them, reads and client writes
alike (upstream captures where its capacity units are counted, which is also the
primary's serving path).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from pegasus_log.replica.hotkey import HotkeyCollector, hash_keys
from pegasus_log.rpc import admin as a
from pegasus_log.rpc.error_code import ErrorCode

log = logging.getLogger(__name__)

# Upstream's hotkey_analyse_time_interval_s.
ANALYSE_INTERVAL_S = 10.0

Gpid = tuple[int, int]


class HotkeyDetection:
    def __init__(
        self,
        *,
        hosted: Callable[[Gpid], bool],
        wall: Callable[[], float] = time.time,
        analyse_interval_s: float = ANALYSE_INTERVAL_S,
    ) -> None:
        assert analyse_interval_s > 0
        self._hosted = hosted
        self._wall = wall
        self.analyse_interval_s = analyse_interval_s
        self._collectors: dict[tuple[Gpid, str], HotkeyCollector] = {}
        # gpid -> its collectors under way, by kind: what on_request feeds
        self.watching: dict[Gpid, dict[str, HotkeyCollector]] = {}

    def on_request(self, gpid: Gpid, rpc_name: str, request: object, *, write: bool) -> None:
        """A data request partition ``gpid`` serves (call only while ``watching``)."""
        collector = self.watching.get(gpid, {}).get("write" if write else "read")
        if collector is None:
            return
        for hash_key, weight in hash_keys(rpc_name, request):
            collector.capture(hash_key, weight)

    def on_rpc(self, req: a.DetectHotkeyRequest) -> a.DetectHotkeyResponse:
        gpid = (req.pid.app_id, req.pid.partition_index)
        if req.action not in tuple(a.DetectAction):
            return a.DetectHotkeyResponse(
                err=ErrorCode.ERR_INVALID_PARAMETERS.name, err_hint="invalid detect_action"
            )
        if req.type not in tuple(a.HotkeyType):
            return a.DetectHotkeyResponse(
                err=ErrorCode.ERR_INVALID_PARAMETERS.name, err_hint="invalid hotkey_type"
            )
        if not self._hosted(gpid):
            return a.DetectHotkeyResponse(
                err=ErrorCode.ERR_OBJECT_NOT_FOUND.name,
                err_hint=f"not find the replica {gpid[0]}.{gpid[1]} \n",
            )
        kind = "read" if req.type == a.HotkeyType.READ else "write"
        collector = self._collectors.setdefault((gpid, kind), HotkeyCollector(kind))
        result: str | None = None
        if req.action == a.DetectAction.START:
            err, hint = collector.start(self._wall())
        elif req.action == a.DetectAction.STOP:
            err, hint = collector.stop()
        else:
            err, hint, result = collector.query()
        self._index(gpid)
        log.info("hotkey detection of %d.%d (%s): %s %s", *gpid, kind, err.name, hint)
        return a.DetectHotkeyResponse(
            err=err.name, err_hint=hint if hint else None, hotkey_result=result
        )

    def analyse(self) -> None:
        now = self._wall()
        for gpid in list(self.watching):
            for collector in self.watching[gpid].values():
                collector.analyse(now)
                if collector.hot_key:
                    log.warning("partition %d.%d: Find the hotkey: %r", *gpid, collector.hot_key)
            self._index(gpid)

    def forget(self, gpid: Gpid) -> None:
        """The replica closed here: its collectors go."""
        for kind in ("read", "write"):
            self._collectors.pop((gpid, kind), None)
        self.watching.pop(gpid, None)

    async def run(self) -> None:
        """Analyse every collector under way, every ``analyse_interval_s``."""
        while True:
            await asyncio.sleep(self.analyse_interval_s)
            if self.watching:
                self.analyse()

    def _index(self, gpid: Gpid) -> None:
        active = {
            kind: c
            for kind in ("read", "write")
            if (c := self._collectors.get((gpid, kind))) is not None and c.active
        }
        if active:
            self.watching[gpid] = active
        else:
            self.watching.pop(gpid, None)
