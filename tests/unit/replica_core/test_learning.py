"""Learning: a learner asks, the primary answers from its prepare list, its log, or a
checkpoint; the learner logs what it learned, reports completion; the primary proposes
UPGRADE_TO_SECONDARY. Prepares reach the learner from its prepare start and need its ack."""

from __future__ import annotations

from dataclasses import replace

from pegasus_log.replica.core import (
    AppendLog,
    CheckpointInstalled,
    CheckpointReady,
    CheckpointRef,
    ClientWrite,
    ConfigProposal,
    ConfigUpdate,
    ConfigUpdateReply,
    Effect,
    GroupCheck,
    InstallCheckpoint,
    LearnCompletion,
    LearnerStatus,
    LearnRequest,
    LearnResponse,
    LogRead,
    Prepare,
    PrepareAck,
    ReadLog,
    ReplicaCore,
    SendCheckpoint,
    SendPrepareAck,
)
from pegasus_log.replica.core import status as st
from pegasus_log.replica.plog.mutation import encoded_size
from pegasus_log.rpc.admin import ConfigType
from pegasus_log.rpc.error_code import ErrorCode
from pegasus_log.rpc.thrift import RpcAddress

from .helpers import (
    CFG,
    GPID,
    A,
    B,
    C,
    D,
    applied,
    core,
    log_all,
    mutation,
    of,
    pc,
    primary,
    proposals,
    sent,
    update,
)

SMALL = replace(CFG, prepare_list_max=4, staleness_max=2, write_mutations_in_flight_max=2)


def committed_writes(p: ReplicaCore, count: int) -> list[Effect]:
    """``count`` writes through primary ``p`` whose only secondary is B, all committed."""
    out: list[Effect] = []
    for i in range(count):
        effects = p.step(ClientWrite(100 + i, update(100 + i)))
        out += effects
        log_all(p, effects)
        for m in sent(effects, Prepare, B):
            out += p.step(PrepareAck(GPID, p.ballot, m.mutation.decree, B))
    return out


def add_learner(p: ReplicaCore, learner: ReplicaCore) -> list[Effect]:
    """Meta asks ``p`` to add the learner; the learner hears the group check; returns the
    learner's effects (its learn request among them)."""
    effects = p.step(
        ConfigProposal(ConfigType.CT_ADD_SECONDARY, learner.node, pc(p.ballot, A, [B]))
    )
    [check] = sent(effects, GroupCheck, learner.node)
    assert check.status == st.POTENTIAL_SECONDARY and check.signature > 0
    return learner.step(check)


def test_learner_asks_from_its_commit_point() -> None:
    p = primary([B])
    learner = core(D, ballot=0)
    effects = add_learner(p, learner)
    assert learner.status == st.POTENTIAL_SECONDARY
    [request] = sent(effects, LearnRequest, A)
    assert request.last_committed_decree == 0
    assert learner.learner_status == LearnerStatus.WITHOUT_PREPARE


def test_learning_from_the_prepare_list_then_upgrade() -> None:
    p = primary([B])
    committed_writes(p, 3)
    learner = core(D)
    [request] = sent(add_learner(p, learner), LearnRequest)
    [response] = sent(p.step(request), LearnResponse, D)
    assert response.err == ErrorCode.ERR_OK and response.checkpoint is None
    assert [m.decree for m in response.mutations] == [1, 2, 3]
    assert response.prepare_start_decree == 4
    effects = learner.step(response)
    assert applied(effects) == [1, 2, 3]  # committed on the primary: applied at once
    assert len(of(effects, AppendLog)) == 3
    # Complete only once everything learned is durable.
    assert sent(effects, LearnCompletion) == []
    done = log_all(learner, effects)
    [notice] = sent(done, LearnCompletion, A)
    assert learner.learner_status == LearnerStatus.SUCCEEDED
    [proposal] = proposals(p.step(notice))
    assert proposal.request.type == ConfigType.CT_UPGRADE_TO_SECONDARY
    assert proposal.request.node == D and proposal.request.config.secondaries == [B, D]
    new = pc(2, A, [B, D])
    p.step(ConfigUpdateReply(ErrorCode.ERR_OK, new, ConfigType.CT_UPGRADE_TO_SECONDARY, D))
    learner.step(ConfigUpdate(new))
    assert learner.status == st.SECONDARY and p.secondaries == (B, D)


