"""The holder's care desk over HTTP: file, follow, answer, rate; others' tickets are 404."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.ledger import Transfer
from anxin.wallet import accounts
from tests.care.conftest import Person, fund

BODY = {"subject": "Payment I did not make", "body": "Someone took 88 yuan from my wallet"}


def _file(client: TestClient, person: Person, **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/me/care/tickets", json={**BODY, **extra}, headers=person.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _funded_transfer(container: Container, person: Person) -> str:
    user_id = uuid.UUID(person.user_id)
    with UnitOfWork(container.database) as uow:
        fund(uow.session, user_id, 10_000, container.clock.now())
        wallet = accounts.find_wallet_account(uow.session, user_id, "CNY")
        assert wallet is not None
        transfer = uow.session.scalars(
            select(Transfer).where(Transfer.destination_id == wallet.id)
        ).one()
        uow.commit()
        return str(transfer.id)


def test_file_list_view_and_others_get_404(
    client: TestClient, container: Container, holder: Callable[..., Person]
) -> None:
    alice, bob = holder(), holder()
    mine = _funded_transfer(container, alice)
    theirs = _funded_transfer(container, bob)
    refused = client.post("/v1/me/care/tickets", json={**BODY, "transfer_ids": [theirs]},
                          headers=alice.headers)  # fmt: skip
    assert refused.status_code == 404 and refused.json()["code"] == "link_not_found"
    ticket = _file(client, alice, transfer_ids=[mine])
    assert ticket["reference"].startswith("AX-") and ticket["status"] == "new"
    assert ticket["transfer_ids"] == [mine]
    assert ticket["expected_answer_at"] is not None  # the first-response target
    assert [m["author"] for m in ticket["messages"]] == ["you"]
    assert ticket["messages"][0]["body"] == BODY["body"]
    listed = client.get("/v1/me/care/tickets", headers=alice.headers).json()["data"]
    assert [t["id"] for t in listed] == [ticket["id"]]
    assert client.get("/v1/me/care/tickets", headers=bob.headers).json()["data"] == []
    path = f"/v1/me/care/tickets/{ticket['id']}"
    assert client.get(path, headers=alice.headers).status_code == 200
    for response in (
        client.get(path, headers=bob.headers),
        client.post(f"{path}/messages", json={"body": "hi"}, headers=bob.headers),
        client.post(f"{path}/rating", json={"rating": 5}, headers=bob.headers),
        client.get(f"/v1/me/care/tickets/{uuid.uuid4()}", headers=alice.headers),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "ticket_not_found"
    notices = client.get("/v1/me/notifications", headers=alice.headers)
    assert notices.status_code == 200, notices.text
    assert "care.received" in [n["kind"] for n in notices.json()["data"]]


def test_bad_complaints_are_problems(client: TestClient, holder: Callable[..., Person]) -> None:
    alice = holder()
    for body in ({"body": ""}, {"body": "x", "extra": 1}, {"body": "x" * 20_001},
                 {"body": "x", "transfer_ids": ["nope"]}):  # fmt: skip
        response = client.post("/v1/me/care/tickets", json=body, headers=alice.headers)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


def test_conversation_states_and_one_rating(
    client: TestClient, holder: Callable[..., Person], agent: Person
) -> None:
    alice = holder()
    ticket = _file(client, alice)
    path = f"/v1/me/care/tickets/{ticket['id']}"
    staff_path = f"/v1/staff/care/tickets/{ticket['id']}"
    early = client.post(f"{path}/rating", json={"rating": 4}, headers=alice.headers)
    assert early.status_code == 409 and early.json()["code"] == "csat_not_requested"
    note = client.post(f"{staff_path}/notes", json={"body": "check card 1234"},
                       headers=agent.headers)  # fmt: skip
    assert note.status_code == 201, note.text
    asked = client.post(f"{staff_path}/replies", json={"body": "Which card did you use?",
                        "status": "pending_customer"}, headers=agent.headers)  # fmt: skip
    assert asked.status_code == 201, asked.text
    seen = client.get(path, headers=alice.headers).json()
    assert seen["status"] == "pending_customer" and seen["expected_answer_at"] is None
    assert [m["author"] for m in seen["messages"]] == ["you", "agent"]
    assert all("1234" not in m["body"] for m in seen["messages"])
    answered = client.post(f"{path}/messages", json={"body": "The debit card"},
                           headers=alice.headers)  # fmt: skip
    assert answered.status_code == 201, answered.text
    assert answered.json()["new_ticket"] is False
    assert answered.json()["ticket"]["status"] == "open"
    resolved = client.post(f"{staff_path}/replies", json={"body": "Refunded in full.",
                           "status": "resolved"}, headers=agent.headers)  # fmt: skip
    assert resolved.json()["status"] == "resolved"
    bad = client.post(f"{path}/rating", json={"rating": 6}, headers=alice.headers)
    assert bad.status_code == 422
    rated = client.post(f"{path}/rating", json={"rating": 5, "comment": "快，谢谢"},  # noqa: RUF001
                        headers=alice.headers)  # fmt: skip
    assert rated.status_code == 201, rated.text
    again = client.post(f"{path}/rating", json={"rating": 1}, headers=alice.headers)
    assert again.status_code == 409 and again.json()["code"] == "csat_already_answered"
    final = client.get(path, headers=alice.headers).json()
    assert final["csat"]["rating"] == 5 and final["csat"]["comment"] == "快，谢谢"  # noqa: RUF001


def test_an_answer_on_a_closed_ticket_opens_a_new_one(
    client: TestClient, holder: Callable[..., Person], agent: Person
) -> None:
    alice = holder()
    ticket = _file(client, alice)
    closed = client.post(f"/v1/staff/care/tickets/{ticket['id']}/status",
                         json={"status": "closed"}, headers=agent.headers)  # fmt: skip
    assert closed.status_code == 200, closed.text
    answered = client.post(f"/v1/me/care/tickets/{ticket['id']}/messages",
                           json={"body": "It happened again"}, headers=alice.headers)  # fmt: skip
    assert answered.status_code == 201, answered.text
    assert answered.json()["new_ticket"] is True
    new = answered.json()["ticket"]
    assert new["id"] != ticket["id"] and new["subject"] == BODY["subject"]
    staff_view = client.get(f"/v1/staff/care/tickets/{new['id']}", headers=agent.headers).json()
    assert {"kind": "ticket", "ref": ticket["id"]} in staff_view["links"]


def test_staff_cannot_use_the_holder_api(client: TestClient, agent: Person) -> None:
    response = client.get("/v1/me/care/tickets", headers=agent.headers)
    assert response.status_code == 403
