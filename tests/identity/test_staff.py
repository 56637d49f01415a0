"""Staff accounts: created by an admin from the CLI, 15-character passwords, a second
factor before anything else, roles and the staff endpoints."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from anxin.api.deps import Container
from anxin.cli.main import app
from anxin.identity.permissions import PERMISSIONS, ROLE_PERMISSIONS, has_permission, permissions_of
from anxin.identity.staff import create_staff
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.identity import STAFF_ROLES
from anxin.settings import Settings
from tests.identity.conftest import STAFF_PASSWORD, Person


def problem(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def test_cli_creates_staff_and_prints_a_set_password_code(
    client: TestClient, settings: Settings, db_url: str, key_file: Any
) -> None:
    env = {
        "ANXIN_DATABASE_URL": db_url, "ANXIN_KEY_FILE": str(key_file), "ANXIN_ENV": "test",
        "ANXIN_HOME": str(settings.home), "COLUMNS": "200",
    }  # fmt: skip
    runner = CliRunner()
    created = runner.invoke(
        app, ["staff", "create", "--role", "risk_officer", "--email", "Risk@Anxin.example",
              "--name", "赵敏"], env=env,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    code = created.output.strip().splitlines()[-1]
    assert re.fullmatch(r"\d{6}", code)
    assert "risk_officer" in created.output and "赵敏" not in created.output
    duplicate = runner.invoke(
        app, ["staff", "create", "--role", "agent", "--email", "risk@anxin.example"], env=env
    )
    # `anxin` itself prints domain errors as one line; CliRunner hands over the error.
    assert duplicate.exit_code == 1 and "already uses" in str(duplicate.exception)
    bad_role = runner.invoke(
        app, ["staff", "create", "--role", "boss", "--email", "b@x.cn"], env=env
    )
    assert bad_role.exit_code == 1 and "unknown role" in str(bad_role.exception)
    listed = runner.invoke(app, ["staff", "list"], env=env)
    assert listed.exit_code == 0 and "risk_officer" in listed.output
    assert "risk@anxin.example" not in listed.output.lower()
    # The code sets the first password, which must be at least 15 characters.
    body = {"identifier": "risk@anxin.example", "code": code, "new_password": "tapir-quiver-1"}
    short = client.post("/v1/auth/password-reset/confirm", json=body)
    assert problem(short, 422, "weak_password")["min_length"] == 15
    body["new_password"] = STAFF_PASSWORD
    assert client.post("/v1/auth/password-reset/confirm", json=body).status_code == 204
    signed = client.post(
        "/v1/auth/signin", json={"identifier": "risk@anxin.example", "password": STAFF_PASSWORD}
    )
    assert signed.status_code == 200 and signed.json()["kind"] == "staff"


def test_staff_must_enrol_and_sign_in_with_a_second_factor(
    client: TestClient, make_staff: Callable[..., Person], enrol_totp: Callable[[Person], str],
    totp_code: Callable[[str], str],
) -> None:  # fmt: skip
    agent = make_staff("agent")
    for path in ("/v1/staff/me", "/v1/staff/holders", "/v1/me", "/v1/me/sessions"):
        problem(client.get(path, headers=agent.headers), 403, "second_factor_enrolment_required")
    assert client.get("/v1/me/factors", headers=agent.headers).status_code == 200
    secret = enrol_totp(agent)
    # The password-only session stays limited: sign in again with the factor.
    refused = client.get("/v1/staff/me", headers=agent.headers)
    problem(refused, 403, "second_factor_signin_required")
    first = client.post(
        "/v1/auth/signin", json={"identifier": agent.identifier, "password": agent.password}
    ).json()
    assert first["status"] == "second_factor_required"
    done = client.post("/v1/auth/signin/second-factor", json={
        "pending_token": first["pending_token"], "method": "totp",
        "proof": {"code": totp_code(secret)},
    })  # fmt: skip
    headers = {"Authorization": f"Bearer {done.json()['token']}"}
    me = client.get("/v1/staff/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["role"] == "agent" and me.json()["display_name"] == "王*明"
    assert me.json()["email"].endswith("@anxin.example") and "***" in me.json()["email"]
    assert me.json()["permissions"] == sorted(permissions_of("agent"))
    assert {"holders:read", "staff:self"} <= set(me.json()["permissions"])
    assert me.json()["pseudonym"].startswith("staff-")


def test_holders_and_staff_are_kept_apart(
    client: TestClient, ready_staff: Callable[[str], Person], holder: Callable[..., Person]
) -> None:
    admin = ready_staff("admin")
    person = holder()
    problem(client.get("/v1/staff/me", headers=person.headers), 403, "wrong_account_kind")
    problem(client.get("/v1/me/kyc", headers=admin.headers), 403, "wrong_account_kind")


def test_holder_list_and_detail_are_masked(
    client: TestClient, ready_staff: Callable[[str], Person], holder: Callable[..., Person]
) -> None:
    agent = ready_staff("agent")
    people = [holder(phone="13812345678", name="张三明"), holder(email="li.si@example.com")]
    listed = client.get("/v1/staff/holders?limit=1", headers=agent.headers)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert len(page["data"]) == 1 and page["next_cursor"]
    rest = client.get(
        f"/v1/staff/holders?cursor={page['next_cursor']}", headers=agent.headers
    ).json()
    everyone = page["data"] + rest["data"]
    assert [h["id"] for h in everyone] == [p.user_id for p in people]
    assert everyone[0]["display_name"] == "张*明"
    assert everyone[0]["contacts"] == [{"kind": "phone", "masked": "138****5678", "verified": True}]
    assert "13812345678" not in listed.text + str(rest) and "li.si" not in str(rest)
    detail = client.get(f"/v1/staff/holders/{people[1].user_id}", headers=agent.headers)
    assert detail.status_code == 200
    assert detail.json()["contacts"][0]["masked"] == "l***@example.com"
    assert detail.json()["live_sessions"] == 1 and detail.json()["second_factors"] == []
    problem(
        client.get(f"/v1/staff/holders/{agent.user_id}", headers=agent.headers),
        404,
        "holder_not_found",
    )
    problem(
        client.get("/v1/staff/holders?cursor=nonsense", headers=agent.headers),
        422,
        "invalid_cursor",
    )


def test_suspend_and_reinstate(
    client: TestClient, ready_staff: Callable[[str], Person], holder: Callable[..., Person]
) -> None:
    risk, agent = ready_staff("risk_officer"), ready_staff("agent")
    person = holder()
    url = f"/v1/staff/holders/{person.user_id}"
    problem(client.post(f"{url}/suspend", headers=agent.headers), 403, "missing_permission")
    assert client.post(f"{url}/suspend", headers=risk.headers).status_code == 204
    assert client.get("/v1/me", headers=person.headers).status_code == 401  # sessions ended
    signin = {"identifier": person.identifier, "password": person.password}
    problem(client.post("/v1/auth/signin", json=signin), 403, "account_suspended")
    problem(client.post(f"{url}/suspend", headers=risk.headers), 409, "invalid_status")
    assert client.post(f"{url}/reinstate", headers=risk.headers).status_code == 204
    back = client.post("/v1/auth/signin", json={**signin, "device_token": person.device_token})
    assert back.status_code == 200
    inbox = client.get(
        "/v1/me/notifications", headers={"Authorization": f"Bearer {back.json()['token']}"}
    )
    assert [n["kind"] for n in inbox.json()["data"]][:2] == [
        "account.reinstated",
        "account.suspended",
    ]


def test_permission_map_is_complete() -> None:
    assert set(ROLE_PERMISSIONS) == set(STAFF_ROLES)
    for role in STAFF_ROLES:
        assert has_permission(role, "staff:self") and has_permission(role, "holders:read")
    assert {r for r in STAFF_ROLES if has_permission(r, "holders:suspend")} == {
        "risk_officer", "compliance_officer", "admin",
    }  # fmt: skip
    assert {r for r in STAFF_ROLES if has_permission(r, "staff:read")} == {"admin"}
    assert not has_permission(None, "staff:self") and not has_permission("holder", "staff:self")
    assert all(PERMISSIONS[p] for p in PERMISSIONS)


def test_create_staff_validates(container: Container, settings: Settings) -> None:
    from anxin.kit.errors import AnxinError

    with UnitOfWork(container.database) as uow, pytest.raises(AnxinError) as refused:
        create_staff(uow.session, container.keys.vault(), settings, role="agent",
                     email="not an email", name=None, now=container.clock.now())  # fmt: skip
    assert refused.value.code == "invalid_contact"