def test_from_its_prepare_start_the_learner_is_prepared_to_and_must_ack() -> None:
    p = primary([B])
    committed_writes(p, 1)
    learner = core(D)
    [request] = sent(add_learner(p, learner), LearnRequest)
    learner.step(sent(p.step(request), LearnResponse)[0])
    effects = p.step(ClientWrite(9, update(9)))
    [to_learner] = sent(effects, Prepare, D)
    assert to_learner.status == st.POTENTIAL_SECONDARY and to_learner.mutation.decree == 2
    log_all(p, effects)
    assert applied(p.step(PrepareAck(GPID, 1, 2, B))) == []
    # The learner logs it and acks after the append, like a secondary.
    got = learner.step(to_learner)
    assert of(got, SendPrepareAck) == []
    [ack] = of(log_all(learner, got), SendPrepareAck)
    assert applied(p.step(ack.ack)) == [2]


def test_a_gap_the_prepare_list_misses_is_read_from_the_log() -> None:
    p = primary([B], config=SMALL)
    committed_writes(p, 8)  # the list keeps decrees 5-8
    learner = core(D, config=SMALL)
    [request] = sent(add_learner(p, learner), LearnRequest)
    [read] = of(p.step(request), ReadLog)
    assert read.decree_gt == 0
    records = tuple(m.mutation for m in of(committed_writes(primary([B]), 8), AppendLog))
    [response] = sent(p.on_log_read(LogRead(read.read_id, records)), LearnResponse, D)
    assert [m.decree for m in response.mutations] == list(range(1, 9))


def test_a_log_missing_the_start_means_a_checkpoint() -> None:
    p = primary([B], config=SMALL)
    committed_writes(p, 8)
    learner = core(D, config=SMALL)
    [request] = sent(add_learner(p, learner), LearnRequest)
    [read] = of(p.step(request), ReadLog)
    # Segments up to decree 2 were collected: the log yields 3 onward only.
    records = tuple(m.mutation for m in of(committed_writes(primary([B]), 8), AppendLog))[2:]
    [ship] = of(p.on_log_read(LogRead(read.read_id, records)), SendCheckpoint)
    assert ship.learner == D
    ready = CheckpointReady(ship.read_id, CheckpointRef("ckpt-1", 8))
    [response] = sent(p.on_checkpoint_ready(ready), LearnResponse, D)
    assert response.checkpoint == CheckpointRef("ckpt-1", 8)
    [install] = of(learner.step(response), InstallCheckpoint)
    assert install.source == A
    after = learner.on_checkpoint_installed(CheckpointInstalled(8))
    assert learner.last_committed_decree == 8 and applied(after) == []
    [again] = sent(after, LearnRequest, A)
    assert again.last_committed_decree == 8
    [final] = sent(p.step(again), LearnResponse, D)
    assert final.mutations == () and final.prepare_start_decree == 9
    assert sent(learner.step(final), LearnCompletion)  # nothing left to log


def test_a_failed_fetch_asks_again() -> None:
    learner = core(D)
    p = primary([B])
    [request] = sent(add_learner(p, learner), LearnRequest)
    response = LearnResponse(
        GPID, 1, A, request.signature, ErrorCode.ERR_OK, 5, checkpoint=CheckpointRef("x", 5)
    )
    learner.step(response)
    retry = learner.on_checkpoint_installed(CheckpointInstalled(0, ok=False))
    assert sent(retry, LearnRequest) and learner.last_committed_decree == 0


def test_a_new_session_drops_uncommitted_entries() -> None:
    learner = core(D, ballot=1)
    learner._status = st.SECONDARY
    learner._primary_node = A
    learner.step(Prepare(update_mutation(1), A, st.SECONDARY))
    assert learner.max_prepared_decree == 1
    check = GroupCheck(GPID, 2, A, st.POTENTIAL_SECONDARY, 0, signature=(2 << 32) | 1)
    learner.step(check)
    assert learner.status == st.POTENTIAL_SECONDARY and learner.max_prepared_decree == 0


