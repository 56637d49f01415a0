"""The factor endpoints end to end: enrolment, step-up, removal, and who may touch what."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.app import create_app
from anxin.identity import sessions, totp
from anxin.kit.clock import ManualClock
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Challenge, User
from anxin.privacy.keyring import load_keyring
from anxin.privacy.keys import KeyService
from anxin.settings import Settings
from tests.identity.softauthn import SoftAuthenticator
from tests.identity.test_totp import make_user

START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
PROBLEM = "application/problem+json"


def problem(response: httpx2.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


class Person:
    """A signed-in user driving the API, with an authenticator app and a passkey device."""

    def __init__(self, world: World, kind: str) -> None:
        self.world, self.client = world, world.client
        with UnitOfWork(world.database) as uow:
            user = make_user(uow.session, world.vault, world.clock.now(), kind=kind)
            started = sessions.start(
                uow.session, world.settings, user, methods=["password"], device=None,
                user_agent=None, now=world.clock.now(),
            )  # fmt: skip
            uow.commit()
        self.id, self.token, self.secret = user.id, started.token, ""
        self.device = SoftAuthenticator(
            origin=world.settings.webauthn_origin, rp_id=world.settings.webauthn_rp_id
        )

    def call(self, method: str, path: str, body: Any = None, step_up: str | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"}
        if step_up:
            headers["X-Step-Up-Token"] = step_up
        return self.client.request(method, path, json=body, headers=headers)

    def code(self) -> str:
        self.world.clock.advance(timedelta(seconds=30))  # each code is good for one step
        return totp.code_at(self.secret, totp.time_step(self.world.clock.now()))

    def enrol_totp(self) -> None:
        started = self.call("POST", "/v1/me/factors/totp")
        assert started.status_code == 201, started.text
        self.secret = started.json()["secret"]
        confirmed = self.call("POST", "/v1/me/factors/totp/confirm", {"code": self.code()})
        assert confirmed.status_code == 200, confirmed.text

    def answer(self, refused: httpx2.Response, method: str = "totp") -> str:
        """Answer a ``step_up_required`` refusal; returns the step-up token."""
        challenge = problem(refused, 401, "step_up_required")
        proof: dict[str, Any]
        if method == "totp":
            proof = {"code": self.code()}
        else:
            options = self.call("POST", "/v1/me/factors/passkeys/assertion-options").json()
            proof = {"challenge_id": options["challenge_id"],
                     "credential": self.device.get(options["options"])}  # fmt: skip
        answered = self.call(
            "POST", f"/v1/auth/step-up/{challenge['challenge_id']}",
            {"method": method, "proof": proof},
        )  # fmt: skip
        assert answered.status_code == 200, answered.text
        token: str = answered.json()["step_up_token"]
        return token

    def stepped(self, method: str, path: str, body: Any = None, via: str = "totp") -> Any:
        """Make a call that needs step-up: refused, answered, repeated with the token."""
        token = self.answer(self.call(method, path, body), via)
        return self.call(method, path, body, step_up=token)

    def add_passkey(self) -> dict[str, Any]:
        options = self.call("POST", "/v1/me/factors/passkeys/options")
        if options.status_code == 401:
            options = self.call(
                "POST", "/v1/me/factors/passkeys/options", step_up=self.answer(options)
            )
        assert options.status_code == 200, options.text
        body = options.json()
        created = self.call("POST", "/v1/me/factors/passkeys", {
            "challenge_id": body["challenge_id"], "credential": self.device.create(body["options"]),
            "name": "phone",
        })  # fmt: skip
        assert created.status_code == 201, created.text
        passkey: dict[str, Any] = created.json()
        return passkey

    def user(self) -> User:
        with UnitOfWork(self.world.database) as uow:
            found = uow.session.get(User, self.id)
            assert found is not None
            uow.session.expunge(found)  # readable after the unit of work ends
            return found


class World:
    def __init__(self, client: TestClient, settings: Settings, database: Database) -> None:
        self.client, self.settings, self.database = client, settings, database
        self.clock: ManualClock = client.app.state.container.clock  # type: ignore[attr-defined]
        keyring = load_keyring(settings.resolved_key_file, None, None)
        assert keyring is not None
        self.vault = KeyService(keyring).vault()

    def holder(self) -> Person:
        return Person(self, "holder")

    def staff(self) -> Person:
        return Person(self, "staff")


@pytest.fixture
def world(settings: Settings, database: Database) -> Iterator[World]:
    app = create_app(settings, clock=ManualClock(START))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield World(client, settings, database)


# -- TOTP -----------------------------------------------------------------------------------


def test_totp_enrolment(world: World) -> None:
    alice = world.holder()
    assert alice.call("GET", "/v1/me/factors").json() == {
        "methods": [], "totp": None, "passkeys": [], "recovery_codes_left": 0
    }  # fmt: skip
    started = alice.call("POST", "/v1/me/factors/totp").json()
    assert started["otpauth_uri"].startswith("otpauth://totp/Anxin:")
    alice.secret = started["secret"]
    problem(
        alice.call("POST", "/v1/me/factors/totp/confirm", {"code": "12345"}), 422, "invalid_code"
    )
    confirmed = alice.call("POST", "/v1/me/factors/totp/confirm", {"code": alice.code()}).json()
    assert confirmed["methods"] == ["totp"] and confirmed["totp"]["id"] == started["factor_id"]
    problem(alice.call("POST", "/v1/me/factors/totp"), 409, "totp_already_enrolled")


def test_confirming_without_starting(world: World) -> None:
    problem(
        world.holder().call("POST", "/v1/me/factors/totp/confirm", {"code": "123456"}),
        404, "totp_enrolment_not_found",
    )  # fmt: skip


def test_recovery_codes_need_a_factor_and_step_up(world: World) -> None:
    alice = world.holder()
    problem(alice.call("POST", "/v1/me/factors/recovery-codes"), 403, "second_factor_required")
    alice.enrol_totp()
    created = alice.stepped("POST", "/v1/me/factors/recovery-codes")
    assert created.status_code == 201 and len(created.json()["codes"]) == 10
    factors = alice.call("GET", "/v1/me/factors").json()
    assert factors["methods"] == ["totp", "recovery_code"] and factors["recovery_codes_left"] == 10


def test_step_up_problem_document(world: World) -> None:
    alice = world.holder()
    alice.enrol_totp()
    body = problem(alice.call("POST", "/v1/me/factors/recovery-codes"), 401, "step_up_required")
    assert body["methods"] == ["totp"] and body["expires_at"]
    with UnitOfWork(world.database) as uow:  # stored although the request was refused
        stored = uow.session.get(Challenge, uuid.UUID(body["challenge_id"]))
        assert stored is not None and stored.action == {"type": "generate_recovery_codes"}


def test_failed_step_up_proofs_are_counted_and_block(world: World) -> None:
    alice = world.holder()
    alice.enrol_totp()
    challenge = problem(
        alice.call("POST", "/v1/me/factors/recovery-codes"), 401, "step_up_required"
    )
    url = f"/v1/auth/step-up/{challenge['challenge_id']}"
    wrong = {"method": "totp", "proof": {"code": "000000"}}
    for left in (4, 3, 2, 1):
        body = problem(alice.call("POST", url, wrong), 401, "invalid_second_factor")
        assert body["attempts_left"] == left
    assert body["warning"] == "last_attempt"
    problem(alice.call("POST", url, wrong), 429, "second_factor_blocked")
    assert alice.user().failed_factors == 5
    right = {"method": "totp", "proof": {"code": alice.code()}}
    problem(alice.call("POST", url, right), 429, "second_factor_blocked")


@pytest.mark.parametrize(
    "body",
    [{}, {"method": "sms", "proof": {}}, {"method": "totp"}, {"method": "totp", "proof": []}],
)
def test_malformed_step_up_answers(world: World, body: dict[str, Any]) -> None:
    alice = world.holder()
    alice.enrol_totp()
    challenge = problem(
        alice.call("POST", "/v1/me/factors/recovery-codes"), 401, "step_up_required"
    )
    answered = alice.call("POST", f"/v1/auth/step-up/{challenge['challenge_id']}", body)
    problem(answered, 422, "validation_failed")


def test_removing_totp_needs_step_up_and_drops_recovery_codes(world: World) -> None:
    alice = world.holder()
    alice.enrol_totp()
    alice.stepped("POST", "/v1/me/factors/recovery-codes")
    assert alice.stepped("DELETE", "/v1/me/factors/totp").status_code == 204
    assert alice.call("GET", "/v1/me/factors").json()["recovery_codes_left"] == 0
    problem(alice.call("DELETE", "/v1/me/factors/totp"), 404, "factor_not_found")


# -- passkeys -------------------------------------------------------------------------------


def test_passkey_enrolment_and_step_up_with_a_passkey(world: World) -> None:
    alice = world.holder()
    passkey = alice.add_passkey()
    listed = alice.call("GET", "/v1/me/factors/passkeys").json()["items"]
    assert [p["id"] for p in listed] == [passkey["id"]]
    assert alice.call("GET", "/v1/me/factors").json()["methods"] == ["passkey"]
    # A second passkey needs step-up, answered with the first one.
    second = SoftAuthenticator(origin=alice.device.origin, rp_id=alice.device.rp_id)
    refused = alice.call("POST", "/v1/me/factors/passkeys/options")
    options = alice.call(
        "POST", "/v1/me/factors/passkeys/options", step_up=alice.answer(refused, "passkey")
    ).json()
    created = alice.call("POST", "/v1/me/factors/passkeys", {
        "challenge_id": options["challenge_id"], "credential": second.create(options["options"]),
    })  # fmt: skip
    assert created.status_code == 201 and created.json()["name"] == "Passkey"
    removed = alice.stepped("DELETE", f"/v1/me/factors/passkeys/{passkey['id']}", via="passkey")
    assert removed.status_code == 204
    assert len(alice.call("GET", "/v1/me/factors/passkeys").json()["items"]) == 1


def test_a_rejected_registration_burns_its_challenge(world: World) -> None:
    alice = world.holder()
    options = alice.call("POST", "/v1/me/factors/passkeys/options").json()
    evil = alice.device.create(options["options"], origin="https://evil.example")
    body = {"challenge_id": options["challenge_id"], "name": "x", "credential": evil}
    problem(alice.call("POST", "/v1/me/factors/passkeys", body), 422, "passkey_rejected")
    body["credential"] = alice.device.create(options["options"])
    problem(alice.call("POST", "/v1/me/factors/passkeys", body), 422, "passkey_rejected")
    bad = {"challenge_id": "not-a-uuid", "credential": {}}
    problem(alice.call("POST", "/v1/me/factors/passkeys", bad), 422, "validation_failed")


# -- staff and the last factor --------------------------------------------------------------


def test_staff_cannot_remove_their_last_factor(world: World) -> None:
    agent = world.staff()
    agent.enrol_totp()
    problem(agent.stepped("DELETE", "/v1/me/factors/totp"), 409, "last_factor")
    passkey = agent.add_passkey()
    assert agent.stepped("DELETE", "/v1/me/factors/totp").status_code == 204
    problem(
        agent.stepped("DELETE", f"/v1/me/factors/passkeys/{passkey['id']}", via="passkey"),
        409, "last_factor",
    )  # fmt: skip


# -- isolation ------------------------------------------------------------------------------


def test_nobody_touches_someone_elses_factors_or_challenges(world: World) -> None:
    alice, bob = world.holder(), world.holder()
    alice.enrol_totp()
    passkey = alice.add_passkey()
    bob.enrol_totp()
    # Someone else's passkey is missing, before any step-up is asked for.
    problem(bob.call("DELETE", f"/v1/me/factors/passkeys/{passkey['id']}"), 404, "factor_not_found")
    challenge = problem(
        alice.call("POST", "/v1/me/factors/recovery-codes"), 401, "step_up_required"
    )
    answered = bob.call(
        "POST", f"/v1/auth/step-up/{challenge['challenge_id']}",
        {"method": "totp", "proof": {"code": bob.code()}},
    )  # fmt: skip
    problem(answered, 404, "challenge_not_found")
    assert len(alice.call("GET", "/v1/me/factors/passkeys").json()["items"]) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/me/factors"), ("POST", "/v1/me/factors/totp"),
        ("POST", "/v1/me/factors/totp/confirm"), ("DELETE", "/v1/me/factors/totp"),
        ("POST", "/v1/me/factors/recovery-codes"), ("POST", "/v1/me/factors/passkeys/options"),
        ("POST", "/v1/me/factors/passkeys"), ("GET", "/v1/me/factors/passkeys"),
        ("POST", "/v1/me/factors/passkeys/assertion-options"),
        ("DELETE", "/v1/me/factors/passkeys/0190a000-0000-7000-8000-000000000000"),
        ("POST", "/v1/auth/step-up/0190a000-0000-7000-8000-000000000000"),
        ("GET", "/v1/me/kyc"), ("POST", "/v1/me/kyc"), ("GET", "/v1/me/limits"),
        ("PUT", "/v1/me/limits"),
    ],
)  # fmt: skip
def test_everything_needs_a_session(world: World, method: str, path: str) -> None:
    response = world.client.request(method, path, json={})
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == PROBLEM


def test_unknown_challenge(world: World) -> None:
    alice = world.holder()
    alice.enrol_totp()
    answered = alice.call(
        "POST", "/v1/auth/step-up/0190a000-0000-7000-8000-000000000000",
        {"method": "totp", "proof": {"code": alice.code()}},
    )  # fmt: skip
    problem(answered, 404, "challenge_not_found")
    with UnitOfWork(world.database) as uow:
        assert uow.session.scalars(select(Challenge)).all() == []
