from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cluster import StaticCluster


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaticCluster]:
    """One static meta and one replica server, shared by the whole session."""
    root: Path = tmp_path_factory.mktemp("cluster")
    c = StaticCluster(root, tables=["temp:8", "other:4"])
    c.start()
    yield c
    c.stop()


@pytest.fixture(scope="session")
def onebox_meta(cluster: StaticCluster) -> str:
    return cluster.meta
