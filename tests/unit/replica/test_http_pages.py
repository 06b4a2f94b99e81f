"""/replica/data_version answers as upstream's replica_http_service does."""

from __future__ import annotations

import json

from pegasus_log.replica.http_pages import data_version_page
from pegasus_log.rpc.thrift import Gpid

HOSTED = [Gpid(2, 1), Gpid(2, 0), Gpid(3, 5)]


def test_cases_from_upstream_and_ours() -> None:
    assert data_version_page({}, hosted=HOSTED) == (400, "app_id should not be empty")
    assert data_version_page({"app_id": ""}, hosted=HOSTED) == (400, "app_id should not be empty")
    assert data_version_page({"app_id": "wrong"}, hosted=HOSTED) == (400, "invalid app_id=wrong")
    assert data_version_page({"app_id": "-1"}, hosted=HOSTED) == (400, "invalid app_id=-1")
    assert data_version_page({"app_id": "99999999999"}, hosted=HOSTED)[0] == 400
    assert data_version_page({"app_id": "٣"}, hosted=HOSTED)[0] == 400  # a non-ASCII digit
    assert data_version_page({"app_id": "4"}, hosted=HOSTED) == (404, "app_id=4 not found")
    status, body = data_version_page({"app_id": "2"}, hosted=HOSTED)
    assert status == 200 and body == '{"0":{"data_version":"1"},"1":{"data_version":"1"}}'
    assert json.loads(data_version_page({"app_id": "3"}, hosted=HOSTED)[1]) == {
        "5": {"data_version": "1"}
    }
