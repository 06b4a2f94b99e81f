"""Table env rules: the keys admin tools offer are taken, values are checked with
upstream's hint texts, and set / del / clear change only what they name."""

from __future__ import annotations

import pytest

from pegasus_log.meta import app_env
from pegasus_log.rpc import admin as a

SET = int(a.AppEnvOperation.APP_ENV_OP_SET)
DEL = int(a.AppEnvOperation.APP_ENV_OP_DEL)
CLEAR = int(a.AppEnvOperation.APP_ENV_OP_CLEAR)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("rocksdb.usage_scenario", "bulk_load"),
        ("rocksdb.usage_scenario", "prefer_write"),
        ("replica.deny_client_request", "timeout*read"),
        ("replica.deny_client_request", "reconfig*all"),
        ("replica.write_throttling", "100*delay*10"),
        ("replica.write_throttling", "100K*delay*10,2M*reject*20"),
        ("replica.write_throttling_by_size", "10M*reject*5"),
        ("replica.read_throttling_by_size", "200K"),
        ("replica.read_throttling_by_size", "200"),
        ("replica.read_throttling_by_size", "10*delay*5"),
        ("default_ttl", "0"),
        ("default_ttl", "86400"),
        ("manual_compact.disabled", "TRUE"),
        ("manual_compact.max_concurrent_running_count", "8"),
        ("manual_compact.once.trigger_time", "1700000000"),
        ("manual_compact.once.target_level", "-1"),
        ("manual_compact.once.bottommost_level_compaction", "force"),
        ("manual_compact.periodic.trigger_time", "3:00,21:00"),
        ("manual_compact.periodic.target_level", "2"),
        ("manual_compact.periodic.bottommost_level_compaction", "skip"),
        ("rocksdb.checkpoint.reserve_min_count", "2"),
        ("rocksdb.checkpoint.reserve_time_seconds", "0"),
        ("replica.slow_query_threshold", "20"),
        ("replica.rocksdb_iteration_threshold_time_ms", "1000"),
        ("replica.split.validate_partition_hash", "false"),
        ("rocksdb.write_buffer_size", str(16 << 20)),
        ("rocksdb.num_levels", "10"),
        ("business.info", "anything at all"),
        ("duplication.master_cluster", "c1"),
    ],
)
def test_good_values_are_taken(key: str, value: str) -> None:
    assert app_env.check(key, value) is None


@pytest.mark.parametrize(
    ("key", "value", "hint"),
    [
        ("no.such.key", "1", "app_env 'no.such.key' is not supported"),
        ("rocksdb.iteration_threshold_time_ms", "1", "is not supported"),
        ("rocksdb.usage_scenario", "fast", "bulk_load | normal | prefer_write"),
        ("default_ttl", "soon", "invalid value 'soon', should be an 32 bits integer"),
        ("default_ttl", "-1", "invalid value '-1', should be '>= 0'"),
        ("default_ttl", str(1 << 31), "should be an 32 bits integer"),
        ("manual_compact.disabled", "yes", "invalid value 'yes', should be a boolean"),
        ("manual_compact.once.target_level", "0", "should be '-1 or >= 1'"),
        ("manual_compact.once.bottommost_level_compaction", "auto", "force | skip"),
        ("rocksdb.checkpoint.reserve_min_count", "0", "should be '> 0'"),
        ("replica.slow_query_threshold", "19", "should be '>= 20'"),
        ("replica.deny_client_request", "timeout*some", "Invalid deny client args"),
        ("replica.deny_client_request", "timeout", "Invalid deny client args"),
        ("replica.write_throttling", "", "The value shouldn't be empty"),
        ("replica.write_throttling", "100*delay", "separated by '*' must be 3"),
        ("replica.write_throttling", "x*delay*1", "'x' should be an unsigned integer"),
        ("replica.write_throttling", "1*wait*1", "'wait' should be 'delay' or 'reject'"),
        ("replica.write_throttling", "1*delay*1,2*delay*1", "duplicate 'delay' config"),
        ("replica.read_throttling_by_size", "0", "separated by '*' must be 3"),
        (
            "replica.read_throttling_by_size",
            "1*delay*1,0*reject*1",
            "reject value should be greater than 0",
        ),
        ("rocksdb.write_buffer_size", "1024", "In range [16777216, 536870912]"),
        ("rocksdb.num_levels", "11", "In range [1, 10]"),
    ],
)
def test_bad_values_are_refused_with_a_hint(key: str, value: str, hint: str) -> None:
    got = app_env.check(key, value)
    assert got is not None and hint in got


def test_create_checks_only_the_rocksdb_options() -> None:
    assert app_env.check_at_create({"anything.goes": "x", "duplication.master_metas": "m"}) is None
    assert app_env.check_at_create({"rocksdb.num_levels": "6"}) is None
    hint = app_env.check_at_create({"rocksdb.num_levels": "0"})
    assert hint is not None and "rocksdb.num_levels=0" in hint


def _req(op: int, **kw: object) -> a.UpdateAppEnvRequest:
    return a.UpdateAppEnvRequest(app_name="t", op=op, **kw)  # type: ignore[arg-type]


def test_set_takes_all_pairs_or_none() -> None:
    envs = {"default_ttl": "1"}
    ok = app_env.apply(envs, _req(SET, keys=["default_ttl", "business.info"], values=["2", "b"]))
    assert not ok.refused and ok.envs == {"default_ttl": "2", "business.info": "b"}
    assert envs == {"default_ttl": "1"}  # not changed in place
    bad = app_env.apply(envs, _req(SET, keys=["business.info", "nope"], values=["b", "1"]))
    assert bad.refused and bad.envs == envs and "'nope' is not supported" in bad.hint
    assert app_env.apply(envs, _req(SET, keys=["default_ttl"], values=[])).refused
    assert app_env.apply(envs, _req(SET, keys=[], values=[])).refused


def test_del_and_clear() -> None:
    envs = {
        "default_ttl": "1",
        "manual_compact.once.trigger_time": "5",
        "manual_compact.once.target_level": "2",
        "manual_compact.disabled": "true",
        "manual_compactx": "1",
    }
    deleted = app_env.apply(envs, _req(DEL, keys=["default_ttl", "absent"]))
    assert not deleted.refused and "default_ttl" not in deleted.envs
    assert len(deleted.envs) == len(envs) - 1
    assert app_env.apply(envs, _req(DEL, keys=[])).refused
    prefix = app_env.apply(envs, _req(CLEAR, clear_prefix="manual_compact.once"))
    assert set(prefix.envs) == {"default_ttl", "manual_compact.disabled", "manual_compactx"}
    assert app_env.apply(envs, _req(CLEAR, clear_prefix="")).envs == {}
    assert app_env.apply(envs, _req(CLEAR)).refused  # prefix unset
    invalid = app_env.apply(envs, _req(int(a.AppEnvOperation.APP_ENV_OP_INVALID)))
    assert invalid.refused and "APP_ENV_OP_INVALID" in invalid.hint
