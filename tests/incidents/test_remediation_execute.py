"""Executing plans: money from the operator's compensation account through the ledger,
freezes lifted, fee waivers granted, each holder told what they received; a resumed or
concurrent run never pays twice (the ledger key of each item answers a second submission
with the first result); failed items can be retried with a new key; progress per kind and
per asset; ``anxin ledger verify`` after every run."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from anxin.incidents import remediation_approval as approval
from anxin.incidents import remediation_execute as execute
from anxin.incidents import remediation_plan as plans
from anxin.incidents.remediation_progress import progress
from anxin.incidents.remediation_runner import run_plan
from anxin.incidents.remediation_spec import PlanNotExecutable, parse_spec
from anxin.kit.clock import ManualClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger import service as ledger
from anxin.models import FeeWaiver, Freeze, Notification, Transfer
from anxin.models.incidents import Incident, IncidentEvent, RemediationItem, RemediationPlan
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, fees, freeze
from tests.incidents.remediation_helpers import (
    NOW,
    World,
    balance,
    incident_transfers,
    make_world,
    settings,
    uow,
    vault,
    verify,
    world,
)

__all__ = ["settings", "uow", "vault", "world"]

SPEC = {"note": "the shop charged twice", "refund": {},
        "goodwill": {"amount": 5_00, "asset": "CNY"}}  # fmt: skip


def approved_plan(database: Database, world: World, spec: dict[str, object] = SPEC) -> uuid.UUID:
    with UnitOfWork(database) as unit:
        incident = unit.session.get(Incident, world.incident.id)
        assert incident is not None
        plan, _ = plans.prepare(unit.session, incident, parse_spec(spec),
                                staff=unit.session.merge(world.preparer), now=NOW)  # fmt: skip
        approval.approve(unit.session, plan.id, unit.session.merge(world.approver), now=NOW)
        unit.commit()
        return plan.id


def run(database: Database, vault: Vault, world: World, plan_id: uuid.UUID,
        **kw: object) -> object:  # fmt: skip
    return run_plan(database, vault, plan_id, world.approver.id, clock=ManualClock(NOW),
                    **kw)  # type: ignore[arg-type]  # fmt: skip


def test_a_plan_pays_every_holder_once_and_tells_them(
    database: Database, vault: Vault, world: World
) -> None:
    plan_id = approved_plan(database, world)
    result = run(database, vault, world, plan_id, chunk_items=2)
    assert (result.done, result.failed, result.finished) == (6, 0, True)  # type: ignore[attr-defined]
    with UnitOfWork(database) as unit:
        s = unit.session
        for holder in world.holders:
            assert balance(s, holder) == 100_00 - 25_00 + 25_00 + 5_00
        plan = s.get(RemediationPlan, plan_id)
        assert plan is not None
        assert (plan.status, plan.paid_count, plan.finished_at) == ("done", 6, NOW)
        incident = s.get(Incident, world.incident.id)
        assert incident is not None and incident.compensated_at == NOW
        operator = accounts.system_account(s, execute.OPERATOR_ACCOUNT, "CNY", NOW)
        assert ledger.balance_of(operator).posted == -90_00
        items = list(s.scalars(select(RemediationItem)))
        assert {i.status for i in items} == {"done"}
        assert len({i.transfer_id for i in items}) == 6
        refund = s.get(Transfer, next(i.transfer_id for i in items if i.kind == "refund"))
        assert refund is not None and refund.kind == "incident_refund"
        assert refund.meta["counterparty"] == "Anxin"
        notices = list(s.scalars(select(Notification).where(
            Notification.kind == "incident.remediated")))  # fmt: skip
        assert len(notices) == 3
        assert {n.user_id for n in notices} == {h.id for h in world.holders}
        assert "25.00 CNY" in notices[0].body and "5.00 CNY" in notices[0].body
        assert world.incident.reference in notices[0].title
        kinds = list(s.scalars(select(IncidentEvent.kind).order_by(IncidentEvent.at,
                                                                   IncidentEvent.id)))  # fmt: skip
        assert kinds[-3:] == ["remediation_approved", "remediation_started",
                              "remediation_completed"]  # fmt: skip
        verify(s)
        shown = progress(s, plan)
        assert (shown["paid"], shown["total"], shown["failed"], shown["pending"]) == (6, 6, 0, 0)
        assert shown["per_kind"]["refund"] == {"total": 3, "done": 3, "failed": 0}
        assert shown["per_asset"] == {"CNY": {"planned": 90_00, "paid": 90_00}}
    again = run(database, vault, world, plan_id)  # a finished plan: nothing left to do
    assert (again.done, again.finished) == (0, True)  # type: ignore[attr-defined]


def test_only_an_approved_plan_runs(database: Database, vault: Vault, world: World) -> None:
    with UnitOfWork(database) as unit:
        incident = unit.session.get(Incident, world.incident.id)
        assert incident is not None
        plan, _ = plans.prepare(unit.session, incident, parse_spec(SPEC),
                                staff=unit.session.merge(world.preparer), now=NOW)  # fmt: skip
        unit.commit()
    with pytest.raises(PlanNotExecutable):
        run(database, vault, world, plan.id)


def test_a_lost_item_update_is_answered_by_the_ledger_key_not_paid_again(
    database: Database, vault: Vault, world: World
) -> None:
    """Item states commit with the money, so this cannot happen by a crash; it shows the
    second guard: re-submitting an item gets the stored result back."""
    plan_id = approved_plan(database, world)
    run(database, vault, world, plan_id)
    with UnitOfWork(database) as unit:
        before = {i.id: i.transfer_id for i in unit.session.scalars(select(RemediationItem))}
        unit.session.execute(update(RemediationItem).values(status="pending", transfer_id=None))
        unit.session.execute(update(RemediationPlan).values(status="executing", paid_count=0))
        unit.commit()
    result = run(database, vault, world, plan_id)
    assert result.done == 6  # type: ignore[attr-defined]
    with UnitOfWork(database) as unit:
        after = {i.id: i.transfer_id for i in unit.session.scalars(select(RemediationItem))}
        assert after == before
        assert incident_transfers(unit.session, world.incident.reference) == 6
        for holder in world.holders:
            assert balance(unit.session, holder) == 105_00
        verify(unit.session)


def test_two_executors_at_once_pay_each_item_once(database: Database, vault: Vault,
                                                  uow: UnitOfWork) -> None:  # fmt: skip
    world = make_world(uow.session, vault, holders=40)
    uow.commit()
    plan_id = approved_plan(database, world)
    errors: list[BaseException] = []

    def executor() -> None:
        try:
            run(database, vault, world, plan_id, chunk_items=6)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=executor) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    with UnitOfWork(database) as unit:
        s = unit.session
        assert incident_transfers(s, world.incident.reference) == 80
        plan = s.get(RemediationPlan, plan_id)
        assert plan is not None and (plan.status, plan.paid_count) == ("done", 80)
        notices = s.scalar(select(func.count()).where(Notification.kind == "incident.remediated"))
        assert notices == 40
        for holder in world.holders:
            assert balance(s, holder) == 105_00
        verify(s)


def test_freezes_are_lifted_and_fees_waived_before_money_arrives(
    database: Database, vault: Vault, world: World, uow: UnitOfWork
) -> None:
    s = uow.session
    frozen = world.holders[0]
    held = freeze.freeze(s, vault, s.merge(world.approver), s.merge(frozen), scope="all",
                         reason_code="suspected_fraud", note="rule R7", now=NOW)  # fmt: skip
    uow.commit()
    spec = {
        **SPEC,
        "fee_waiver": {"days": 30, "operation": "p2p"},
        "unfreeze": {"note": "R7 misfired", "reason_codes": ["suspected_fraud"]},
    }
    plan_id = approved_plan(database, world, spec)
    result = run(database, vault, world, plan_id)
    assert (result.done, result.failed) == (3 + 3 + 3 + 1, 0)  # type: ignore[attr-defined]
    with UnitOfWork(database) as unit:
        s = unit.session
        lifted = s.get(Freeze, held.id)
        assert lifted is not None and (lifted.status, lifted.lifted_by) == (
            "lifted",
            world.approver.id,
        )
        assert balance(s, frozen) == 105_00  # the frozen wallet got its money
        waivers = list(s.scalars(select(FeeWaiver)))
        assert {w.user_id for w in waivers} == {h.id for h in world.holders}
        assert {(w.kind, w.operation, w.ends_at) for w in waivers} == {
            ("compensation", "p2p", NOW + timedelta(days=30))}  # fmt: skip
        quote = fees.quote_fee(s, "p2p", "CNY", 10_00, frozen.id, NOW + timedelta(days=1))
        assert quote.waiver_kind in (None, "compensation")
        notice = s.scalars(
            select(Notification).where(
                Notification.kind == "incident.remediated", Notification.user_id == frozen.id
            )
        ).one()
        assert "解除钱包冻结" in notice.body and "免收手续费" in notice.body  # zh-CN holder
        kinds = [item["kind"] for item in notice.data["items"]]
        assert kinds == ["unfreeze", "fee_waiver", "refund", "goodwill"]
        verify(s)


def test_a_failed_item_is_reported_and_retried_with_a_new_key(
    database: Database, vault: Vault, world: World, uow: UnitOfWork
) -> None:
    s = uow.session
    broken = world.holders[1]
    account = accounts.find_wallet_account(s, broken.id, "CNY")
    assert account is not None
    ledger.freeze_account(s, account.id, reason="test: the ledger refuses", now=NOW)
    uow.commit()
    plan_id = approved_plan(database, world)
    result = run(database, vault, world, plan_id)
    assert (result.done, result.failed, result.finished) == (4, 2, True)  # type: ignore[attr-defined]
    with UnitOfWork(database) as unit:
        plan = unit.session.get(RemediationPlan, plan_id)
        assert plan is not None
        shown = progress(unit.session, plan)
        assert (shown["paid"], shown["failed"], shown["status"]) == (4, 2, "done")
        failed = list(unit.session.scalars(select(RemediationItem.error).where(
            RemediationItem.status == "failed")))  # fmt: skip
        assert failed == ["account_frozen", "account_frozen"]
        ledger.unfreeze_account(unit.session, account.id, reason="fixed", now=NOW)
        assert execute.retry_failed(unit.session, plan_id, unit.session.merge(world.admin),
                                    now=NOW) == 2  # fmt: skip
        unit.commit()
    again = run(database, vault, world, plan_id)
    assert (again.done, again.failed, again.finished) == (2, 0, True)  # type: ignore[attr-defined]
    with UnitOfWork(database) as unit:
        keys = list(unit.session.scalars(select(RemediationItem.transfer_key).where(
            RemediationItem.holder_id == broken.id)))  # fmt: skip
        assert all(key.endswith(":retry1") for key in keys)
        assert balance(unit.session, broken) == 105_00
        verify(unit.session)


def test_max_items_stops_between_chunks_and_the_next_call_carries_on(
    database: Database, vault: Vault, world: World
) -> None:
    plan_id = approved_plan(database, world)
    first = run(database, vault, world, plan_id, chunk_items=2, max_items=2)
    assert (first.done, first.finished, first.remaining) == (2, False, 4)  # type: ignore[attr-defined]
    with UnitOfWork(database) as unit:
        plan = unit.session.get(RemediationPlan, plan_id)
        assert plan is not None and (plan.status, plan.paid_count) == ("executing", 2)
    rest = run(database, vault, world, plan_id, chunk_items=2)
    assert (rest.done, rest.finished) == (4, True)  # type: ignore[attr-defined]
    with UnitOfWork(database) as unit:
        events = list(unit.session.scalars(select(IncidentEvent.kind)))
        assert events.count("remediation_resumed") == 1
