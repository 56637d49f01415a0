"""Purpose-bound reveals: masked by default, unmasked only for an assigned open case (or a
break-glass reason), only the fields the role allows, for a short time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.audit import service as audit
from anxin.kit.clock import ManualClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.insider import AuditEntry
from tests.identity.conftest import Person
from tests.privacy.conftest import Team, open_case, problem, reveal

KYC = {
    "tier": "basic", "full_name": "张三明", "id_type": "resident_id",
    "id_number": "110101199003071234", "date_of_birth": "1990-03-07", "nationality": "CN",
    "address": "北京市东城区景山前街4号",
}  # fmt: skip


def verified_holder(client: TestClient, holder: Callable[..., Person]) -> Person:
    person = holder(phone="13912345678", name="张三明")
    done = client.post("/v1/me/kyc", headers=person.headers, json=KYC)
    assert done.status_code == 202, done.text
    return person


def events(container: Container, name: str) -> list[AuditEntry]:
    with UnitOfWork(container.database) as uow:
        audit.flush(uow.session)
        rows = audit.entries(uow.session, event_name=name, limit=100)
        uow.session.expunge_all()
    return rows


def test_an_agent_without_a_case_cannot_see_unmasked_data(
    client: TestClient, holder: Callable[..., Person], team: Team
) -> None:
    person = verified_holder(client, holder)
    other = holder()
    agent, officer = team.agent, team.officer
    # Everything staff can list shows the holder masked only.
    for path in ("/v1/staff/holders", f"/v1/staff/holders/{person.user_id}"):
        shown = client.get(path, headers=agent.headers)
        assert shown.status_code == 200
        assert "13912345678" not in shown.text and "张三明" not in shown.text
        assert "139****5678" in shown.text
    # No purpose at all.
    problem(reveal(client, agent, person.user_id, ["phone"]), 403, "purpose_required")
    # A case about someone else, a case assigned to someone else, a closed case.
    elsewhere = open_case(client, officer, other.user_id, agent.user_id)
    problem(reveal(client, agent, person.user_id, ["phone"], case_id=elsewhere), 403,
            "case_other_holder")  # fmt: skip
    theirs = open_case(client, officer, person.user_id, officer.user_id)
    problem(reveal(client, agent, person.user_id, ["phone"], case_id=theirs), 403,
            "case_not_yours")  # fmt: skip
    mine = open_case(client, officer, person.user_id, agent.user_id)
    # Fields beyond the role: agents never see a full ID number.
    problem(reveal(client, agent, person.user_id, ["id_number"], case_id=mine), 403,
            "field_not_allowed")  # fmt: skip
    problem(reveal(client, agent, person.user_id, ["address"], case_id=mine), 403,
            "field_not_allowed")  # fmt: skip
    shown = reveal(client, agent, person.user_id, ["phone", "display_name", "id_number_last4",
                                                   "legal_name"], case_id=mine)  # fmt: skip
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["values"] == {
        "phone": "+8613912345678", "display_name": "张三明", "id_number_last4": "1234",
        "legal_name": "张三明",
    }  # fmt: skip
    assert body["purpose"]["kind"] == "risk_case" and body["break_glass"] is False
    # Closing the case ends it.
    assert client.post(f"/v1/staff/cases/{mine}/close", headers=agent.headers).status_code == 200
    problem(reveal(client, agent, person.user_id, ["phone"], case_id=mine), 409, "case_closed")
    problem(client.get(f"/v1/staff/reveals/{body['reveal_id']}", headers=agent.headers), 410,
            "reveal_expired")  # fmt: skip


def test_role_field_permissions(
    client: TestClient, holder: Callable[..., Person], team: Team,
    ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    person = verified_holder(client, holder)
    case = open_case(client, team.officer, person.user_id, team.officer.user_id)
    full = reveal(client, team.officer, person.user_id, ["id_number", "address"], case_id=case)
    assert full.status_code == 200, full.text
    assert full.json()["values"]["id_number"] == "110101199003071234"
    admin = ready_staff("admin")
    problem(reveal(client, admin, person.user_id, ["phone"]), 403, "missing_permission")
    problem(reveal(client, team.officer, person.user_id, ["shoe_size"], case_id=case), 422,
            "validation_failed")  # fmt: skip


def test_a_reveal_appears_in_the_holders_access_log(
    client: TestClient, holder: Callable[..., Person], team: Team, container: Container
) -> None:
    person = verified_holder(client, holder)
    case = open_case(client, team.officer, person.user_id, team.agent.user_id)
    done = reveal(client, team.agent, person.user_id, ["email", "phone"], case_id=case)
    assert done.status_code == 200, done.text
    log = client.get("/v1/me/access-log", headers=person.headers)
    assert log.status_code == 200
    [entry] = log.json()["data"]
    pseudonym = client.get("/v1/staff/me", headers=team.agent.headers).json()["pseudonym"]
    assert entry["staff"] == pseudonym and entry["role"] == "agent"
    assert entry["action"] == "reveal" and entry["fields"] == ["email", "phone"]
    assert entry["purpose"]["kind"] == "risk_case" and entry["purpose"]["reference"].startswith(
        "RISK-"
    )
    assert entry["break_glass"] is False
    assert "王小明" not in log.text  # the staff member's name never shows
    # Another holder's log does not show it; staff cannot read holders' logs as theirs.
    assert client.get("/v1/me/access-log", headers=holder().headers).json()["data"] == []
    problem(client.get("/v1/me/access-log", headers=team.agent.headers), 403, "wrong_account_kind")
    # And it is in the audit log, with field names and no values.
    [recorded] = events(container, "privacy.reveal")
    assert str(recorded.actor_id) == team.agent.user_id
    assert str(recorded.subject_id) == person.user_id
    assert recorded.data["fields"] == ["email", "phone"] and "+8613912345678" not in str(
        recorded.data
    )


def test_a_reveal_lasts_a_short_time(
    client: TestClient, holder: Callable[..., Person], team: Team, clock: ManualClock
) -> None:
    person = holder()
    case = open_case(client, team.officer, person.user_id, team.agent.user_id)
    done = reveal(client, team.agent, person.user_id, ["phone"], case_id=case).json()
    again = client.get(f"/v1/staff/reveals/{done['reveal_id']}", headers=team.agent.headers)
    assert again.status_code == 200 and again.json()["values"] == done["values"]
    # Only its own staff member may read it again.
    problem(client.get(f"/v1/staff/reveals/{done['reveal_id']}", headers=team.officer.headers),
            404, "reveal_not_found")  # fmt: skip
    clock.advance(timedelta(seconds=301))
    problem(client.get(f"/v1/staff/reveals/{done['reveal_id']}", headers=team.agent.headers),
            410, "reveal_expired")  # fmt: skip


def test_break_glass_alerts_compliance_notifies_the_holder_and_needs_review(
    client: TestClient, holder: Callable[..., Person], team: Team, container: Container
) -> None:
    person = holder()
    agent, compliance = team.agent, team.compliance
    reason = "caller reports account takeover in progress, no ticket yet"
    problem(reveal(client, agent, person.user_id, ["phone"], break_glass_reason="because"),
            422, "reason_too_short")  # fmt: skip
    case = open_case(client, team.officer, person.user_id, agent.user_id)
    problem(reveal(client, agent, person.user_id, ["phone"], case_id=case,
                   break_glass_reason=reason), 422, "two_purposes")  # fmt: skip
    done = reveal(client, agent, person.user_id, ["phone"], break_glass_reason=reason)
    assert done.status_code == 200, done.text
    assert done.json()["break_glass"] is True
    # Compliance is alerted at once.
    alerts = client.get("/v1/staff/compliance/alerts", headers=compliance.headers).json()["data"]
    assert [a["kind"] for a in alerts] == ["break_glass"]
    assert alerts[0]["severity"] == "critical" and alerts[0]["staff_id"] == agent.user_id
    inbox = client.get("/v1/me/notifications", headers=compliance.headers).json()["data"]
    assert inbox[0]["kind"] == "compliance.alert"
    # The holder is told, and sees it in the access log with the reason.
    kinds = [n["kind"] for n in client.get("/v1/me/notifications",
                                           headers=person.headers).json()["data"]]  # fmt: skip
    assert "privacy.break_glass_access" in kinds
    [entry] = client.get("/v1/me/access-log", headers=person.headers).json()["data"]
    assert entry["break_glass"] is True and entry["purpose"] == {"kind": "break_glass",
                                                                 "reason": reason}  # fmt: skip
    # A compliance review follows; nobody reviews their own break-glass.
    pending = client.get("/v1/staff/compliance/break-glass?status=pending",
                         headers=compliance.headers).json()["data"]  # fmt: skip
    assert [p["reveal_id"] for p in pending] == [done.json()["reveal_id"]]
    url = f"/v1/staff/compliance/break-glass/{done.json()['reveal_id']}/review"
    problem(client.post(url, headers=agent.headers, json={"outcome": "justified", "note": "x"}),
            403, "missing_permission")  # fmt: skip
    reviewed = client.post(url, headers=compliance.headers,
                           json={"outcome": "justified", "note": "takeover confirmed"})  # fmt: skip
    assert reviewed.status_code == 200 and reviewed.json()["review_status"] == "justified"
    problem(client.post(url, headers=compliance.headers,
                        json={"outcome": "unjustified", "note": "again"}), 409,
            "already_reviewed")  # fmt: skip
    # The audit log keeps a digest of the reason, never the text.
    [recorded] = events(container, "privacy.break_glass")
    assert "reason_sha256" in recorded.data and reason not in str(recorded.data)


def test_compliance_cannot_review_its_own_break_glass(
    client: TestClient, holder: Callable[..., Person], team: Team,
    ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    person = holder()
    reason = "regulator request by phone, case to follow within the hour"
    done = reveal(client, team.compliance, person.user_id, ["email"], break_glass_reason=reason)
    url = f"/v1/staff/compliance/break-glass/{done.json()['reveal_id']}/review"
    problem(client.post(url, headers=team.compliance.headers,
                        json={"outcome": "justified", "note": "mine"}), 403,
            "own_break_glass")  # fmt: skip
    other = ready_staff("compliance_officer")
    verdict = {"outcome": "unjustified", "note": "no"}
    assert client.post(url, headers=other.headers, json=verdict).status_code == 200


def test_overdue_break_glass_reviews_are_escalated(
    client: TestClient, holder: Callable[..., Person], team: Team, container: Container
) -> None:
    from anxin.models.insider import ComplianceAlert
    from anxin.privacy.reveal import sweep_overdue

    person = holder()
    done = reveal(client, team.agent, person.user_id, ["phone"],
                  break_glass_reason="customer locked out at the border, urgent")  # fmt: skip
    assert done.status_code == 200
    later = container.clock.now() + timedelta(hours=73)
    with UnitOfWork(container.database) as uow:
        assert sweep_overdue(uow.session, later) == 1
        assert sweep_overdue(uow.session, later) == 0  # escalated once
        uow.commit()
    with UnitOfWork(container.database) as uow:
        kinds = list(uow.session.scalars(select(ComplianceAlert.kind)))
    assert sorted(kinds) == ["break_glass", "break_glass_review_overdue"]
    listed = client.get("/v1/staff/compliance/break-glass?status=overdue",
                        headers=team.compliance.headers).json()["data"]  # fmt: skip
    assert [r["reveal_id"] for r in listed] == [done.json()["reveal_id"]]


def test_unknown_holder_and_staff_ids_are_not_found(
    client: TestClient, team: Team, holder: Callable[..., Person]
) -> None:
    import uuid

    problem(reveal(client, team.agent, str(uuid.uuid4()), ["phone"]), 404, "holder_not_found")
    problem(reveal(client, team.agent, team.officer.user_id, ["phone"]), 404, "holder_not_found")
    problem(client.get(f"/v1/staff/reveals/{uuid.uuid4()}", headers=team.agent.headers), 404,
            "reveal_not_found")  # fmt: skip
    # Holders cannot reveal anything.
    person = holder()
    problem(reveal(client, person, person.user_id, ["phone"]), 403, "wrong_account_kind")
