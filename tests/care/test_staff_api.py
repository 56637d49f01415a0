"""The agents' care desk over HTTP: queues, the masked ticket view, replies and notes,
assignment, states, category and priority, links, merges, permissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.care.conftest import Person

STAFF = "/v1/staff/care"


def _file(client: TestClient, person: Person, body: str, subject: str = "") -> dict[str, Any]:
    response = client.post("/v1/me/care/tickets", json={"subject": subject, "body": body},
                           headers=person.headers)  # fmt: skip
    assert response.status_code == 201, response.text
    return dict(response.json())


def _patch(client: TestClient, staff: Person, ticket: dict[str, Any], **body: Any) -> Any:
    return client.patch(f"{STAFF}/tickets/{ticket['id']}", json=body, headers=staff.headers)


def test_queues_by_category_and_language_most_urgent_first(
    client: TestClient, holder: Callable[..., Person], senior: Person
) -> None:
    alice = holder()
    en = _file(client, alice, "My withdrawal never arrived at the bank", "Withdrawal")
    zh = _file(client, alice, "提现一直没有到账", "提现")
    urgent = _file(client, alice, "Where is my withdrawal money?", "Withdrawal again")
    for ticket in (en, zh, urgent):
        assert _patch(client, senior, ticket, category="topup_withdrawal").status_code == 200
    assert _patch(client, senior, urgent, priority="urgent").status_code == 200
    counts = client.get(f"{STAFF}/queues", headers=senior.headers).json()["data"]
    by_key = {(c["category"], c["language"]): c for c in counts}
    assert by_key[("topup_withdrawal", "en")]["tickets"] == 2
    assert by_key[("topup_withdrawal", "zh")]["unassigned"] == 1
    listed = client.get(f"{STAFF}/tickets", params={"category": "topup_withdrawal",
                        "language": "en"}, headers=senior.headers).json()["data"]  # fmt: skip
    assert {t["id"] for t in listed} == {en["id"], urgent["id"]}
    dues = [t["due_at"] for t in listed]
    assert all(dues) and dues == sorted(dues)
    assert listed[0]["id"] == urgent["id"]  # the shorter targets of urgent tickets
    assert listed[0]["subject"] in ("Withdrawal", "Withdrawal again")
    zh_only = client.get(f"{STAFF}/tickets", params={"language": "zh"}, headers=senior.headers)
    assert [t["id"] for t in zh_only.json()["data"]] == [zh["id"]]


def test_the_ticket_view_masks_the_holder_and_logs_the_access(
    client: TestClient, holder: Callable[..., Person], agent: Person
) -> None:
    alice = holder(name="张三明", phone="+8613812345678")
    ticket = _file(client, alice, "my account was frozen without reason")
    view = client.get(f"{STAFF}/tickets/{ticket['id']}", headers=agent.headers)
    assert view.status_code == 200, view.text
    out = view.json()
    assert out["holder"]["name"] == "张*明"
    assert out["holder"]["contacts"] == ["138****5678"]
    assert "13812345678" not in view.text and "张三明" not in view.text
    assert [e["kind"] for e in out["events"]][:1] == ["created"]
    assert {"kind": "holder", "ref": alice.user_id} in out["links"]
    client.post(f"{STAFF}/tickets/{ticket['id']}/notes", json={"body": "n"},
                headers=agent.headers)  # fmt: skip
    log = client.get("/v1/me/access-log", headers=alice.headers).json()["data"]
    assert [entry["action"] for entry in log] == ["care_ticket_read"]  # once an hour, not per call


def test_reply_note_assign_status_and_category(
    client: TestClient, holder: Callable[..., Person], agent: Person, senior: Person
) -> None:
    alice = holder()
    ticket = _file(client, alice, "fees are too high on withdrawals")
    path = f"{STAFF}/tickets/{ticket['id']}"
    both = client.post(f"{path}/replies", json={"body": "x", "macro_id": ticket["id"]},
                       headers=agent.headers)  # fmt: skip
    assert both.status_code == 422
    replied = client.post(f"{path}/replies", json={"body": "We are checking"},
                          headers=agent.headers).json()  # fmt: skip
    assert replied["status"] == "open" and replied["first_response_at"] is not None
    noted = client.post(f"{path}/notes", json={"body": "VIP"}, headers=agent.headers).json()
    assert [(m["author_kind"], m["visibility"]) for m in noted["messages"]] == [
        ("customer", "public"), ("agent", "public"), ("agent", "internal"),
    ]  # fmt: skip
    taken = client.post(f"{path}/assign", json={"assignee_id": agent.user_id},
                        headers=agent.headers)  # fmt: skip
    assert taken.status_code == 200 and taken.json()["assignee_id"] == agent.user_id
    given = client.post(f"{path}/assign", json={"assignee_id": senior.user_id},
                        headers=agent.headers)  # fmt: skip
    assert given.status_code == 403
    to_holder = client.post(f"{path}/assign", json={"assignee_id": alice.user_id},
                            headers=senior.headers)  # fmt: skip
    assert to_holder.status_code == 422
    mine = client.get(f"{STAFF}/tickets", params={"assigned": "me"}, headers=agent.headers)
    assert [t["id"] for t in mine.json()["data"]] == [ticket["id"]]
    corrected = _patch(client, agent, ticket, category="fees", priority="high").json()
    assert corrected["category"] == "fees" and corrected["category_source"] == "agent"
    assert corrected["priority"] == "high"
    [event] = [e for e in corrected["events"] if e["kind"] == "category"]
    assert event["data"]["new"] == "fees" and event["data"]["old_source"] == "auto"
    assert _patch(client, agent, ticket, category="weather").status_code == 422
    resolved = client.post(f"{path}/status", json={"status": "resolved"}, headers=agent.headers)
    assert resolved.json()["status"] == "resolved" and resolved.json()["reopen_until"]
    closed = client.post(f"{path}/status", json={"status": "closed"}, headers=agent.headers)
    assert closed.json()["status"] == "closed"
    stuck = client.post(f"{path}/status", json={"status": "open"}, headers=agent.headers)
    assert stuck.status_code == 409 and stuck.json()["code"] == "invalid_ticket_transition"
    late = client.post(f"{path}/replies", json={"body": "one more thing"}, headers=agent.headers)
    assert late.status_code == 409 and late.json()["code"] == "ticket_closed"


def test_merge_keeps_messages_readable_and_links(
    client: TestClient, holder: Callable[..., Person], agent: Person, senior: Person
) -> None:
    alice, bob = holder(), holder()
    first = _file(client, alice, "points disappeared from my wallet")
    second = _file(client, alice, "where did my points go?")
    other = _file(client, bob, "my points are gone too")
    as_agent = client.post(f"{STAFF}/tickets/{second['id']}/merge",
                           json={"into_ticket_id": first["id"]}, headers=agent.headers)  # fmt: skip
    assert as_agent.status_code == 403
    foreign = client.post(f"{STAFF}/tickets/{other['id']}/merge",
                          json={"into_ticket_id": first["id"]}, headers=senior.headers)  # fmt: skip
    assert foreign.status_code == 409 and foreign.json()["code"] == "cannot_merge"
    merged = client.post(f"{STAFF}/tickets/{second['id']}/merge",
                         json={"into_ticket_id": first["id"]}, headers=senior.headers)  # fmt: skip
    assert merged.status_code == 200, merged.text
    survivor = merged.json()
    assert survivor["id"] == first["id"]
    assert {m["ticket_reference"] for m in survivor["messages"]} == {
        first["reference"], second["reference"],
    }  # fmt: skip
    assert {"kind": "ticket", "ref": second["id"]} in survivor["links"]
    duplicate = client.get(f"/v1/me/care/tickets/{second['id']}", headers=alice.headers).json()
    assert duplicate["status"] == "closed" and duplicate["merged_into"] == first["reference"]
    held = client.get(f"/v1/me/care/tickets/{first['id']}", headers=alice.headers).json()
    assert [m["body"] for m in held["messages"]] == [
        "points disappeared from my wallet", "where did my points go?",
    ]  # fmt: skip
    again = client.post(f"{STAFF}/tickets/{second['id']}/merge",
                        json={"into_ticket_id": first["id"]}, headers=senior.headers)  # fmt: skip
    assert again.status_code == 409


def test_links_and_permissions(
    client: TestClient, holder: Callable[..., Person], agent: Person,
    make_staff: Callable[..., Person], ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    alice = holder()
    ticket = _file(client, alice, "my top-up is missing")
    path = f"{STAFF}/tickets/{ticket['id']}"
    linked = client.post(f"{path}/links", json={"kind": "incident", "ref": "INC-7"},
                         headers=agent.headers)  # fmt: skip
    assert (
        linked.status_code == 201 and {"kind": "incident", "ref": "INC-7"} in linked.json()["links"]
    )
    bad = client.post(f"{path}/links", json={"kind": "planet", "ref": "x"}, headers=agent.headers)
    assert bad.status_code == 422
    compliance = ready_staff("compliance_officer")
    assert client.get(path, headers=compliance.headers).status_code == 403
    assert client.get(path, headers=alice.headers).status_code == 403
    missing = client.get(f"{STAFF}/tickets/00000000-0000-7000-8000-000000000000",
                         headers=agent.headers)  # fmt: skip
    assert missing.status_code == 404
