"""Table env ``user_specified_compaction`` (storage/compaction_rules.py) against upstream's
compaction operations and filter rules (src/server/test/compaction_operation_test.cpp,
compaction_filter_rule_test.cpp): parsing, each rule, each operation, their order, and a
manual compaction of a real store acting on them."""

from __future__ import annotations

import json

from pegasus_log.storage import StorageStatus as S
from pegasus_log.storage.compaction_rules import (
    KEEP,
    Decision,
    KeyPattern,
    Match,
    Operation,
    TtlRange,
    TtlUpdate,
    decide,
    parse,
)
from pegasus_log.storage.schema import PEGASUS_EPOCH
from tests.unit.storage.helpers import Client


def _rule(kind: str, **params: object) -> dict[str, str]:
    return {"type": kind, "params": json.dumps(params)}


def _env(*ops: dict[str, object]) -> str:
    return json.dumps({"ops": list(ops)})


PREFIX_USER = _rule("FRT_HASHKEY_PATTERN", pattern="user_", match_type="SMT_MATCH_PREFIX")
NO_TTL = _rule("FRT_TTL_RANGE", start_ttl=0, stop_ttl=0)


def test_the_env_parses_as_upstream_reads_it() -> None:
    value = _env(
        {"type": "COT_DELETE", "params": "", "rules": [PREFIX_USER]},
        {
            "type": "COT_UPDATE_TTL",
            "params": json.dumps({"type": "UTOT_FROM_NOW", "value": 86400}),
            "rules": [
                NO_TTL,
                _rule("FRT_SORTKEY_PATTERN", pattern="x", match_type="SMT_MATCH_POSTFIX"),
            ],
        },
    )
    assert parse(value) == (
        Operation((KeyPattern(False, b"user_", Match.PREFIX),)),
        Operation(
            (TtlRange(0, 0), KeyPattern(True, b"x", Match.POSTFIX)), TtlUpdate.FROM_NOW, 86400
        ),
    )
    # Whatever does not parse is left out: the whole value, an operation, a rule.
    assert parse("") == parse("not json") == parse("[1]") == parse('{"ops": 3}') == ()
    assert parse(_env({"type": "COT_DELETE", "params": "", "rules": []})) == ()
    assert parse(_env({"type": "COT_DROP", "params": "", "rules": [PREFIX_USER]})) == ()
    bad_rule = _rule("FRT_HASHKEY_PATTERN", pattern="a", match_type="SMT_MATCH_ALL")
    assert parse(_env({"type": "COT_DELETE", "params": "", "rules": [bad_rule, PREFIX_USER]})) == (
        Operation((KeyPattern(False, b"user_", Match.PREFIX),)),
    )
    bad_update = {"type": "COT_UPDATE_TTL", "params": '{"type": "UTOT_LATER", "value": 1}'}
    assert parse(_env({**bad_update, "rules": [PREFIX_USER]})) == ()
    negative = {"type": "COT_UPDATE_TTL", "params": '{"type": "UTOT_FROM_NOW", "value": -1}'}
    assert parse(_env({**negative, "rules": [PREFIX_USER]})) == ()


def test_each_rule_matches_as_upstreams() -> None:
    def matches(rule: KeyPattern | TtlRange, hk: bytes = b"", sk: bytes = b"", ts: int = 0) -> bool:
        return rule.matches(hk, sk, ts, 1000)

    assert matches(KeyPattern(False, b"ab", Match.ANYWHERE), hk=b"xaby")
    assert not matches(KeyPattern(False, b"ab", Match.PREFIX), hk=b"xaby")
    assert matches(KeyPattern(True, b"by", Match.POSTFIX), sk=b"xaby")
    assert not matches(KeyPattern(True, b"by", Match.POSTFIX), hk=b"xaby")
    assert not matches(KeyPattern(False, b"", Match.ANYWHERE), hk=b"x")  # empty matches nothing
    assert not matches(KeyPattern(False, b"long", Match.PREFIX), hk=b"lo")
    assert matches(TtlRange(0, 0), ts=0)  # no TTL
    assert not matches(TtlRange(0, 0), ts=1500)
    assert matches(TtlRange(100, 600), ts=1100) and matches(TtlRange(100, 600), ts=1600)
    assert not matches(TtlRange(100, 600), ts=1099) and not matches(TtlRange(100, 600), ts=0)


def test_operations_in_order() -> None:
    user = (KeyPattern(False, b"user_", Match.PREFIX),)
    delete = Operation(user)
    from_now = Operation(user, TtlUpdate.FROM_NOW, 60)
    from_current = Operation(user, TtlUpdate.FROM_CURRENT, 60)
    at = Operation(user, TtlUpdate.TIMESTAMP, PEGASUS_EPOCH + 5000)
    assert decide([delete], b"user_1", b"s", 0, 1000) == Decision(delete=True)
    assert decide([delete], b"other", b"s", 0, 1000) is KEEP
    assert decide([from_now], b"user_1", b"s", 0, 1000) == Decision(expire_ts=1060)
    assert decide([from_current], b"user_1", b"s", 0, 1000) is KEEP  # no TTL: left alone
    assert decide([from_current], b"user_1", b"s", 2000, 1000) == Decision(expire_ts=2060)
    assert decide([at], b"user_1", b"s", 0, 1000) == Decision(expire_ts=5000)
    # Every update that applies rewrites it, the last one winning; a delete after them
    # still drops the record, and nothing after a delete is looked at.
    assert decide([from_now, at], b"user_1", b"s", 0, 1000) == Decision(expire_ts=5000)
    assert decide([from_now, delete], b"user_1", b"s", 0, 1000) == Decision(delete=True)
    assert decide([delete, from_now], b"user_1", b"s", 0, 1000) == Decision(delete=True)


def test_a_manual_compaction_acts_on_the_rules(client: Client) -> None:
    store = client.store
    for i in range(5):
        assert client.set(b"user_%d" % i, b"s", b"v") == S.kOk
        assert client.set(b"keep_%d" % i, b"s", b"v") == S.kOk
        assert client.set(b"keep_%d" % i, b"ttl", b"v", ttl_seconds=100) == S.kOk
    update = {"type": "COT_UPDATE_TTL", "params": '{"type": "UTOT_FROM_NOW", "value": 500}'}
    store.set_user_specified_compaction(
        _env(
            {"type": "COT_DELETE", "params": "", "rules": [PREFIX_USER]},
            {**update, "rules": [NO_TTL]},
        )
    )
    assert client.get(b"user_0", b"s") == (S.kOk, b"v")  # nothing happens before a compaction
    stats = store.compact()
    assert (stats.user_deleted, stats.user_ttl_updated) == (5, 5)
    assert all(client.get(b"user_%d" % i, b"s") == (S.kNotFound, b"") for i in range(5))
    assert all(client.ttl(b"keep_%d" % i, b"s") == (S.kOk, 500) for i in range(5))
    assert all(client.ttl(b"keep_%d" % i, b"ttl") == (S.kOk, 100) for i in range(5))
    # The env removed, a compaction leaves everything as it is.
    store.set_user_specified_compaction("")
    assert client.set(b"user_9", b"s", b"v") == S.kOk
    stats = store.compact()
    assert (stats.user_deleted, stats.user_ttl_updated) == (0, 0)
    assert client.get(b"user_9", b"s") == (S.kOk, b"v")
