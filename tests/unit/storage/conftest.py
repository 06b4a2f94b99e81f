from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pegasus_log.storage import PartitionStore
from tests.unit.storage.helpers import Client, FakeClock, open_store


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[PartitionStore]:
    s = open_store(tmp_path / "db", clock)
    yield s
    s.close()


@pytest.fixture
def client(store: PartitionStore, clock: FakeClock) -> Client:
    return Client(store, clock)
