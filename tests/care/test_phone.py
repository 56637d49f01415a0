"""Phone notes: an agent logs a call as a ticket of channel phone, with the agent as the
author, for the holder found by the number's blind index (or answered by SMS)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from anxin.api.deps import Container
from anxin.identity.delivery import FakeSmsProvider
from anxin.identity.outbox import DeliveryReport
from tests.care.conftest import Person
from tests.care.intake_helpers import all_tickets, assert_not_stored_in_plaintext

CALL = {"phone": "+86 139 2222 3333", "subject": "Withdrawal missing",
        "body": "Caller says a 500 yuan withdrawal to ICBC has not arrived."}  # fmt: skip


def test_a_call_from_a_holders_number_becomes_their_phone_ticket(
    client: TestClient, container: Container, holder: Callable[..., Person], agent: Person
) -> None:
    person = holder(phone="13922223333")
    response = client.post("/v1/staff/care/phone-notes", json=CALL, headers=agent.headers)
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["channel"] == "phone"
    assert ticket["holder"]["id"] == person.user_id
    assert ticket["contact"] == "139****3333"
    [first] = ticket["messages"]
    assert (first["author_kind"], first["author_id"], first["channel"]) == (
        "customer", agent.user_id, "phone",
    )  # fmt: skip
    assert first["body"] == CALL["body"]
    assert ticket["category_source"] == "auto"
    mine = client.get("/v1/me/care/tickets", headers=person.headers).json()["data"]
    assert [(t["reference"], t["channel"]) for t in mine] == [(ticket["reference"], "phone")]
    assert_not_stored_in_plaintext(container, "+8613922223333", CALL["body"])


def test_an_unknown_number_is_answered_by_sms(
    client: TestClient, container: Container, agent: Person, sms: FakeSmsProvider,
    deliver: Callable[[], DeliveryReport],
) -> None:  # fmt: skip
    response = client.post(
        "/v1/staff/care/phone-notes", headers=agent.headers,
        json={**CALL, "phone": "13700001234", "category": "topup_withdrawal",
              "priority": "high", "language": "en"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["holder"] is None
    assert (ticket["category"], ticket["category_source"], ticket["priority"]) == (
        "topup_withdrawal", "agent", "high",
    )  # fmt: skip
    [row] = all_tickets(container)
    assert (row.channel, row.contact_kind, row.holder_id) == ("phone", "phone", None)
    deliver()
    acknowledgement = sms.last_to("+8613700001234")
    assert acknowledgement is not None and ticket["reference"] in acknowledgement.body


def test_phone_notes_need_care_work_and_a_real_number(
    client: TestClient, ready_staff: Callable[[str], Person], holder: Callable[..., Person],
    agent: Person,
) -> None:  # fmt: skip
    auditor = ready_staff("compliance_officer")
    refused = client.post("/v1/staff/care/phone-notes", json=CALL, headers=auditor.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "missing_permission")
    as_holder = client.post("/v1/staff/care/phone-notes", json=CALL, headers=holder().headers)
    assert (as_holder.status_code, as_holder.json()["code"]) == (403, "wrong_account_kind")
    bad = client.post("/v1/staff/care/phone-notes", json={**CALL, "phone": "12345"},
                      headers=agent.headers)  # fmt: skip
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_contact")
