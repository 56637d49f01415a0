"""Sign-in: one answer for every wrong guess, account states, and the second-factor step
with TOTP, passkeys and recovery codes, including the block after five failures."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx2
from fastapi.testclient import TestClient
from sqlalchemy import update

from anxin.api.deps import Container
from anxin.identity.delivery import FakeSmsProvider
from anxin.kit.clock import ManualClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from tests.identity.conftest import PASSWORD, Person, advance
from tests.identity.softauthn import SoftAuthenticator


def attempt(client: TestClient, identifier: str, password: str) -> httpx2.Response:
    return client.post("/v1/auth/signin", json={"identifier": identifier, "password": password})


def problem(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def test_unknown_account_and_wrong_password_look_the_same(
    client: TestClient, holder: Callable[..., Person]
) -> None:
    person = holder(email="li.na@example.com")
    wrong_password = attempt(client, "li.na@example.com", "not the password")
    unknown = attempt(client, "nobody@example.com", "not the password")
    assert wrong_password.status_code == unknown.status_code == 401
    assert wrong_password.json() == unknown.json()
    assert wrong_password.json()["code"] == "invalid_credentials"
    assert "exist" not in wrong_password.text.lower()
    ok = attempt(client, "LI.NA@EXAMPLE.COM", PASSWORD)  # emails match case-insensitively
    assert ok.status_code == 200 and ok.json()["kind"] == "holder"
    assert person.identifier == "li.na@example.com"


def test_phone_formats_sign_in_to_the_same_account(
    client: TestClient, holder: Callable[..., Person]
) -> None:
    holder(phone="13812345678")
    for spelled in ("+86 138 1234 5678", "138-1234-5678", "+8613812345678"):
        assert attempt(client, spelled, PASSWORD).status_code == 200
    problem(attempt(client, "12", PASSWORD), 422, "invalid_contact")


def test_pending_and_suspended_accounts(
    client: TestClient, container: Container, holder: Callable[..., Person]
) -> None:
    assert (
        client.post(
            "/v1/auth/signup", json={"phone": "13700001111", "password": PASSWORD}
        ).status_code
        == 202
    )
    problem(attempt(client, "13700001111", PASSWORD), 403, "contact_not_verified")
    problem(attempt(client, "13700001111", "wrong password"), 401, "invalid_credentials")
    person = holder()
    with UnitOfWork(container.database) as uow:
        uow.session.execute(
            update(User).where(User.id == uuid.UUID(person.user_id)).values(status="suspended")
        )
        uow.commit()
    problem(attempt(client, person.identifier, PASSWORD), 403, "account_suspended")
    problem(attempt(client, person.identifier, "wrong password"), 401, "invalid_credentials")
    # A suspended account's sessions stop working too.
    assert client.get("/v1/me", headers=person.headers).status_code == 401


def test_totp_second_factor(
    client: TestClient, holder: Callable[..., Person], enrol_totp: Callable[[Person], str],
    totp_code: Callable[[str], str],
) -> None:  # fmt: skip
    person = holder()
    secret = enrol_totp(person)
    first = attempt(client, person.identifier, PASSWORD)
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "second_factor_required" and body["token"] is None
    assert body["methods"] == ["totp"] and body["passkey"] is None
    assert "__Host-anxin_session" not in first.headers.get("set-cookie", "")
    done = client.post("/v1/auth/signin/second-factor", json={
        "pending_token": body["pending_token"], "method": "totp",
        "proof": {"code": totp_code(secret)},
    })  # fmt: skip
    assert done.status_code == 200, done.text
    signed = done.json()
    assert signed["status"] == "signed_in" and signed["token"]
    sessions = client.get("/v1/me/sessions", headers={"Authorization": f"Bearer {signed['token']}"})
    assert sessions.json()["data"][0]["auth_methods"] == ["password", "totp"]
    # The pending token was spent.
    again = client.post("/v1/auth/signin/second-factor", json={
        "pending_token": body["pending_token"], "method": "totp",
        "proof": {"code": totp_code(secret)},
    })  # fmt: skip
    problem(again, 401, "signin_expired")


def test_pending_sign_in_expires(
    client: TestClient, clock: ManualClock, holder: Callable[..., Person],
    enrol_totp: Callable[[Person], str], totp_code: Callable[[str], str],
) -> None:  # fmt: skip
    person = holder()
    secret = enrol_totp(person)
    pending = attempt(client, person.identifier, PASSWORD).json()["pending_token"]
    advance(clock, 300)
    late = client.post("/v1/auth/signin/second-factor", json={
        "pending_token": pending, "method": "totp", "proof": {"code": totp_code(secret)},
    })  # fmt: skip
    problem(late, 401, "signin_expired")
    problem(client.post("/v1/auth/signin/second-factor", json={
        "pending_token": "garbage", "method": "totp", "proof": {"code": "123456"},
    }), 401, "signin_expired")  # fmt: skip


def test_five_wrong_factors_block_with_a_warning_first(
    client: TestClient, clock: ManualClock, holder: Callable[..., Person],
    enrol_totp: Callable[[Person], str], totp_code: Callable[[str], str],
    sms: FakeSmsProvider, deliver: Callable[[], object],
) -> None:  # fmt: skip
    person = holder(phone="13812340000")
    secret = enrol_totp(person)
    pending = attempt(client, person.identifier, PASSWORD).json()["pending_token"]

    def factor(code: str) -> httpx2.Response:
        return client.post("/v1/auth/signin/second-factor", json={
            "pending_token": pending, "method": "totp", "proof": {"code": code},
        })  # fmt: skip

    answers = [factor("000000") for _ in range(5)]
    bodies = [r.json() for r in answers]
    assert [r.status_code for r in answers] == [401, 401, 401, 401, 429]
    assert [b.get("attempts_left") for b in bodies[:4]] == [4, 3, 2, 1]
    assert "warning" not in bodies[2] and bodies[3]["warning"] == "last_attempt"
    assert bodies[4]["code"] == "second_factor_blocked"
    # Even the right code is refused while blocked; the holder was told by SMS.
    problem(factor(totp_code(secret)), 429, "second_factor_blocked")
    deliver()
    assert sms.sent[-1].recipient == "+8613812340000" and "锁定" in sms.sent[-1].body
    advance(clock, 15 * 60)
    pending = attempt(client, person.identifier, PASSWORD).json()["pending_token"]
    assert factor(totp_code(secret)).status_code == 200


def test_the_method_must_be_enrolled(
    client: TestClient, holder: Callable[..., Person], enrol_totp: Callable[[Person], str]
) -> None:
    person = holder()
    enrol_totp(person)
    pending = attempt(client, person.identifier, PASSWORD).json()["pending_token"]
    proof = {"challenge_id": "x", "credential": {}}
    refused = client.post("/v1/auth/signin/second-factor", json={
        "pending_token": pending, "method": "passkey", "proof": proof,
    })  # fmt: skip
    problem(refused, 401, "invalid_second_factor")
    invalid = client.post("/v1/auth/signin/second-factor", json={
        "pending_token": pending, "method": "sms", "proof": {},
    })  # fmt: skip
    problem(invalid, 422, "validation_failed")


def test_passkey_second_factor(
    client: TestClient, holder: Callable[..., Person], settings: Any
) -> None:
    person = holder()
    device = SoftAuthenticator(origin=settings.webauthn_origin, rp_id=settings.webauthn_rp_id)
    options = client.post("/v1/me/factors/passkeys/options", headers=person.headers)
    assert options.status_code == 200, options.text
    created = client.post("/v1/me/factors/passkeys", headers=person.headers, json={
        "challenge_id": options.json()["challenge_id"], "name": "phone",
        "credential": device.create(options.json()["options"]),
    })  # fmt: skip
    assert created.status_code == 201, created.text
    first = attempt(client, person.identifier, PASSWORD).json()
    assert first["status"] == "second_factor_required" and "passkey" in first["methods"]
    challenge = first["passkey"]
    done = client.post("/v1/auth/signin/second-factor", json={
        "pending_token": first["pending_token"], "method": "passkey",
        "proof": {"challenge_id": challenge["challenge_id"],
                  "credential": device.get(challenge["options"])},
    })  # fmt: skip
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "signed_in"


def test_recovery_code_second_factor(
    client: TestClient, holder: Callable[..., Person], enrol_totp: Callable[[Person], str],
    totp_code: Callable[[str], str],
) -> None:  # fmt: skip
    person = holder()
    secret = enrol_totp(person)
    refused = client.post("/v1/me/factors/recovery-codes", headers=person.headers)
    challenge = problem(refused, 401, "step_up_required")
    token = client.post(
        f"/v1/auth/step-up/{challenge['challenge_id']}", headers=person.headers,
        json={"method": "totp", "proof": {"code": totp_code(secret)}},
    ).json()["step_up_token"]  # fmt: skip
    codes = client.post(
        "/v1/me/factors/recovery-codes", headers={**person.headers, "X-Step-Up-Token": token}
    ).json()["codes"]
    first = attempt(client, person.identifier, PASSWORD).json()
    assert first["methods"] == ["totp", "recovery_code"]
    body = {
        "pending_token": first["pending_token"],
        "method": "recovery_code",
        "proof": {"code": codes[0]},
    }
    assert client.post("/v1/auth/signin/second-factor", json=body).status_code == 200
    again = attempt(client, person.identifier, PASSWORD).json()
    body["pending_token"] = again["pending_token"]
    problem(client.post("/v1/auth/signin/second-factor", json=body), 401, "invalid_second_factor")
