"""Placeholder fixture for the conformance tests (to be replaced by the onebox one).

``onebox_meta`` is the meta server address "127.0.0.1:PORT" of a running cluster with a
table ``temp`` (8 partitions). For now it comes from the environment variable
PEGASUS_LOG_META; without it the conformance tests are skipped. This shadows the
``onebox_meta`` fixture of tests/conftest.py for the tests in this folder.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def onebox_meta() -> str:
    addr = os.environ.get("PEGASUS_LOG_META", "").strip()
    if not addr:
        pytest.skip("PEGASUS_LOG_META is not set (address of a running meta server)")
    return addr
