"""The staff API's refusals and the small endpoints: permissions, unknown ids, bad input,
patch, notes, linking tickets, the report formats."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient

from anxin.api.deps import Container
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from tests.identity.conftest import Person
from tests.incidents.conftest import NOW, make_user, new_ticket


def test_permissions_and_refusals(client: TestClient, manager: Person,
                                  ready_staff: Callable[[str], Person]) -> None:  # fmt: skip
    agent = ready_staff("agent")
    refused = client.post("/v1/staff/incidents", json={"title": "x"}, headers=agent.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "missing_permission"
    unknown = client.get(f"/v1/staff/incidents/{uuid.uuid4()}", headers=manager.headers)
    assert unknown.status_code == 404 and unknown.json()["code"] == "incident_not_found"
    for body in ({"title": ""}, {"title": "x", "severity": "huge"}, {"title": 5},
                 {"title": "x", "lead_id": str(uuid.uuid4())}):  # fmt: skip
        bad = client.post("/v1/staff/incidents", json=body, headers=manager.headers)
        assert bad.status_code == 422, bad.text
    assert client.get("/v1/staff/incidents").status_code == 401


def test_manage_an_incident(client: TestClient, container: Container, manager: Person) -> None:
    h = manager.headers
    body = {"title": "Codes not arriving", "severity": "minor"}
    made = client.post("/v1/staff/incidents", json=body, headers=h).json()
    base = f"/v1/staff/incidents/{made['id']}"
    assert made["lead_id"] == manager.user_id and made["opened_by"] == manager.user_id
    patched = client.patch(base, json={"severity": "critical", "root_cause": "SMS gateway"},
                           headers=h).json()  # fmt: skip
    assert patched["severity"] == "critical" and patched["root_cause"] == "SMS gateway"
    moved = client.post(f"{base}/status", json={"status": "monitoring"}, headers=h).json()
    assert moved["status"] == "monitoring" and moved["monitoring_at"] is not None
    back = client.post(f"{base}/status", json={"status": "identified"}, headers=h)
    assert back.status_code == 409 and back.json()["code"] == "invalid_incident_transition"
    note = client.post(f"{base}/timeline", json={"text": "Gateway vendor paged"}, headers=h)
    assert note.status_code == 201
    kinds = [e["kind"] for e in client.get(f"{base}/timeline", headers=h).json()["data"]]
    assert kinds == ["opened", "changed", "status", "note"]

    with UnitOfWork(container.database) as uow:
        vault = container.keys.vault()
        person = make_user(uow.session, vault, NOW)
        ticket = new_ticket(uow.session, vault, holder=person)
        ids = str(ticket.id), str(person.id)
        uow.commit()
    linked = client.post(f"{base}/tickets", json={"ticket_ids": [ids[0], ids[0]]}, headers=h)
    assert linked.json() == {"linked": 1}
    assert client.post(f"{base}/tickets", json={"ticket_ids": [ids[0]]},
                       headers=h).json() == {"linked": 0}  # fmt: skip
    missing = client.post(f"{base}/tickets", json={"ticket_ids": [str(uuid.uuid4())]}, headers=h)
    assert missing.status_code == 404
    listed = client.get(f"{base}/affected", headers=h).json()
    assert listed["counts"]["complaint"] == 1 and listed["data"][0]["holder_id"] == ids[1]
    not_holder = client.post(f"{base}/affected/holders",
                             json={"holder_ids": [manager.user_id]}, headers=h)  # fmt: skip
    assert not_holder.status_code == 422
    preview = client.post(f"{base}/affected/preview",
                          json={"definition": {"kind": "nothing"}}, headers=h)  # fmt: skip
    assert preview.status_code == 422 and preview.json()["code"] == "invalid_affected_query"

    md = client.get(f"{base}/report", headers=h)
    assert md.headers["content-type"].startswith("text/markdown") and "# INC-" in md.text
    html = client.get(f"{base}/report?format=html", headers=h)
    assert html.headers["content-type"].startswith("text/html") and "<h1>" in html.text
    assert client.get(f"{base}/report?format=pdf", headers=h).status_code == 422
    open_list = client.get("/v1/staff/incidents?status=open", headers=h).json()["data"]
    assert [i["id"] for i in open_list] == [made["id"]]
    with UnitOfWork(container.database, write=False) as uow:
        assert uow.session.get(User, uuid.UUID(ids[1])) is not None
