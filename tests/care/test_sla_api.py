"""SLA policies, calendars and a ticket's clocks over HTTP (``/v1/staff/care/sla``), the
``anxin care sla-tick`` command and the server's SLA worker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from anxin.care import sla_worker
from anxin.cli.main import app as cli
from anxin.kit.clock import ManualClock
from anxin.kit.db import Database
from anxin.settings import Settings
from tests.care.conftest import Person

SLA = "/v1/staff/care/sla"


def _file(client: TestClient, person: Person, body: str) -> dict[str, Any]:
    response = client.post("/v1/me/care/tickets", json={"subject": "", "body": body},
                           headers=person.headers)  # fmt: skip
    assert response.status_code == 201, response.text
    return dict(response.json())


def _calendar(client: TestClient, lead: Person, **body: Any) -> dict[str, Any]:
    payload = {"name": "shanghai-split", "timezone": "Asia/Shanghai",
               "hours": {"0": [["09:00", "12:00"], ["13:00", "18:00"]]}} | body  # fmt: skip
    response = client.post(f"{SLA}/calendars", json=payload, headers=lead.headers)
    return {"status": response.status_code, **response.json()}


def test_leads_manage_calendars_and_days(client: TestClient, senior: Person, agent: Person) -> None:
    split = {"0": [["09:00", "12:00"], ["13:00", "18:00"]], "4": [["09:00", "17:00"]]}
    made = _calendar(client, senior, hours=split)
    assert made["status"] == 201, made
    assert made["hours"]["0"] == [["09:00", "12:00"], ["13:00", "18:00"]]
    assert _calendar(client, senior)["status"] == 409  # name taken
    bad = _calendar(client, senior, name="bad", hours={"0": [["18:00", "09:00"]]})
    assert bad["status"] == 422 and bad["code"] == "care_calendar_invalid"
    assert _calendar(client, senior, name="mars", timezone="Mars/Olympus")["status"] == 422
    assert _calendar(client, senior, name="never", hours={})["status"] == 422
    assert _calendar(client, agent, name="agents")["status"] == 403
    url = f"{SLA}/calendars/{made['id']}"
    holiday = {"kind": "holiday", "name": "元旦"}
    assert (
        client.put(f"{url}/days/2027-01-01", json=holiday, headers=senior.headers).status_code
        == 200
    )
    workday = {"kind": "workday", "works_as": 4, "name": "调休"}
    set_day = client.put(f"{url}/days/2027-01-09", json=workday, headers=senior.headers)
    assert set_day.json() == {"day": "2027-01-09", "kind": "workday", "works_as": 4, "name": "调休"}
    days = client.get(f"{url}/days", params={"year": 2027}, headers=agent.headers).json()["data"]
    assert [d["day"] for d in days] == ["2027-01-01", "2027-01-09"]
    assert client.delete(f"{url}/days/2027-01-01", headers=senior.headers).status_code == 204
    assert client.delete(f"{url}/days/2027-01-01", headers=senior.headers).status_code == 404
    renamed = client.patch(url, json={"name": "shanghai"}, headers=senior.headers)
    assert renamed.json()["name"] == "shanghai"
    assert (
        client.patch(url, json={"timezone": "Nowhere"}, headers=senior.headers).status_code == 422
    )


def test_leads_manage_policies_and_the_most_specific_applies(
    client: TestClient, holder: Callable[..., Person], senior: Person, agent: Person
) -> None:
    _file(client, holder(), "I was charged twice for one order")  # creates the defaults
    policies = client.get(f"{SLA}/policies", headers=agent.headers).json()["data"]
    assert len(policies) == 5
    default = next(p for p in policies if p["category"] is None and p["priority"] is None)
    assert default["first_response_minutes"] == 540
    fees = {
        "name": "Fees, low priority", "category": "fees", "priority": "low",
        "calendar_id": default["calendar_id"], "first_response_minutes": 60,
        "next_response_minutes": 120, "resolution_minutes": 600, "warn_at_percent": 50,
    }  # fmt: skip
    created = client.post(f"{SLA}/policies", json=fees, headers=senior.headers)
    assert created.status_code == 201, created.text
    assert client.post(f"{SLA}/policies", json=fees, headers=senior.headers).status_code == 409
    assert client.post(f"{SLA}/policies", json=fees, headers=agent.headers).status_code == 403
    ticket = _file(client, holder(), "Why is there a fee on my withdrawal?")
    patched = client.patch(
        f"/v1/staff/care/tickets/{ticket['id']}",
        json={"category": "fees", "priority": "low"},
        headers=senior.headers,
    )
    assert patched.status_code == 200, patched.text
    view = client.get(f"{SLA}/tickets/{ticket['id']}", headers=agent.headers).json()
    assert view["policy"]["name"] == "Fees, low priority"
    first = next(c for c in view["clocks"] if c["kind"] == "first_response")
    assert first["target_seconds"] == 3600
    assert patched.status_code == 200, patched.text
    # A policy can be switched off and changed; clocks already running keep their targets.
    url = f"{SLA}/policies/{created.json()['id']}"
    changed = client.patch(url, json={"first_response_minutes": 90, "priority": None},
                           headers=senior.headers)  # fmt: skip
    assert changed.status_code == 200, changed.text
    assert (changed.json()["first_response_minutes"], changed.json()["priority"]) == (90, None)
    assert (
        client.patch(url, json={"active": False}, headers=senior.headers).json()["active"] is False
    )
    missing = {**fees, "calendar_id": "00000000-0000-7000-8000-000000000000"}
    assert client.post(f"{SLA}/policies", json=missing, headers=senior.headers).status_code == 404


def test_a_tickets_clocks_are_visible_to_agents(
    client: TestClient, holder: Callable[..., Person], agent: Person
) -> None:
    ticket = _file(client, holder(), "Someone took money from my wallet, I did not pay this")
    view = client.get(f"{SLA}/tickets/{ticket['id']}", headers=agent.headers)
    assert view.status_code == 200, view.text
    out = view.json()
    kinds = {c["kind"]: c for c in out["clocks"]}
    assert set(kinds) == {"first_response", "resolution"}
    assert kinds["first_response"]["status"] == "running"
    assert out["expected_answer_at"] == kinds["first_response"]["due_at"]
    unknown = client.get(
        f"{SLA}/tickets/00000000-0000-7000-8000-000000000000", headers=agent.headers
    )
    assert unknown.status_code == 404


def test_tick_command_and_worker_escalate_breached_tickets(
    client: TestClient, clock: ManualClock, holder: Callable[..., Person], senior: Person,
    database: Database, db_url: str, key_file: Path, settings: Settings,
) -> None:  # fmt: skip
    ticket = _file(client, holder(), "I did not make this payment, please help")
    later = clock.now() + timedelta(days=20)  # the app's clock stays: sessions would expire
    env = {"ANXIN_DATABASE_URL": db_url, "ANXIN_KEY_FILE": str(key_file), "ANXIN_ENV": "test",
           "ANXIN_HOME": str(settings.home)}  # fmt: skip
    at = later.isoformat()
    result = CliRunner().invoke(cli, ["care", "sla-tick", "--at", at, "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert '"escalated": 1' in result.output
    response = client.get(f"{SLA}/tickets/{ticket['id']}", headers=senior.headers)
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["escalated"] is True
    assert all(c["breached_at"] for c in view["clocks"])
    # Nothing new to do on a second pass (the worker runs the same function).
    assert sla_worker.run_once(database, later).breached == 0
    inbox = client.get("/v1/me/notifications", headers=senior.headers)
    assert inbox.status_code == 200, inbox.text
    assert "care.sla_breached" in {n["kind"] for n in inbox.json()["data"]}
    bad = CliRunner().invoke(cli, ["care", "sla-tick", "--at", "yesterday"], env=env)
    assert bad.exit_code != 0 and "ISO 8601" in str(bad.exception)  # one line from `anxin`
    made = CliRunner().invoke(cli, ["care", "sla-defaults"], env=env)
    assert made.exit_code == 0, made.output


def test_worker_starts_and_stops(database: Database) -> None:
    worker = sla_worker.SlaWorker(database, ManualClock(clock_start()), interval=0.01).start()
    worker.stop()


def clock_start() -> Any:
    from datetime import UTC, datetime

    return datetime(2030, 1, 7, 2, 0, tzinfo=UTC)
