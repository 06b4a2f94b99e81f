"""The replica server's HTTP pages on its RPC port (upstream ``replica_http_service``).

``/replica/data_version?app_id=N``: the data version of each partition of table N this
server holds, as upstream answers it (admin-cli ``data-version`` asks every replica
server and compares): ``{"<partition index>":{"data_version":"<v>"}}``; 400 for a
missing or bad ``app_id``, 404 when no partition of the table is here. Every store here
is at ``storage.schema.DATA_VERSION`` (a store of another version is refused at open).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from pegasus_log.rpc.thrift import Gpid
from pegasus_log.storage.schema import DATA_VERSION


def data_version_page(query: dict[str, str], *, hosted: Iterable[Gpid]) -> tuple[int, str]:
    raw = query.get("app_id")
    if not raw:
        return 400, "app_id should not be empty"
    if not (raw.isascii() and raw.isdigit()) or int(raw) >= 1 << 31:
        return 400, f"invalid app_id={raw}"
    app_id = int(raw)
    indexes = sorted(g.partition_index for g in hosted if g.app_id == app_id)
    if not indexes:
        return 404, f"app_id={raw} not found"
    versions = {str(i): {"data_version": str(DATA_VERSION)} for i in indexes}
    return 200, json.dumps(versions, separators=(",", ":"))
