"""Remediation over HTTP on both databases: the end-to-end story (a burst of complaints, the
incident, every payer found from the payments) carried on to a four-eyes refund of the
duplicate charges plus goodwill, paid through the ledger, progress read back, every payer
told, the report counting the money returned and the linked tickets told of the
resolution; and the refusals (bad specs, the preparer approving, missing permissions)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.incidents.detection import TickReport
from anxin.kit.clock import ManualClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.service import balance_of
from anxin.ledger.verify import verify_ledger
from anxin.models.care import Ticket, TicketLink
from anxin.models.incidents import RemediationPlan
from anxin.models.wallet_merchants import PaymentIntent
from anxin.wallet import accounts
from tests.identity.conftest import Person
from tests.incidents.remediation_helpers import World, world
from tests.incidents.test_end_to_end import COMPLAINERS, PRICE, story
from tests.wallet.conftest import Api, api_for, give
from tests.wallet.merchant_helpers import Shop, make_shop

__all__ = ["api_for", "give", "make_shop", "world"]

GOODWILL = 10_00


def _duplicates(container: Container) -> list[str]:
    """The second capture of every payer: the charge the shop's bug added."""
    with UnitOfWork(container.database, write=False) as unit:
        intents = unit.session.execute(
            select(PaymentIntent.holder_id, PaymentIntent.capture_id)
            .order_by(PaymentIntent.created_at, PaymentIntent.id)
        ).all()  # fmt: skip
    seen: set[uuid.UUID] = set()
    second = []
    for holder_id, capture_id in intents:
        if holder_id in seen:
            second.append(str(capture_id))
        seen.add(holder_id)
    return second


