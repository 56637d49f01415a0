"""Macros: placeholders checked when saved, filled per ticket in zh and en; leads manage
them, agents use them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from anxin.care import macros
from anxin.care.errors import InvalidMacro, MacroExists
from anxin.identity.contacts import seal_name
from anxin.kit.unit_of_work import UnitOfWork
from anxin.privacy.vault import Vault
from tests.care.conftest import NOW, Person, make_user, new_ticket


@pytest.mark.parametrize(
    "body",
    ["Hello {name}", "{holder_name.__class__}", "{holder_name!r}", "{holder_name:>10}",
     "{0}", "a { b", "tail }"],
)  # fmt: skip
def test_only_known_placeholders(uow: UnitOfWork, vault: Vault, body: str) -> None:
    lead = make_user(uow.session, vault, NOW, role="senior_agent")
    with pytest.raises(InvalidMacro):
        macros.create(uow.session, name="x", language="en", category=None, body=body,
                      actor=lead, now=NOW)  # fmt: skip


def test_render_in_both_languages(uow: UnitOfWork, vault: Vault) -> None:
    lead = make_user(uow.session, vault, NOW, role="senior_agent")
    holder = make_user(uow.session, vault, NOW)
    holder.display_name_enc = seal_name(uow.session, vault, holder.id, "张三明")
    ticket = new_ticket(uow.session, vault, holder=holder, category="fees")
    zh = macros.create(uow.session, name="致歉", language="zh", category="fees",
                       body="{holder_name}您好，关于{category}投诉 {ticket_reference}，"  # noqa: RUF001
                            "我们将于{expected_answer}前答复。{agent_name}",
                       actor=lead, now=NOW)  # fmt: skip
    en = macros.create(uow.session, name="Sorry", language="en", category=None,
                       body="Dear {holder_name}, about {ticket_reference} ({category}).",
                       actor=lead, now=NOW)  # fmt: skip
    text = macros.render(uow.session, vault, zh, ticket, agent=lead)
    assert text.startswith("张三明您好，关于手续费投诉 " + ticket.reference)  # noqa: RUF001
    assert text.endswith(lead.pseudonym or "")
    assert "{" not in text
    contact_ticket = new_ticket(uow.session, vault, category="refund")
    assert macros.render(uow.session, vault, en, contact_ticket, agent=lead) == (
        f"Dear customer, about {contact_ticket.reference} (refund)."
    )
    with pytest.raises(MacroExists):
        macros.create(uow.session, name="Sorry", language="en", category=None, body="x",
                      actor=lead, now=NOW)  # fmt: skip
    listed = macros.listing(uow.session, language="zh", category="points")
    assert listed == []
    assert [m.name for m in macros.listing(uow.session, category="fees")] == ["Sorry", "致歉"]


def test_macro_api(client: TestClient, holder: Callable[..., Person], agent: Person,
                   senior: Person) -> None:  # fmt: skip
    alice = holder(name="Li Lei")
    ticket = client.post("/v1/me/care/tickets", json={"body": "refund please"},
                         headers=alice.headers).json()  # fmt: skip
    text = "Thank you {holder_name}, {ticket_reference}."
    body = {"name": "Thanks", "language": "en", "body": text}
    refused = client.post("/v1/staff/care/macros", json=body, headers=agent.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "missing_permission"
    created = client.post("/v1/staff/care/macros", json=body, headers=senior.headers)
    assert created.status_code == 201, created.text
    macro = created.json()
    twice = client.post("/v1/staff/care/macros", json=body, headers=senior.headers)
    assert twice.status_code == 409
    bad = client.post("/v1/staff/care/macros", json={**body, "name": "B", "body": "{oops}"},
                      headers=senior.headers)  # fmt: skip
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_macro"
    listed = client.get("/v1/staff/care/macros", params={"language": "en"}, headers=agent.headers)
    assert [m["id"] for m in listed.json()["data"]] == [macro["id"]]
    assert "holder_name" in listed.json()["placeholders"]
    rendered = client.post(f"/v1/staff/care/macros/{macro['id']}/render",
                           json={"ticket_id": ticket["id"]}, headers=agent.headers)  # fmt: skip
    assert rendered.json()["text"] == f"Thank you Li Lei, {ticket['reference']}."
    replied = client.post(f"/v1/staff/care/tickets/{ticket['id']}/replies",
                          json={"macro_id": macro["id"]}, headers=agent.headers)  # fmt: skip
    assert replied.status_code == 201, replied.text
    seen = client.get(f"/v1/me/care/tickets/{ticket['id']}", headers=alice.headers).json()
    assert seen["messages"][-1]["body"] == f"Thank you Li Lei, {ticket['reference']}."
    patched = client.patch(f"/v1/staff/care/macros/{macro['id']}",
                           json={"body": "Hi {holder_name}", "category": "refund"},
                           headers=senior.headers)  # fmt: skip
    assert patched.status_code == 200 and patched.json()["category"] == "refund"
    assert client.patch(f"/v1/staff/care/macros/{macro['id']}", json={"active": False},
                        headers=agent.headers).status_code == 403  # fmt: skip
    deleted = client.delete(f"/v1/staff/care/macros/{macro['id']}", headers=senior.headers)
    assert deleted.status_code == 204
    gone = client.get(f"/v1/staff/care/macros/{macro['id']}", headers=agent.headers)
    assert gone.status_code == 404 and gone.json()["code"] == "macro_not_found"