def test_a_learner_ahead_of_the_primary_must_wait() -> None:
    p = primary([B])
    learner = core(D)
    [request] = sent(add_learner(p, learner), LearnRequest)
    [response] = sent(p.step(replace(request, last_committed_decree=5)), LearnResponse)
    assert response.err == ErrorCode.ERR_INCONSISTENT_STATE


def test_unknown_learner_or_signature_is_refused() -> None:
    p = primary([B])
    learner = core(D)
    [request] = sent(add_learner(p, learner), LearnRequest)
    [wrong] = sent(p.step(replace(request, signature=request.signature + 1)), LearnResponse)
    assert wrong.err == ErrorCode.ERR_WRONG_CHECKSUM
    [unknown] = sent(p.step(replace(request, learner=B)), LearnResponse)
    assert unknown.err == ErrorCode.ERR_OBJECT_NOT_FOUND


def test_a_learner_whose_upgrade_is_out_is_not_dropped() -> None:
    # Regression (found by the simulator, seed 1643 of an earlier build): a learner
    # dropped for a late ack while its UPGRADE_TO_SECONDARY was out let a mutation commit
    # without it; the meta then accepted the upgrade and the new secondary had a hole.
    p = primary([B])
    learner = core(D)
    [request] = sent(add_learner(p, learner), LearnRequest)
    learner.step(sent(p.step(request), LearnResponse)[0])
    effects = p.step(ClientWrite(9, update(9)))  # decree 1, prepared to B and D
    log_all(p, effects)
    p.step(PrepareAck(GPID, 1, 1, B))
    [proposal] = proposals(p.step(LearnCompletion(GPID, 1, D, request.signature)))
    assert proposal.request.type == ConfigType.CT_UPGRADE_TO_SECONDARY
    # D never acks; its prepare times out while the proposal is out.
    assert applied(p.tick(CFG.learner_prepare_timeout_s + 0.1)) == []
    assert D in p.learners
    # The meta accepts: decree 1 is re-prepared under ballot 2 to D as a member.
    new = pc(2, A, [B, D])
    reply = p.step(ConfigUpdateReply(ErrorCode.ERR_OK, new, ConfigType.CT_UPGRADE_TO_SECONDARY, D))
    assert [m.mutation.decree for m in sent(reply, Prepare, D)] == [1]


def update_mutation(decree: int):  # type: ignore[no-untyped-def]
    from .helpers import mutation

    return mutation(decree, committed=0)


# ---- the balancer's copy: ADD_SECONDARY_FOR_LB -----------------------------------------


def learn_fully(p: ReplicaCore, learner: ReplicaCore, kind: ConfigType) -> list[Effect]:
    """The meta asks ``p`` (full group A, B, C) to add ``learner`` with ``kind``; the
    learner learns everything; returns the primary's effects of the completion notice."""
    effects = p.step(ConfigProposal(kind, learner.node, pc(p.ballot, A, [B, C])))
    checks = sent(effects, GroupCheck, learner.node)
    if not checks:
        return []
    [request] = sent(learner.step(checks[0]), LearnRequest)
    got = learner.step(sent(p.step(request), LearnResponse)[0])
    [notice] = sent([*got, *log_all(learner, got)], LearnCompletion, A)
    return p.step(notice)


def test_a_balancer_learner_joins_a_full_group() -> None:
    p = primary([B, C])
    effects = learn_fully(p, core(D), ConfigType.CT_ADD_SECONDARY_FOR_LB)
    [proposal] = proposals(effects)
    assert proposal.request.type == ConfigType.CT_UPGRADE_TO_SECONDARY
    assert proposal.request.config.secondaries == [B, C, D]  # replica count + 1


