"""The public contact form: a code to the email or phone, the complaint becomes a ticket
(channel web_form) only with the right code; wrong codes are limited, requests expire,
sending is rate-limited like sign-up, and nothing is stored in plaintext."""

# ruff: noqa: RUF001

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from anxin.api.deps import Container
from anxin.identity.delivery import FakeEmailSender, FakeSmsProvider
from anxin.identity.outbox import DeliveryReport
from anxin.kit.clock import ManualClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import DataKey
from anxin.models.care import ContactRequest
from tests.care.conftest import Person
from tests.care.intake_helpers import (
    all_tickets,
    assert_not_stored_in_plaintext,
    conversation,
    subject_of,
)

FORM = {"kind": "email", "value": "Visitor.One@Example.com", "subject": "提现失败",
        "body": "我的提现三天了还没有到账，请帮忙查一下。"}  # fmt: skip


def _send(client: TestClient, **changes: Any) -> dict[str, Any]:
    response = client.post("/v1/care/contact", json={**FORM, **changes})
    assert response.status_code == 202, response.text
    return dict(response.json())


def _verify(client: TestClient, request_id: str, code: str) -> Any:
    return client.post(f"/v1/care/contact/{request_id}/verify", json={"code": code})


def test_an_email_complaint_becomes_a_ticket_with_the_code(
    client: TestClient, container: Container, last_code: Callable[[str], str],
    mailbox: FakeEmailSender, deliver: Callable[[], DeliveryReport],
) -> None:  # fmt: skip
    sent = _send(client)
    assert sent["contact"] == "v***@example.com"
    assert sent["channel"] == "email"
    assert all_tickets(container) == []  # nothing before the code
    code = last_code("visitor.one@example.com")
    verified = _verify(client, sent["id"], code)
    assert verified.status_code == 201, verified.text
    reference = verified.json()["reference"]
    [ticket] = all_tickets(container)
    assert (ticket.reference, ticket.channel, ticket.contact_kind) == (
        reference,
        "web_form",
        "email",
    )
    assert ticket.holder_id is None
    assert ticket.language == "zh"
    assert subject_of(container, ticket) == "提现失败"
    assert conversation(container, ticket) == [
        ("customer", "public", "web_form", "我的提现三天了还没有到账，请帮忙查一下。")
    ]
    deliver()
    ack = mailbox.last_to("visitor.one@example.com")
    assert ack is not None and f"[{reference}]" in (ack.subject or "")
    # The held copy is erased with its key once the ticket has its own.
    with UnitOfWork(container.database, write=False) as uow:
        request = uow.session.get(ContactRequest, uuid.UUID(sent["id"]))
        assert request is not None and request.ticket_id == ticket.id
        key = uow.session.get(DataKey, request.owner_id)
        assert key is not None and key.wrapped_key is None
    again = _verify(client, sent["id"], code)
    assert (again.status_code, again.json()["code"]) == (409, "contact_already_verified")
    assert_not_stored_in_plaintext(container, "visitor.one@example.com", FORM["body"], "提现失败")


def test_a_phone_complaint_from_a_holders_number_is_linked_to_the_holder(
    client: TestClient, container: Container, holder: Callable[..., Person],
    last_code: Callable[[str], str], sms: FakeSmsProvider,
) -> None:  # fmt: skip
    person = holder(phone="+8613900001111")
    sent = _send(client, kind="phone", value="139 0000 1111", subject="",
                 body="My balance is wrong after the refund")  # fmt: skip
    assert sent["contact"] == "139****1111"
    response = _verify(client, sent["id"], last_code("+8613900001111"))
    assert response.status_code == 201, response.text
    [ticket] = all_tickets(container)
    assert str(ticket.holder_id) == person.user_id
    assert (ticket.channel, ticket.contact_kind, ticket.language) == ("web_form", "phone", "en")
    # The holder sees it among their tickets.
    mine = client.get("/v1/me/care/tickets", headers=person.headers).json()["data"]
    assert [t["reference"] for t in mine] == [response.json()["reference"]]
    assert sms.last_to("+8613900001111") is not None


def test_wrong_codes_are_limited_and_counted(
    client: TestClient, container: Container, last_code: Callable[[str], str]
) -> None:
    sent = _send(client)
    code = last_code("visitor.one@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1):
        response = _verify(client, sent["id"], wrong)
        assert response.status_code == 400
        assert (response.json()["code"], response.json()["attempts_left"]) == ("invalid_code", left)
    fifth = _verify(client, sent["id"], wrong)
    assert (fifth.status_code, fifth.json()["code"]) == (410, "contact_code_expired")
    late = _verify(client, sent["id"], code)  # the right code no longer helps
    assert (late.status_code, late.json()["code"]) == (410, "contact_code_expired")
    assert all_tickets(container) == []


def test_codes_expire(
    client: TestClient, container: Container, clock: ManualClock,
    last_code: Callable[[str], str],
) -> None:  # fmt: skip
    sent = _send(client)
    code = last_code("visitor.one@example.com")
    clock.advance(timedelta(seconds=sent["expires_in_seconds"] + 1))
    response = _verify(client, sent["id"], code)
    assert (response.status_code, response.json()["code"]) == (410, "contact_code_expired")
    assert all_tickets(container) == []


def test_unknown_requests_bad_contacts_and_other_sites(client: TestClient) -> None:
    missing = _verify(client, str(uuid.uuid4()), "123456")
    assert (missing.status_code, missing.json()["code"]) == (404, "contact_request_not_found")
    bad = client.post("/v1/care/contact", json={**FORM, "value": "not an address"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_contact")
    empty = client.post("/v1/care/contact", json={**FORM, "body": ""})
    assert empty.status_code == 422
    foreign = client.post("/v1/care/contact", json=FORM,
                          headers={"Origin": "https://evil.example"})  # fmt: skip
    assert (foreign.status_code, foreign.json()["code"]) == (403, "csrf_check_failed")


def test_codes_to_one_contact_are_rate_limited_like_sign_up(client: TestClient) -> None:
    for _ in range(5):
        _send(client)
    sixth = client.post("/v1/care/contact", json=FORM)
    assert (sixth.status_code, sixth.json()["code"]) == (429, "too_many_attempts")
    assert sixth.json()["retry_after"] > 0
    # Another contact is not held back by this one's budget.
    _send(client, value="someone.else@example.com")


def test_unverified_requests_are_erased_a_day_after_their_code_expired(
    client: TestClient, container: Container, clock: ManualClock
) -> None:
    stale = _send(client)
    clock.advance(timedelta(seconds=stale["expires_in_seconds"]) + timedelta(days=1, seconds=1))
    fresh = _send(client, value="next.visitor@example.com")  # sweeps the stale one
    with UnitOfWork(container.database, write=False) as uow:
        assert uow.session.get(ContactRequest, uuid.UUID(stale["id"])) is None
        assert uow.session.get(ContactRequest, uuid.UUID(fresh["id"])) is not None
    gone = _verify(client, stale["id"], "123456")
    assert gone.status_code == 404
