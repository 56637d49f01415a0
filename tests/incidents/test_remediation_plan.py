"""Building and approving remediation plans: the preview (totals per asset, counts per
kind, what is skipped and why) writes nothing; refunds are checked against the ledger;
only permitted staff prepare; the preparer can never approve (service and database); each
decision is in the audit trail and the timeline."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from anxin.care import disputes
from anxin.incidents import remediation_approval as approval
from anxin.incidents import remediation_plan as plans
from anxin.incidents.remediation_spec import (
    FourEyes,
    InvalidRemediation,
    NotAllowed,
    NothingToRemediate,
    PlanInProgress,
    PlanNotApprovable,
    named_debits,
    named_freezes,
    parse_spec,
)
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, ReverseOp
from anxin.models import User
from anxin.models.incidents import IncidentEvent, RemediationItem, RemediationPlan
from anxin.models.insider import AuditEntry
from anxin.privacy.vault import Vault
from anxin.wallet import freeze
from tests.incidents.remediation_helpers import (
    NOW,
    World,
    affect,
    debit,
    fund,
    make_user,
    settings,
    uow,
    vault,
    world,
)

__all__ = ["settings", "uow", "vault", "world"]

SPEC = {"note": "the shop charged twice", "refund": {}, "goodwill": {"amount": 5_00,
                                                                     "asset": "CNY"}}  # fmt: skip


def count(uow: UnitOfWork, model: type) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(model)) or 0)


def events(uow: UnitOfWork, world: World) -> list[str]:
    query = select(IncidentEvent.kind).where(IncidentEvent.incident_id == world.incident.id)
    return list(uow.session.scalars(query.order_by(IncidentEvent.at, IncidentEvent.id)))


def test_facts_name_debits_and_freezes_in_every_shape_the_queries_write() -> None:
    capture, fee, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    facts = {
        "payments": [{"payment_id": "p", "capture_id": str(capture), "amount": 30_00,
                      "fee_capture_id": str(fee), "fee": 50}, "junk"],
        "transfers": [{"id": str(other)}, {"id": "not-a-uuid", "amount": 5}],
        "freezes": [{"freeze_id": str(capture)}], "tickets": [{"ticket_id": str(fee)}],
    }  # fmt: skip
    assert named_debits(facts) == {capture: 30_00, fee: 50, other: None}
    assert named_freezes(facts) == {capture}
    assert named_debits({}) == {} and named_freezes({"freezes": None}) == set()


def test_specs_are_refused_with_one_typed_error() -> None:
    for bad, where in (
        ({"note": "x"}, "spec"),  # no remedy at all
        ({"note": "x", "goodwill": {"amount": 10.5, "asset": "CNY"}}, "goodwill.amount"),
        ({"note": "x", "goodwill": {"amount": "10", "asset": "CNY"}}, "goodwill.amount"),
        ({"note": "x", "fee_waiver": {"days": 0}}, "fee_waiver.days"),
        ({"note": "x", "unfreeze": {"note": "ok", "reason_codes": ["nope"]}}, "unfreeze"),
        ({"note": "x", "refund": {}, "surprise": 1}, "surprise"),
    ):
        with pytest.raises(InvalidRemediation) as caught:
            parse_spec(bad)
        assert caught.value.extra["field"] == where, caught.value.detail


def test_preview_counts_and_totals_every_holder_and_writes_nothing(
    uow: UnitOfWork, world: World
) -> None:
    summary = plans.preview(uow.session, world.incident, parse_spec(SPEC)).to_json()
    assert summary["affected_holders"] == summary["holders"] == 3
    assert summary["items"] == {"unfreeze": 0, "fee_waiver": 0, "refund": 3, "goodwill": 3}
    assert summary["totals"] == {"CNY": 3 * 25_00 + 3 * 5_00}
    assert summary["per_kind"] == {"goodwill": {"CNY": 15_00}, "refund": {"CNY": 75_00}}
    assert summary["skipped"] == {}
    assert count(uow, RemediationPlan) == count(uow, RemediationItem) == 0


def test_refunds_are_checked_against_the_ledger(uow: UnitOfWork, vault: Vault,
                                                world: World) -> None:  # fmt: skip
    s = uow.session
    a, b, c = world.holders
    # a: the facts claim less than was taken, and part was reversed already.
    [reversed_] = apply_batch(s.connection(), [Command((ReverseOp(world.debits[a.id], 20_00),))],
                              NOW - timedelta(hours=1))  # fmt: skip
    assert reversed_.ok
    # b: disputed (the dispute pays it back); also names c's debit and one that never was.
    disputes.open_dispute(s, vault, b, transfer_id=world.debits[b.id], reason="not_me",
                          note=None, now=NOW)  # fmt: skip
    extra = {"transfers": [{"id": str(world.debits[b.id])}, {"id": str(world.debits[c.id])},
                           {"id": str(uuid.uuid4())}]}  # fmt: skip
    s.execute(update(plans.AffectedHolder).where(plans.AffectedHolder.holder_id == b.id)
              .values(facts=extra))  # fmt: skip
    # A closed holder gets nothing; a holder with two debits gets both refunded.
    closed = make_user(s, vault, NOW)
    fund(s, closed.id, 10_00, NOW - timedelta(days=2))
    affect(s, world.incident, closed, {"transfers": [{"id": str(debit(s, closed, 5_00))}]})
    closed.status = "closed"
    two = make_user(s, vault, NOW)
    fund(s, two.id, 10_00, NOW - timedelta(days=2))
    debits = [debit(s, two, 3_00), debit(s, two, 4_00, asset="CNY")]
    affect(s, world.incident, two, {"transfer_ids": [str(t) for t in debits]})
    s.flush()

    draft = plans.build(s, world.incident, parse_spec({"note": "n", "refund": {}}))
    refunds = {(r["holder_id"], r["ref"]): r["amount"] for r in draft.rows}
    assert refunds == {
        (a.id, str(world.debits[a.id])): 5_00,  # 25.00 taken, 20.00 reversed already
        (c.id, str(world.debits[c.id])): 25_00,
        (two.id, str(debits[0])): 3_00, (two.id, str(debits[1])): 4_00,
    }  # fmt: skip
    assert draft.summary.skipped == {"disputed": 1, "not_holders_debit": 1,
                                     "unknown_transfer": 1, "holder_closed": 1}  # fmt: skip
    only = parse_spec({"note": "n", "refund": {"transfer_ids": [str(debits[1])]}})
    assert [r["ref"] for r in plans.build(s, world.incident, only).rows] == [str(debits[1])]


def test_unfreeze_and_fee_waiver_items(uow: UnitOfWork, vault: Vault, world: World) -> None:
    s = uow.session
    a, b, _ = world.holders
    risk = world.approver
    named = freeze.freeze(s, vault, risk, a, scope="all", reason_code="suspected_fraud",
                          note="rule R7 misfired", now=NOW)  # fmt: skip
    by_reason = freeze.freeze(s, vault, risk, b, scope="outgoing", reason_code="aml_review",
                              note="rule R7 misfired", now=NOW)  # fmt: skip
    lifted = freeze.freeze(s, vault, risk, b, scope="outgoing", reason_code="suspected_fraud",
                           note="old", now=NOW)  # fmt: skip
    freeze.lift(s, vault, risk, b, lifted.id, note="fine", now=NOW)
    s.execute(update(plans.AffectedHolder).where(plans.AffectedHolder.holder_id == a.id)
              .values(facts={"freezes": [{"freeze_id": str(named.id)}]}))  # fmt: skip
    s.execute(update(plans.AffectedHolder).where(plans.AffectedHolder.holder_id == b.id)
              .values(facts={"freezes": [{"freeze_id": str(lifted.id)}]}))  # fmt: skip
    spec = parse_spec(
        {
            "note": "n",
            "fee_waiver": {"days": 30, "operation": "p2p"},
            "unfreeze": {"note": "R7 was wrong", "reason_codes": ["aml_review"]},
        }
    )
    draft = plans.build(s, world.incident, spec)
    unfreezes = {(r["holder_id"], r["ref"]) for r in draft.rows if r["kind"] == "unfreeze"}
    assert unfreezes == {(a.id, str(named.id)), (b.id, str(by_reason.id))}
    assert draft.summary.items["fee_waiver"] == 3
    assert draft.summary.skipped == {"freeze_not_active": 1}
    assert draft.summary.totals == {}


def test_prepare_saves_a_draft_once_and_only_for_permitted_staff(
    uow: UnitOfWork, world: World
) -> None:
    s = uow.session
    with pytest.raises(NotAllowed):
        plans.prepare(s, world.incident, parse_spec(SPEC), staff=world.agent, now=NOW)
    with pytest.raises(NotAllowed):
        plans.prepare(s, world.incident, parse_spec(SPEC), staff=world.admin, now=NOW)
    plan, summary = plans.prepare(s, world.incident, parse_spec(SPEC), staff=world.preparer,
                                  now=NOW)  # fmt: skip
    assert (plan.status, plan.item_count, plan.paid_count) == ("draft", 6, 0)
    assert plan.totals == {"CNY": 90_00} and summary.holders == 3
    items = list(s.scalars(select(RemediationItem).order_by(RemediationItem.id)))
    assert [i.holder_id for i in items] == sorted(i.holder_id for i in items)
    assert len({i.transfer_key for i in items}) == 6
    assert {i.status for i in items} == {"pending"}
    with pytest.raises(PlanInProgress):
        plans.prepare(s, world.incident, parse_spec(SPEC), staff=world.approver, now=NOW)
    assert events(uow, world)[-1] == "remediation_prepared"
    uow.commit()
    audited = uow.session.scalars(select(AuditEntry.event).where(AuditEntry.subject_id == plan.id))
    assert list(audited) == ["remediation.prepared"]


def test_nothing_to_pay_is_refused(uow: UnitOfWork, world: World) -> None:
    spec = parse_spec({"note": "n", "unfreeze": {"note": "none are frozen"}})
    with pytest.raises(NothingToRemediate):
        plans.prepare(uow.session, world.incident, spec, staff=world.preparer, now=NOW)


def test_four_eyes_in_the_service_and_in_the_database(uow: UnitOfWork, world: World) -> None:
    s = uow.session
    plan, _ = plans.prepare(s, world.incident, parse_spec(SPEC), staff=world.approver, now=NOW)
    with pytest.raises(FourEyes):
        approval.approve(s, plan.id, world.approver, now=NOW)
    with pytest.raises(FourEyes):
        approval.reject(s, plan.id, world.approver, now=NOW, note="mine, but no")
    with pytest.raises(NotAllowed):  # a senior agent prepares but never approves
        approval.approve(s, plan.id, world.preparer, now=NOW)
    # Even written straight to the table, the preparer cannot be the approver.
    with pytest.raises(IntegrityError), s.begin_nested():
        s.execute(update(RemediationPlan).where(RemediationPlan.id == plan.id)
                  .values(approved_by=world.approver.id, status="approved"))  # fmt: skip
    approved = approval.approve(s, plan.id, world.admin, now=NOW, note="checked the totals")
    assert (approved.status, approved.approved_by) == ("approved", world.admin.id)
    with pytest.raises(PlanNotApprovable):
        approval.approve(s, plan.id, world.admin, now=NOW)
    assert events(uow, world)[-2:] == ["remediation_prepared", "remediation_approved"]
    uow.commit()
    query = select(AuditEntry.event, AuditEntry.actor_id).where(AuditEntry.subject_id == plan.id)
    assert list(uow.session.execute(query.order_by(AuditEntry.seq)).all()) == [
        ("remediation.prepared", world.approver.id), ("remediation.approved", world.admin.id),
    ]  # fmt: skip


def test_rejection_needs_a_reason_is_recorded_and_frees_the_incident(
    uow: UnitOfWork, world: World
) -> None:
    s = uow.session
    plan, _ = plans.prepare(s, world.incident, parse_spec(SPEC), staff=world.preparer, now=NOW)
    with pytest.raises(InvalidRemediation):
        approval.reject(s, plan.id, world.approver, now=NOW, note="  ")
    rejected = approval.reject(s, plan.id, world.approver, now=NOW, note="goodwill too low")
    assert (rejected.status, rejected.approved_by) == ("rejected", None)
    event = s.scalars(select(IncidentEvent).where(IncidentEvent.kind == "remediation_rejected"))
    assert event.one().data["note"] == "goodwill too low"
    # The refunds of a rejected plan can be planned again.
    again, summary = plans.prepare(s, world.incident, parse_spec(SPEC), staff=world.preparer,
                                   now=NOW + timedelta(minutes=5))  # fmt: skip
    assert again.item_count == 6 and summary.skipped == {}
    uow.commit()
    audited = s.scalars(select(AuditEntry.event).where(AuditEntry.subject_id == plan.id))
    assert list(audited) == ["remediation.prepared", "remediation.rejected"]


def test_a_staff_member_is_a_user_with_a_role(uow: UnitOfWork, world: World) -> None:
    holder: User = world.holders[0]
    with pytest.raises(NotAllowed):
        plans.prepare(uow.session, world.incident, parse_spec(SPEC), staff=holder, now=NOW)
