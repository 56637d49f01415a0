"""Fixtures for the insider-privacy tests: the identity test app (manual clock, fake
senders) with small guard thresholds, and helpers for staff, holders and cases."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from anxin.settings import Environment, Settings
from tests.cli.conftest import bare_cli, cli, home
from tests.identity.conftest import (
    Person,
    client,
    clock,
    container,
    deliver,
    enrol_totp,
    holder,
    last_code,
    mailbox,
    make_staff,
    ready_staff,
    runtime,
    sms,
    totp_code,
)

__all__ = [
    "bare_cli",
    "cli",
    "client",
    "clock",
    "container",
    "deliver",
    "enrol_totp",
    "holder",
    "home",
    "last_code",
    "mailbox",
    "make_staff",
    "ready_staff",
    "runtime",
    "sms",
    "totp_code",
]  # fmt: skip

# Small thresholds so that tests reach them; every hour is a working hour unless a test
# says otherwise, so that off-hours alerts do not depend on when the suite runs.
GUARD = {
    "guard_alert_holders_per_hour": 2, "guard_block_holders_per_hour": 4,
    "guard_alert_holders_per_day": 100, "guard_block_holders_per_day": 100,
    "reveal_rate_per_minute": 100, "break_glass_per_day": 2,
    "business_hours": "00:00-24:00", "business_days": [1, 2, 3, 4, 5, 6, 7],
}  # fmt: skip


@pytest.fixture
def guard_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Override per test with ``@pytest.mark.parametrize("guard_settings", [{...}],
    indirect=True)``."""
    return {**GUARD, **getattr(request, "param", {})}


@pytest.fixture
def settings(
    db_url: str, tmp_path: Path, key_file: Path, guard_settings: dict[str, Any]
) -> Settings:
    return Settings(
        env=Environment.TEST, home=tmp_path / "home", database_url=db_url, key_file=key_file,
        delivery_interval_seconds=0, audit_checkpoint_interval_seconds=0, **guard_settings,
    )  # fmt: skip


@dataclass
class Team:
    agent: Person
    officer: Person  # a risk officer: opens and assigns cases
    compliance: Person


@pytest.fixture
def team(ready_staff: Callable[[str], Person]) -> Team:
    return Team(ready_staff("agent"), ready_staff("risk_officer"),
                ready_staff("compliance_officer"))  # fmt: skip


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def open_case(client: TestClient, officer: Person, holder_id: str, assignee_id: str) -> str:
    made = client.post(
        "/v1/staff/cases", headers=officer.headers,
        json={"holder_id": holder_id, "assignee_id": assignee_id, "summary": "card dispute"},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def sign_in_again(client: TestClient, person: Person, code: Callable[[str], str]) -> Any:
    """Sign in with password and authenticator app; returns the response of the last step."""
    first = client.post(
        "/v1/auth/signin", json={"identifier": person.identifier, "password": person.password}
    ).json()
    done = client.post("/v1/auth/signin/second-factor", json={
        "pending_token": first["pending_token"], "method": "totp",
        "proof": {"code": code(person.extra["totp"])}, "device_token": person.device_token,
    })  # fmt: skip
    if done.status_code == 200:
        person.token = done.json()["token"]
    return done


def reveal(
    client: TestClient, staff: Person, holder_id: str, fields: list[str], **purpose: Any
) -> Any:
    return client.post(
        f"/v1/staff/holders/{holder_id}/reveal", headers=staff.headers,
        json={"fields": fields, **purpose},
    )  # fmt: skip
