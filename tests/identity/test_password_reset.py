"""Password reset (code to a verified contact, plus the second factor when enrolled) and
password change (current password, step-up when a factor is enrolled)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
from fastapi.testclient import TestClient

from anxin.identity.delivery import FakeEmailSender, FakeSmsProvider
from anxin.kit.clock import ManualClock
from tests.identity.conftest import PASSWORD, Person, advance

NEW = "a brand new passphrase for anxin wallets"
NEWER = "yet another quite long passphrase 2"


def problem(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def confirm(
    client: TestClient, identifier: str, code: str, password: str = NEW, **extra: Any
) -> httpx2.Response:
    body = {"identifier": identifier, "code": code, "new_password": password, **extra}
    return client.post("/v1/auth/password-reset/confirm", json=body)


def signin(client: TestClient, identifier: str, password: str) -> httpx2.Response:
    return client.post("/v1/auth/signin", json={"identifier": identifier, "password": password})


def test_reset_by_code(
    client: TestClient, holder: Callable[..., Person], last_code: Callable[[str], str],
    sms: FakeSmsProvider, deliver: Callable[[], object],
) -> None:  # fmt: skip
    person = holder(phone="13812345678")
    known = client.post("/v1/auth/password-reset", json={"identifier": "13812345678"})
    unknown = client.post("/v1/auth/password-reset", json={"identifier": "13900000000"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json() == {"status": "sent_if_registered"}
    deliver()
    assert sms.last_to("+8613900000000") is None
    code = last_code("13812345678")
    assert "重置密码" in sms.sent[-1].body
    problem(confirm(client, "13900000000", code), 400, "invalid_code")
    problem(
        confirm(client, "13812345678", "000000" if code != "000000" else "111111"),
        400,
        "invalid_code",
    )
    problem(confirm(client, "13812345678", code, "password1"), 422, "weak_password")  # code kept
    assert confirm(client, "13812345678", code).status_code == 204
    problem(confirm(client, "13812345678", code, NEWER), 400, "invalid_code")  # single use
    # Every session ended; the new password works, the old one does not.
    assert client.get("/v1/me", headers=person.headers).status_code == 401
    problem(signin(client, "13812345678", PASSWORD), 401, "invalid_credentials")
    assert signin(client, "13812345678", NEW).status_code == 200
    deliver()
    assert any("密码已修改" in m.body for m in sms.sent)  # told on the phone


def test_codes_die_after_five_wrong_guesses_and_expire(
    client: TestClient, clock: ManualClock, holder: Callable[..., Person],
    last_code: Callable[[str], str],
) -> None:  # fmt: skip
    person = holder(email="reset@example.com")
    client.post("/v1/auth/password-reset", json={"identifier": person.identifier})
    code = last_code(person.identifier)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        problem(confirm(client, person.identifier, wrong), 400, "invalid_code")
    problem(confirm(client, person.identifier, code), 400, "invalid_code")
    client.post("/v1/auth/password-reset", json={"identifier": person.identifier})
    fresh = last_code(person.identifier)
    advance(clock, 15 * 60)
    problem(confirm(client, person.identifier, fresh), 400, "invalid_code")


def test_reset_needs_the_second_factor_when_enrolled(
    client: TestClient, holder: Callable[..., Person], enrol_totp: Callable[[Person], str],
    totp_code: Callable[[str], str], last_code: Callable[[str], str],
) -> None:  # fmt: skip
    person = holder(email="mfa@example.com")
    secret = enrol_totp(person)
    client.post("/v1/auth/password-reset", json={"identifier": person.identifier})
    code = last_code(person.identifier)
    needed = problem(confirm(client, person.identifier, code), 401, "second_factor_proof_required")
    assert needed["methods"] == ["totp"] and needed["passkey"] is None
    wrong = confirm(client, person.identifier, code,
                    second_factor={"method": "totp", "proof": {"code": "000000"}})  # fmt: skip
    assert problem(wrong, 401, "invalid_second_factor")["attempts_left"] == 4
    proof = {"method": "totp", "proof": {"code": totp_code(secret)}}
    right = confirm(client, person.identifier, code, second_factor=proof)
    assert right.status_code == 204, right.text
    first = signin(client, person.identifier, NEW).json()
    assert first["status"] == "second_factor_required"  # the factor stays enrolled


def test_password_change_without_a_factor(
    client: TestClient, holder: Callable[..., Person], mailbox: FakeEmailSender,
    deliver: Callable[[], object],
) -> None:  # fmt: skip
    person = holder(email="change@example.com")
    other = signin(client, person.identifier, PASSWORD).json()
    wrong = client.post("/v1/me/password", headers=person.headers,
                        json={"current_password": "nope nope", "new_password": NEW})  # fmt: skip
    problem(wrong, 401, "invalid_password")
    personal = {"current_password": PASSWORD, "new_password": "change@example.com1"}
    weak = client.post("/v1/me/password", headers=person.headers, json=personal)
    problem(weak, 422, "weak_password")
    same = client.post("/v1/me/password", headers=person.headers,
                       json={"current_password": PASSWORD, "new_password": PASSWORD})  # fmt: skip
    assert problem(same, 422, "weak_password")["reason"] == "unchanged"
    done = client.post("/v1/me/password", headers=person.headers,
                       json={"current_password": PASSWORD, "new_password": NEW})  # fmt: skip
    assert done.status_code == 204, done.text
    assert client.get("/v1/me", headers=person.headers).status_code == 200  # this one stays
    other_headers = {"Authorization": f"Bearer {other['token']}"}
    assert client.get("/v1/me", headers=other_headers).status_code == 401  # others end
    deliver()
    assert mailbox.sent[-1].recipient == "change@example.com"
    assert "密码已修改" in mailbox.sent[-1].body


def test_password_change_needs_step_up_with_a_factor(
    client: TestClient, holder: Callable[..., Person], enrol_totp: Callable[[Person], str],
    totp_code: Callable[[str], str],
) -> None:  # fmt: skip
    person = holder()
    secret = enrol_totp(person)
    body = {"current_password": PASSWORD, "new_password": NEW}
    refused = client.post("/v1/me/password", headers=person.headers, json=body)
    challenge = problem(refused, 401, "step_up_required")
    assert challenge["methods"] == ["totp"]
    token = client.post(
        f"/v1/auth/step-up/{challenge['challenge_id']}", headers=person.headers,
        json={"method": "totp", "proof": {"code": totp_code(secret)}},
    ).json()["step_up_token"]  # fmt: skip
    headers = {**person.headers, "X-Step-Up-Token": token}
    assert client.post("/v1/me/password", headers=headers, json=body).status_code == 204
    # The token was for that one change only.
    again = client.post("/v1/me/password", headers=headers,
                        json={"current_password": NEW, "new_password": NEWER})  # fmt: skip
    problem(again, 401, "step_up_required")
