"""Cases: opened, assigned and closed by officers; seen by their assignee; registered by
other capabilities; all in the audit log."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from anxin.models.insider import AuditEntry
from anxin.privacy import cases
from tests.identity.conftest import Person
from tests.privacy.conftest import Team, open_case, problem, reveal


def test_open_assign_close(
    client: TestClient, holder: Callable[..., Person], team: Team,
    ready_staff: Callable[[str], Person], container: Container,
) -> None:  # fmt: skip
    person = holder()
    agent, officer = team.agent, team.officer

    def open_as(staff: Person, **body: str) -> object:
        return client.post("/v1/staff/cases", headers=staff.headers, json=body)

    problem(open_as(agent, holder_id=person.user_id), 403, "missing_permission")
    problem(open_as(officer, holder_id=str(uuid.uuid4())), 404, "holder_not_found")
    problem(open_as(officer, holder_id=agent.user_id), 404, "holder_not_found")
    admin = ready_staff("admin")
    problem(client.post("/v1/staff/cases", headers=officer.headers,
                        json={"holder_id": person.user_id, "assignee_id": admin.user_id}),
            422, "invalid_assignee")  # fmt: skip
    made = client.post(
        "/v1/staff/cases", headers=officer.headers,
        json={"holder_id": person.user_id, "summary": "chargeback pattern"},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    case = made.json()
    assert case["kind"] == "risk_case" and case["status"] == "open"
    assert case["reference"].startswith("RISK-") and case["assignee_id"] is None
    url = f"/v1/staff/cases/{case['id']}"
    # Unassigned: the agent neither sees it nor can use it.
    problem(client.get(url, headers=agent.headers), 404, "case_not_found")
    assert client.get("/v1/staff/cases", headers=agent.headers).json()["data"] == []
    problem(client.get("/v1/staff/cases?scope=all", headers=agent.headers), 403,
            "missing_permission")  # fmt: skip
    to_agent = {"assignee_id": agent.user_id}
    problem(client.post(f"{url}/assign", headers=agent.headers, json=to_agent), 403,
            "missing_permission")  # fmt: skip
    assigned = client.post(f"{url}/assign", headers=officer.headers,
                           json={"assignee_id": agent.user_id})  # fmt: skip
    assert assigned.status_code == 200 and assigned.json()["assignee_id"] == agent.user_id
    mine = client.get("/v1/staff/cases", headers=agent.headers).json()["data"]
    assert [c["id"] for c in mine] == [case["id"]]
    assert client.get(url, headers=agent.headers).status_code == 200
    everyone = client.get("/v1/staff/cases?scope=all&status=open", headers=officer.headers)
    assert [c["id"] for c in everyone.json()["data"]] == [case["id"]]
    assert reveal(client, agent, person.user_id, ["phone"], case_id=case["id"]).status_code == 200
    closed = client.post(f"{url}/close", headers=agent.headers)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    problem(client.post(f"{url}/close", headers=agent.headers), 409, "case_closed")
    problem(client.post(f"{url}/assign", headers=officer.headers,
                        json={"assignee_id": agent.user_id}), 409, "case_closed")  # fmt: skip
    with UnitOfWork(container.database) as uow:
        events = list(uow.session.scalars(
            select(AuditEntry.event).where(AuditEntry.event.like("case.%")).order_by(AuditEntry.seq)
        ))  # fmt: skip
    assert events == ["case.opened", "case.assigned", "case.closed"]


def test_paging_and_bad_cursors(client: TestClient, holder: Callable[..., Person],
                                team: Team) -> None:  # fmt: skip
    person = holder()
    made = [open_case(client, team.officer, person.user_id, team.agent.user_id) for _ in range(3)]
    first = client.get("/v1/staff/cases?limit=2", headers=team.agent.headers).json()
    assert [c["id"] for c in first["data"]] == made[::-1][:2] and first["next_cursor"]
    rest = client.get(f"/v1/staff/cases?limit=2&cursor={first['next_cursor']}",
                      headers=team.agent.headers).json()  # fmt: skip
    assert [c["id"] for c in rest["data"]] == [made[0]] and rest["next_cursor"] is None
    problem(client.get("/v1/staff/cases?cursor=nonsense", headers=team.agent.headers), 422,
            "invalid_cursor")  # fmt: skip


def test_other_capabilities_register_their_cases(
    client: TestClient, holder: Callable[..., Person], team: Team, container: Container
) -> None:
    person = holder()
    with UnitOfWork(container.database) as uow:
        agent = uow.session.get(User, uuid.UUID(team.agent.user_id))
        ticket = cases.register(
            uow.session, kind="ticket", reference="T-1001", holder_id=uuid.UUID(person.user_id),
            assignee_id=agent.id if agent else None, opened_by=None, now=container.clock.now(),
        )  # fmt: skip
        uow.commit()
        ticket_id = str(ticket.id)
    with UnitOfWork(container.database) as uow:
        for kind, reference in (("ticket", "T-1001"), ("meeting", "M-1"), ("ticket", "")):
            try:
                cases.register(
                    uow.session, kind=kind, reference=reference, holder_id=None,
                    assignee_id=None, opened_by=None, now=container.clock.now(),
                )  # fmt: skip
            except AnxinError as refused:
                assert refused.code in {"case_exists", "invalid_case_kind", "invalid_reference"}
            else:  # pragma: no cover
                raise AssertionError((kind, reference))
    done = reveal(client, team.agent, person.user_id, ["phone"], case_id=ticket_id)
    assert done.status_code == 200 and done.json()["purpose"]["kind"] == "ticket"
    [entry] = client.get("/v1/me/access-log", headers=person.headers).json()["data"]
    assert entry["purpose"]["reference"] == "T-1001"