def test_a_cure_learner_of_a_full_group_is_dropped() -> None:
    p = primary([B, C])
    # The guardian's ADD_SECONDARY to a full group: the learner is made, then dropped
    # when it completes (the group filled up meanwhile, as far as the primary knows).
    effects = learn_fully(p, core(D), ConfigType.CT_ADD_SECONDARY)
    assert proposals(effects) == []
    assert D not in p.learners


def test_only_one_balancer_learner_beyond_the_replica_count() -> None:
    p = primary([B, C])
    first = p.step(ConfigProposal(ConfigType.CT_ADD_SECONDARY_FOR_LB, D, pc(p.ballot, A, [B, C])))
    assert sent(first, GroupCheck, D) and D in p.learners
    other = RpcAddress("10.0.0.5", 34801)
    second = p.step(
        ConfigProposal(ConfigType.CT_ADD_SECONDARY_FOR_LB, other, pc(p.ballot, A, [B, C]))
    )
    assert sent(second, GroupCheck, other) == [] and other not in p.learners


def test_the_copied_secondary_is_removed_at_the_metas_request() -> None:
    p = primary([B, C])
    learner = core(D)
    [upgrade] = proposals(learn_fully(p, learner, ConfigType.CT_ADD_SECONDARY_FOR_LB))
    grown = pc(2, A, [B, C, D])
    p.step(ConfigUpdateReply(ErrorCode.ERR_OK, grown, ConfigType.CT_UPGRADE_TO_SECONDARY, D))
    learner.step(ConfigUpdate(grown))
    assert p.secondaries == (B, C, D) and learner.status == st.SECONDARY
    # Writes now need all four members.
    effects = p.step(ClientWrite(7, update(7)))
    assert {to for to in (B, C, D) if sent(effects, Prepare, to)} == {B, C, D}
    [remove] = proposals(p.step(ConfigProposal(ConfigType.CT_REMOVE, B, grown)))
    assert remove.request.type == ConfigType.CT_REMOVE and remove.request.node == B
    assert remove.request.config.secondaries == [C, D]
    assert remove.request.config.ballot == 3
    assert upgrade.request.node == D


def test_answers_are_cut_to_learn_response_bytes_max_and_the_learner_asks_for_the_rest() -> None:
    """A learner far behind gets its mutations in answers of about
    learn_response_bytes_max each (an answer must fit in a frame); once one answer is
    durable it asks for the next at once, and completes after the last."""
    one = encoded_size(mutation(1))
    config = replace(CFG, learn_response_bytes_max=3 * one)
    p = primary([B], config=config)
    committed_writes(p, 8)
    learner = core(D, config=config)
    [request] = sent(add_learner(p, learner), LearnRequest)
    rounds: list[list[int]] = []
    while True:
        [response] = sent(p.step(request), LearnResponse, D)
        assert response.prepare_start_decree == 9  # fixed at the first answer
        assert sum(encoded_size(m) for m in response.mutations) <= 3 * one
        rounds.append([m.decree for m in response.mutations])
        effects = log_all(learner, learner.step(response))
        asks = sent(effects, LearnRequest, A)
        if not asks:
            break
        [request] = asks
        assert request.last_committed_decree == rounds[-1][-1]
    assert rounds == [[1, 2, 3], [4, 5, 6], [7, 8]]
    assert sent(effects, LearnCompletion, A)
    assert learner.last_committed_decree == 8


def test_a_partial_log_read_answers_its_held_prefix() -> None:
    """A log read cut short (ReadLog.bytes_max) still answers the decrees it holds from the
    learner's start; only a missing start means a checkpoint."""
    p = primary([B], config=SMALL)
    committed_writes(p, 8)  # the list keeps decrees 5-8
    learner = core(D, config=SMALL)
    [request] = sent(add_learner(p, learner), LearnRequest)
    [read] = of(p.step(request), ReadLog)
    assert read.bytes_max == SMALL.learn_response_bytes_max
    records = tuple(m.mutation for m in of(committed_writes(primary([B]), 8), AppendLog))[:2]
    [response] = sent(p.on_log_read(LogRead(read.read_id, records)), LearnResponse, D)
    assert [m.decree for m in response.mutations] == [1, 2]
    assert response.prepare_start_decree == 9
