"""From a burst of complaints to the affected being told, through the API on both databases:
holders paid Shop Alpha twice for one order; most complain about the charge they can see;
the detector raises the burst, an incident opens with the complaints linked; staff announce
it on the status page, find every payer from the payments (including one who never
complained), notify them all, and after the fix tell them (and every ticket) it is resolved.

The remediation tests extend this story with the four-eyes refund and ticket resolution
(``story`` below returns everything they need)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.identity.delivery import FakeSmsProvider
from anxin.identity.outbox import DeliveryReport
from anxin.incidents.detection import TickReport
from anxin.kit.clock import ManualClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.wallet_merchants import PaymentIntent
from tests.incidents.conftest import BURST_TEXT
from tests.wallet.conftest import Api, Person, api_for, give
from tests.wallet.merchant_helpers import Shop, confirm, make_shop

__all__ = ["api_for", "give", "make_shop"]  # fixtures used below

PRICE = 88_00
COMPLAINERS = 7


@dataclass
class Story:
    shop: Shop
    payers: list[Person]  # the last one never complains
    tickets: list[str]
    incident: dict[str, object]
    window: tuple[str, str]


def _capture(container: Container, intent_id: str) -> str:
    with UnitOfWork(container.database, write=False) as unit:
        intent = unit.session.get(PaymentIntent, uuid.UUID(intent_id))
        assert intent is not None and intent.capture_id is not None
        return str(intent.capture_id)


def story(
    client: TestClient, container: Container, clock: ManualClock, shop: Shop,
    holder: Callable[..., Person], api_for: Callable[[Person], Api], give: Callable[..., None],
    detection: Callable[[], TickReport], manager: Person,
) -> Story:  # fmt: skip
    start = clock.now()
    payers: list[Person] = []
    captures: list[str] = []
    for _ in range(COMPLAINERS + 1):
        person = holder()
        give(person, 500_00)
        api = api_for(person)
        for _charge in range(2):  # the shop's bug: every order charged twice
            intent_id = shop.intent(PRICE, description="order 1")
            assert confirm(api, intent_id).status_code == 200
            captured = shop.post(f"/payment-intents/{intent_id}/capture")
            assert captured.status_code == 200, captured.text
        payers.append(person)
        captures.append(_capture(container, intent_id))
    end = clock.now() + timedelta(seconds=1)

    tickets = []
    for person, capture in zip(payers[:COMPLAINERS], captures, strict=False):
        clock.advance(timedelta(minutes=1))
        filed = client.post("/v1/me/care/tickets", headers=person.headers, json={
            "subject": "Charged twice", "body": BURST_TEXT, "transfer_ids": [capture],
        })  # fmt: skip
        assert filed.status_code == 201, filed.text
        tickets.append(filed.json()["id"])

    clock.advance(timedelta(minutes=1))
    found = detection()
    assert found.groups_opened == 1 and len(found.incidents) == 1, found
    listed = client.get("/v1/staff/incidents?status=open", headers=manager.headers).json()["data"]
    assert len(listed) == 1
    return Story(shop, payers, tickets, listed[0], (start.isoformat(), end.isoformat()))


def test_burst_to_incident_to_announcement_to_notices(
    client: TestClient, container: Container, clock: ManualClock,
    make_shop: Callable[..., Shop], holder: Callable[..., Person],
    api_for: Callable[[Person], Api], give: Callable[..., None],
    detection: Callable[[], TickReport], manager: Person, sms: FakeSmsProvider,
    deliver: Callable[[], DeliveryReport],
) -> None:  # fmt: skip
    told = story(client, container, clock, make_shop("Shop Alpha"), holder, api_for, give,
                 detection, manager)  # fmt: skip
    incident = told.incident
    reference = str(incident["reference"])
    base = f"/v1/staff/incidents/{incident['id']}"
    h = manager.headers
    # Detected, with the complaints linked and their holders affected.
    assert incident["opened_by"] is None and incident["status"] == "investigating"
    assert incident["cause_key"] == f"merchant={told.shop.id}"
    assert incident["tickets"] == COMPLAINERS
    assert incident["affected"]["complaint"] == COMPLAINERS
    kinds = [e["kind"] for e in client.get(f"{base}/timeline", headers=h).json()["data"]]
    assert kinds[:2] == ["opened", "detected"] and kinds.count("ticket_linked") == COMPLAINERS

    # Announced on the status page.
    published = client.post(f"{base}/updates", headers=h, json={
        "template": "identified", "details": {"en": "Refunds are on their way."},
    })  # fmt: skip
    assert published.status_code == 201, published.text
    page = client.get("/status?lang=en").text
    assert f"Identified: {incident['title']}" in page and "Refunds are on their way." in page

    # Every payer, from the payments: the one who never complained too.
    query = {"definition": {"kind": "merchant_debits", "merchant_id": told.shop.id,
                            "from": told.window[0], "to": told.window[1]}}  # fmt: skip
    preview = client.post(f"{base}/affected/preview", headers=h, json=query).json()
    assert preview["holders"] == COMPLAINERS + 1 and preview["new_holders"] == 1
    assert preview["totals"] == {"CNY": (COMPLAINERS + 1) * 2 * PRICE}
    applied = client.post(f"{base}/affected/queries", headers=h, json=query)
    assert applied.status_code == 201, applied.text

    # Everyone told: inbox, SMS, and a reply on every ticket.
    sent = client.post(f"{base}/notify", headers=h, json={}).json()
    assert (sent["holders"], sent["tickets"]) == (COMPLAINERS + 1, COMPLAINERS)
    assert sent["remaining"] == 0
    deliver()
    for person in told.payers:
        texts = [m.body for m in sms.sent if m.recipient == person.identifier]
        assert sum(reference in t for t in texts) == 1, texts
        inbox = client.get("/v1/me/notifications", headers=person.headers).json()["data"]
        assert any(n["kind"] == "incident.affected" for n in inbox)
    ticket = client.get(f"/v1/me/care/tickets/{told.tickets[0]}",
                        headers=told.payers[0].headers).json()  # fmt: skip
    assert any(reference in m["body"] and m["author"] != "you" for m in ticket["messages"])
    again = client.post(f"{base}/notify", headers=h, json={}).json()
    assert (again["holders"], again["tickets"]) == (0, 0)

    # Fixed: the resolution is announced and everyone hears it once more.
    early = client.post(f"{base}/notify", headers=h, json={"stage": "resolved"})
    assert early.status_code == 409
    client.post(f"{base}/updates", headers=h, json={"template": "resolved"})
    resolved = client.post(f"{base}/notify", headers=h, json={"stage": "resolved"}).json()
    assert (resolved["holders"], resolved["tickets"]) == (COMPLAINERS + 1, COMPLAINERS)
    assert "Past incidents" in client.get("/status?lang=en").text

    got = client.get(base, headers=h).json()
    assert got["status"] == "resolved" and got["affected"]["notified"] == COMPLAINERS + 1
    report = client.get(f"{base}/report?format=md", headers=h).text
    assert f"Complaints received: {COMPLAINERS}" in report
    assert f"Holders affected: {COMPLAINERS + 1}" in report
    with UnitOfWork(container.database, write=False) as unit:
        intents = unit.session.scalars(select(PaymentIntent)).all()
        assert len(intents) == (COMPLAINERS + 1) * 2
