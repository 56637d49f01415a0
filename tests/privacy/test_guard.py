"""The bulk-access guard: thresholds per staff member, sessions ended at the block, compliance
alerted; rate limits, break-glass limits, off-hours spikes; one holder per request."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.audit import service as audit
from anxin.kit.clock import ManualClock
from anxin.kit.errors import Forbidden
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.insider import AuditEntry
from anxin.privacy import guard
from anxin.settings import Settings
from tests.identity.conftest import Person
from tests.privacy.conftest import Team, open_case, problem, reveal, sign_in_again


def alerts_of(client: TestClient, compliance: Person) -> list[dict[str, Any]]:
    listed = client.get("/v1/staff/compliance/alerts", headers=compliance.headers)
    assert listed.status_code == 200, listed.text
    data: list[dict[str, Any]] = listed.json()["data"]
    return data


def audit_events(container: Container, name: str) -> list[AuditEntry]:
    with UnitOfWork(container.database) as uow:
        rows = list(uow.session.scalars(select(AuditEntry).where(AuditEntry.event == name)))
        uow.session.expunge_all()
    return rows


def test_a_staff_member_revealing_many_holders_is_stopped_and_compliance_alerted(
    client: TestClient, holder: Callable[..., Person], team: Team, container: Container,
    totp_code: Callable[[str], str],
) -> None:  # fmt: skip
    """Alert above 2 distinct holders an hour, block above 4 (see conftest)."""
    people = [holder() for _ in range(6)]
    cases = [open_case(client, team.officer, p.user_id, team.agent.user_id) for p in people]
    for i in range(4):
        done = reveal(client, team.agent, people[i].user_id, ["phone"], case_id=cases[i])
        assert done.status_code == 200, (i, done.text)
        kinds = [a["kind"] for a in alerts_of(client, team.compliance)]
        assert kinds == ([] if i < 2 else ["bulk_access_alert"]), i  # one alert, folded
    # The same holder again is not a new holder.
    assert reveal(client, team.agent, people[0].user_id, ["email"],
                  case_id=cases[0]).status_code == 200  # fmt: skip
    # The fifth distinct holder is one too many: refused, sessions ended, compliance told.
    blocked = problem(
        reveal(client, team.agent, people[4].user_id, ["phone"], case_id=cases[4]), 403,
        "bulk_access_blocked",
    )  # fmt: skip
    assert "5 distinct holders in an hour (limit 4)" in blocked["detail"]
    problem(client.get("/v1/staff/me", headers=team.agent.headers), 401, "session_invalid")
    [block] = [a for a in alerts_of(client, team.compliance) if a["kind"] == "bulk_access_blocked"]
    assert block["severity"] == "critical" and block["staff_id"] == team.agent.user_id
    assert block["details"]["holders_last_hour"] == 5 and block["details"]["sessions_ended"] >= 1
    [event] = audit_events(container, "privacy.guard_blocked")
    assert str(event.actor_id) == team.agent.user_id
    # Nothing of the fifth holder was revealed or logged.
    assert client.get("/v1/me/access-log", headers=people[4].headers).json()["data"] == []
    # Signing in again does not reset the count.
    assert sign_in_again(client, team.agent, totp_code).status_code == 200
    problem(reveal(client, team.agent, people[5].user_id, ["phone"], case_id=cases[5]), 403,
            "bulk_access_blocked")  # fmt: skip
    # Compliance acknowledges the alert, saying what was done.
    url = f"/v1/staff/compliance/alerts/{block['id']}/acknowledge"
    done = client.post(url, headers=team.compliance.headers, json={"note": "called the agent"})
    assert done.status_code == 200 and done.json()["acknowledged_by"] == team.compliance.user_id
    problem(client.post(url, headers=team.compliance.headers, json={"note": "again"}), 409,
            "alert_acknowledged")  # fmt: skip
    problem(client.get("/v1/staff/compliance/alerts", headers=team.officer.headers), 403,
            "missing_permission")  # fmt: skip


@pytest.mark.parametrize("guard_settings", [{"reveal_rate_per_minute": 2}], indirect=True)
def test_reveals_are_rate_limited(
    client: TestClient, holder: Callable[..., Person], team: Team, clock: ManualClock
) -> None:
    person = holder()
    case = open_case(client, team.officer, person.user_id, team.agent.user_id)
    for _ in range(2):
        assert (
            reveal(client, team.agent, person.user_id, ["phone"], case_id=case).status_code == 200
        )
    problem(reveal(client, team.agent, person.user_id, ["phone"], case_id=case), 429,
            "reveal_rate_limited")  # fmt: skip
    assert client.get("/v1/staff/me", headers=team.agent.headers).status_code == 200  # not ended
    clock.advance(guard.HOUR / 60)
    assert reveal(client, team.agent, person.user_id, ["phone"], case_id=case).status_code == 200


def test_break_glass_beyond_the_daily_limit_blocks(
    client: TestClient, holder: Callable[..., Person], team: Team
) -> None:
    people = [holder() for _ in range(3)]
    reason = "customer on the phone cannot sign in, verifying identity"
    for person in people[:2]:
        assert reveal(client, team.agent, person.user_id, ["phone"],
                      break_glass_reason=reason).status_code == 200  # fmt: skip
    blocked = problem(reveal(client, team.agent, people[2].user_id, ["phone"],
                             break_glass_reason=reason), 403, "bulk_access_blocked")  # fmt: skip
    assert "3 break-glass reveals in 24 hours (limit 2)" in blocked["detail"]
    kinds = sorted(a["kind"] for a in alerts_of(client, team.compliance))
    assert kinds == ["break_glass", "break_glass", "bulk_access_blocked"]


# Sunday 2030-06-02 03:00 in Shanghai: outside Monday-Friday 09:00-17:00.
SUNDAY_NIGHT = datetime(2030, 6, 1, 19, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "guard_settings",
    [{"business_hours": "09:00-17:00", "business_days": [1, 2, 3, 4, 5],
      "off_hours_alert_reveals": 1}],
    indirect=True,
)  # fmt: skip
def test_an_off_hours_spike_alerts_compliance(
    clock: ManualClock, client: TestClient, holder: Callable[..., Person],
    ready_staff: Callable[[str], Person], settings: Settings,
) -> None:  # fmt: skip
    policy = guard.GuardPolicy.from_settings(settings)
    assert policy.off_hours(SUNDAY_NIGHT)
    assert not policy.off_hours(datetime(2030, 6, 3, 2, 0, tzinfo=UTC))  # Monday 10:00
    clock.set(SUNDAY_NIGHT)  # before anyone signs in: sessions live on this clock
    team = Team(ready_staff("agent"), ready_staff("risk_officer"),
                ready_staff("compliance_officer"))  # fmt: skip
    person = holder()
    case = open_case(client, team.officer, person.user_id, team.agent.user_id)
    assert reveal(client, team.agent, person.user_id, ["phone"], case_id=case).status_code == 200
    assert alerts_of(client, team.compliance) == []
    assert reveal(client, team.agent, person.user_id, ["email"], case_id=case).status_code == 200
    [spike] = alerts_of(client, team.compliance)
    assert spike["kind"] == "off_hours_spike" and spike["details"] == {
        "off_hours_reveals_last_hour": 2
    }


def test_business_hours_may_wrap_around_midnight() -> None:
    night = guard.GuardPolicy.from_settings(
        Settings(business_hours="22:00-06:00", business_days=[1, 2, 3, 4, 5, 6, 7],
                 business_timezone="UTC")
    )  # fmt: skip
    assert not night.off_hours(datetime(2030, 6, 3, 23, 0, tzinfo=UTC))
    assert not night.off_hours(datetime(2030, 6, 3, 5, 59, tzinfo=UTC))
    assert night.off_hours(datetime(2030, 6, 3, 12, 0, tzinfo=UTC))


def test_one_holder_per_request() -> None:
    one = uuid.uuid4()
    assert guard.one_holder([one, one]) == one
    for many in ([], [one, uuid.uuid4()]):
        with pytest.raises(Forbidden) as refused:
            guard.one_holder(many)
        assert refused.value.code == "one_holder_per_request"


def test_no_staff_listing_returns_unmasked_personal_data(
    client: TestClient, holder: Callable[..., Person], team: Team, container: Container
) -> None:
    """Whatever a compliance officer (who holds every permission but the admin's) can list
    shows holders masked, even after reveals, cases, alerts and break-glass happened."""
    person = holder(phone="13712345678", name="欧阳娜娜")
    case = open_case(client, team.officer, person.user_id, team.compliance.user_id)
    reveal(client, team.compliance, person.user_id, ["phone", "display_name"], case_id=case)
    reveal(client, team.agent, person.user_id, ["phone"],
           break_glass_reason="suspected fraud ring, confirming the number")  # fmt: skip
    with UnitOfWork(container.database) as uow:
        audit.flush(uow.session)
        uow.commit()
    paths = client.get("/openapi.json").json()["paths"]
    listings = [p for p, ops in paths.items()
                if p.startswith("/v1/staff") and "{" not in p and "get" in ops]  # fmt: skip
    assert {"/v1/staff/holders", "/v1/staff/cases", "/v1/staff/compliance/alerts",
            "/v1/staff/audit/entries"} <= set(listings)  # fmt: skip
    for path in listings:
        shown = client.get(path, headers=team.compliance.headers)
        if shown.status_code == 403:
            continue  # not this role's
        assert shown.status_code == 200, (path, shown.text)
        for secret in ("13712345678", "欧阳娜娜", "欧阳"):
            assert secret not in shown.text, (path, secret)
