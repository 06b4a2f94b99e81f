from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pegasus_log.storage import StorageOptions
from tests.unit.storage.helpers import FakeClock, open_store


def test_defaults_fit_eight_partitions_in_512_mib() -> None:
    options = StorageOptions()
    per_partition = options.block_cache_bytes + options.write_buffer_bytes * (
        options.max_write_buffers
    )
    assert 8 * per_partition <= 256 * 1024 * 1024
    assert options.multi_get_max_iteration_count == 3000
    assert options.max_iteration_count == 1000
    assert options.scanner_idle_timeout_s == 300


@pytest.mark.parametrize(
    "change",
    [
        {"block_cache_bytes": 0},
        {"max_write_buffers": 1},
        {"multi_get_max_iteration_count": 0},
        {"multi_get_max_iteration_size_bytes": -1},
        {"scanner_contexts_max": 0},
        {"max_open_files": 0},
        {"compression": "brotli"},
    ],
)
def test_invalid_options(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        dataclasses.replace(StorageOptions(), **change)  # type: ignore[arg-type]


@pytest.mark.parametrize("compression", ["none", "snappy", "lz4", "zstd"])
def test_every_compression_opens(tmp_path: Path, compression: str) -> None:
    options = StorageOptions(compression=compression, sync_writes=True)
    with open_store(tmp_path / "db", FakeClock(), options=options) as store:
        store.empty_write(1)
