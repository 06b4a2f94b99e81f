"""The per-replica remote commands' argument rule and report (replica/replica_commands.py),
as upstream's exec_command_on_replica prints them."""

from __future__ import annotations

from pegasus_log.replica.replica_commands import INVALID_ARGUMENTS, chosen, killed, report
from pegasus_log.rpc.admin import PartitionStatus as S
from pegasus_log.rpc.error_code import ErrorCode

STATUSES = {
    (1, 0): S.PS_PRIMARY,
    (1, 1): S.PS_SECONDARY,
    (1, 2): S.PS_POTENTIAL_SECONDARY,  # a learner does not answer
    (2, 0): S.PS_SECONDARY,
}


def _answer(gpid: tuple[int, int]) -> str:
    return f"answer-{gpid[0]}-{gpid[1]}"


def test_no_argument_is_every_serving_replica() -> None:
    assert chosen([], STATUSES) == ([(1, 0), (1, 1), (2, 0)], [])
    assert report([], STATUSES, address="127.0.0.1:34801", answer=_answer) == (
        "3 processed, 0 not found\n"
        "    1.0@127.0.0.1:34801@P : answer-1-0\n"
        "    1.1@127.0.0.1:34801@S : answer-1-1\n"
        "    2.0@127.0.0.1:34801@S : answer-2-0"
    )


def test_app_ids_and_gpids_and_what_is_not_found() -> None:
    assert chosen(["2,1.1", "1.2", "3.0"], STATUSES) == (
        [(1, 1), (2, 0)],
        [(1, 1), (1, 2), (3, 0)],
    )
    assert report(["2", "1.1,1.2,3.0"], STATUSES, address="a:1", answer=_answer) == (
        "2 processed, 2 not found\n"
        "    1.1@a:1@S : answer-1-1\n"
        "    1.2@a:1 : not found\n"
        "    2.0@a:1@S : answer-2-0\n"
        "    3.0@a:1 : not found"
    )


def test_bad_arguments() -> None:
    for args in (["x"], ["1.x"], ["1.0.0"], ["1,,y"]):
        assert chosen(args, STATUSES) == INVALID_ARGUMENTS, args
        assert report(args, STATUSES, address="a:1", answer=_answer) == INVALID_ARGUMENTS


def test_kill_partition_names_replicas_as_upstream() -> None:
    hosted = [(2, 1), (1, 0), (2, 0)]
    assert killed([], hosted) == [(1, 0), (2, 0), (2, 1)]
    assert killed(["-1"], hosted) == [(1, 0), (2, 0), (2, 1)]
    assert killed(["2"], hosted) == [(2, 0), (2, 1)]
    assert killed(["2", "-1"], hosted) == [(2, 0), (2, 1)]
    assert killed(["3"], hosted) == []  # an app with nothing here: nothing to kill
    assert killed(["2", "1"], hosted) == [(2, 1)]
    assert killed(["2", "5"], hosted) is ErrorCode.ERR_OBJECT_NOT_FOUND
    assert killed(["1", "2", "3"], hosted) is ErrorCode.ERR_INVALID_PARAMETERS
    assert killed(["one"], hosted) is ErrorCode.ERR_INVALID_PARAMETERS