def test_story_four_eyes_refund_of_the_duplicate_charges_and_resolution(
    client: TestClient, container: Container, clock: ManualClock,
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None],
    detection: Callable[[], TickReport], manager: Person,
    ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    told = story(client, container, clock, make_shop("Shop Alpha"), holder, api_for, give,
                 detection, manager)  # fmt: skip
    base = f"/v1/staff/incidents/{told.incident['id']}"
    h = manager.headers  # a senior agent: prepares plans, never approves them
    query = {"definition": {"kind": "merchant_debits", "merchant_id": told.shop.id,
                            "from": told.window[0], "to": told.window[1]}}  # fmt: skip
    assert client.post(f"{base}/affected/queries", headers=h, json=query).status_code == 201
    payers = COMPLAINERS + 1
    spec = {"note": "Shop Alpha charged every order twice",
            "refund": {"transfer_ids": _duplicates(container)},
            "goodwill": {"amount": GOODWILL, "asset": "CNY"}}  # fmt: skip

    preview = client.post(f"{base}/remediation/preview", headers=h, json=spec)
    assert preview.status_code == 200, preview.text
    assert preview.json()["items"] == {"unfreeze": 0, "fee_waiver": 0, "refund": payers,
                                       "goodwill": payers}  # fmt: skip
    assert preview.json()["totals"] == {"CNY": payers * (PRICE + GOODWILL)}
    assert client.get(f"{base}/remediation", headers=h).status_code == 404  # nothing saved

    prepared = client.post(f"{base}/remediation", headers={**h, "Idempotency-Key": "plan-1"},
                           json=spec)  # fmt: skip
    assert prepared.status_code == 201, prepared.text
    plan_id = prepared.json()["plan"]["plan_id"]
    assert prepared.json()["plan"]["status"] == "draft"
    replay = client.post(f"{base}/remediation", headers={**h, "Idempotency-Key": "plan-1"},
                         json=spec)  # fmt: skip
    assert replay.json()["plan"]["plan_id"] == plan_id

    refused = client.post(f"{base}/remediation/{plan_id}/approve", headers=h, json={})
    assert refused.status_code == 403 and refused.json()["code"] == "missing_permission"
    early = client.post(f"{base}/remediation/{plan_id}/execute", headers=h, json={})
    assert early.status_code == 403
    risk = ready_staff("risk_officer")
    approved = client.post(
        f"{base}/remediation/{plan_id}/approve",
        headers=risk.headers,
        json={"note": "totals checked against the shop's report"},
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_by"] == risk.user_id

    done = client.post(f"{base}/remediation/{plan_id}/execute", headers=risk.headers, json={})
    assert done.status_code == 200, done.text
    assert (done.json()["done"], done.json()["failed"], done.json()["finished"]) == (
        2 * payers, 0, True)  # fmt: skip
    progress = client.get(f"{base}/remediation", headers=h).json()
    assert (progress["status"], progress["paid"], progress["total"]) == (
        "done",
        2 * payers,
        2 * payers,
    )
    assert progress["per_kind"]["refund"] == {"total": payers, "done": payers, "failed": 0}
    assert progress["per_asset"] == {
        "CNY": {"planned": payers * (PRICE + GOODWILL), "paid": payers * (PRICE + GOODWILL)}
    }
    for person in told.payers:
        with UnitOfWork(container.database, write=False) as unit:
            wallet = accounts.find_wallet_account(unit.session, uuid.UUID(person.user_id), "CNY")
            assert wallet is not None
            assert balance_of(wallet).posted == 500_00 - PRICE + GOODWILL  # charged once
        inbox = client.get("/v1/me/notifications", headers=person.headers).json()["data"]
        [notice] = [n for n in inbox if n["kind"] == "incident.remediated"]
        assert str(told.incident["reference"]) in notice["title"]
    with UnitOfWork(container.database, write=False) as unit:
        assert verify_ledger(unit.session.connection()).ok
        plan = unit.session.get(RemediationPlan, uuid.UUID(plan_id))
        assert plan is not None and plan.paid_count == 2 * payers

    # Resolved: the announcement, then every payer and every ticket hears it.
    client.post(f"{base}/updates", headers=h, json={"template": "resolved"})
    resolved = client.post(f"{base}/notify", headers=h, json={"stage": "resolved"}).json()
    assert (resolved["holders"], resolved["tickets"]) == (payers, COMPLAINERS)
    # ...and the complaints about it are resolved, each asking its holder for a rating.
    with UnitOfWork(container.database) as unit:
        linked = unit.session.scalars(
            select(Ticket)
            .join(TicketLink, TicketLink.ticket_id == Ticket.id)
            .where(TicketLink.kind == "incident", TicketLink.ref == told.incident["id"])
        ).all()
        assert len(linked) == COMPLAINERS
        assert {t.status for t in linked} == {"resolved"}
    timeline = [e["kind"] for e in client.get(f"{base}/timeline", headers=h).json()["data"]]
    for kind in (
        "remediation_prepared",
        "remediation_approved",
        "remediation_started",
        "remediation_completed",
    ):
        assert kind in timeline, timeline
    report = client.get(f"{base}/report?format=md", headers=h).text
    assert f"{payers * (PRICE + GOODWILL) // 100}.00 CNY" in report, report


def test_refusals_are_problem_documents(
    client: TestClient, world: World, ready_staff: Callable[[str], Person]
) -> None:
    base = f"/v1/staff/incidents/{world.incident.reference}"
    risk, other, agent = ready_staff("risk_officer"), ready_staff("compliance_officer"), (
        ready_staff("agent"))  # fmt: skip
    spec = {"note": "n", "goodwill": {"amount": 1_00, "asset": "CNY"}}
    for bad in ({**spec, "goodwill": {"amount": 10.5, "asset": "CNY"}},
                {**spec, "goodwill": {"amount": "100", "asset": "CNY"}},
                {"note": "n"}):  # fmt: skip
        answer = client.post(f"{base}/remediation/preview", headers=risk.headers, json=bad)
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
    missing = client.post("/v1/staff/incidents/INC-1999-0001/remediation/preview",
                          headers=risk.headers, json=spec)  # fmt: skip
    assert missing.status_code == 404
    assert client.post(f"{base}/remediation/preview", headers=agent.headers,
                       json=spec).status_code == 403  # fmt: skip

    plan_id = client.post(f"{base}/remediation", headers=risk.headers,
                          json=spec).json()["plan"]["plan_id"]  # fmt: skip
    again = client.post(f"{base}/remediation", headers=risk.headers, json=spec)
    assert again.status_code == 409 and again.json()["code"] == "remediation_plan_in_progress"
    own = client.post(f"{base}/remediation/{plan_id}/approve", headers=risk.headers, json={})
    assert own.status_code == 403 and own.json()["code"] == "four_eyes"
    not_yet = client.post(f"{base}/remediation/{plan_id}/execute", headers=risk.headers,
                          json={})  # fmt: skip
    assert not_yet.status_code == 409
    assert not_yet.json()["code"] == "remediation_plan_not_approved"
    assert client.post(f"{base}/remediation/{plan_id}/reject", headers=other.headers,
                       json={}).status_code == 422  # a rejection says why  # fmt: skip
    assert client.post(f"{base}/remediation/{plan_id}/approve", headers=other.headers,
                       json={}).status_code == 200  # fmt: skip
    part = client.post(f"{base}/remediation/{plan_id}/execute", headers=other.headers,
                       json={"max_items": 1, "chunk_items": 10})  # fmt: skip
    assert part.status_code in (200, 202), part.text
    rest = client.post(f"{base}/remediation/{plan_id}/execute", headers=other.headers, json={})
    assert rest.status_code == 200 and rest.json()["plan"]["paid"] == 3
    plans = client.get(f"{base}/remediation/plans", headers=other.headers).json()["data"]
    assert [p["status"] for p in plans] == ["done"]
