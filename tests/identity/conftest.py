"""Fixtures for identity tests: an app on a manual clock, no background delivery, and
helpers that sign people up through the API and read the codes the fake senders got."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient

from anxin.api.app import create_app
from anxin.api.deps import Container
from anxin.identity.contacts import normalise_email, normalise_phone
from anxin.identity.delivery import FakeEmailSender, FakeSmsProvider
from anxin.identity.outbox import DeliveryReport, deliver_due
from anxin.identity.service import IdentityRuntime
from anxin.identity.staff import create_staff
from anxin.kit.clock import ManualClock, SystemClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.settings import Environment, Settings

PASSWORD = "correct horse battery staple"
STAFF_PASSWORD = "violet tandem orchard quietly 42"


@pytest.fixture
def settings(db_url: str, tmp_path: Path, key_file: Path) -> Settings:
    # Tests deliver the outbox themselves (`deliver`), so no background worker.
    return Settings(
        env=Environment.TEST, home=tmp_path / "home", database_url=db_url, key_file=key_file,
        delivery_interval_seconds=0,
    )  # fmt: skip


@pytest.fixture
def clock() -> ManualClock:
    now = SystemClock().now()
    return ManualClock(now.replace(microsecond=0))


@pytest.fixture
def client(settings: Settings, clock: ManualClock) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=clock), raise_server_exceptions=False) as test:
        yield test


@pytest.fixture
def container(client: TestClient) -> Container:
    return cast(Container, client.app.state.container)  # type: ignore[attr-defined]


@pytest.fixture
def runtime(container: Container) -> IdentityRuntime:
    assert container.identity is not None
    return container.identity


@pytest.fixture
def sms(runtime: IdentityRuntime) -> FakeSmsProvider:
    return cast(FakeSmsProvider, runtime.senders.sms)


@pytest.fixture
def mailbox(runtime: IdentityRuntime) -> FakeEmailSender:
    return cast(FakeEmailSender, runtime.senders.email)


@pytest.fixture
def deliver(container: Container, runtime: IdentityRuntime) -> Callable[[], DeliveryReport]:
    def run() -> DeliveryReport:
        return deliver_due(
            container.database, container.keys, runtime.senders, now=container.clock.now()
        )

    return run


@dataclass
class Person:
    """A signed-up holder (or staff member) and their session."""

    identifier: str
    password: str
    token: str
    user_id: str
    session_id: str
    device_token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


CODE = re.compile(r"\b(\d{6})\b")


@pytest.fixture
def last_code(
    sms: FakeSmsProvider, mailbox: FakeEmailSender, deliver: Callable[[], DeliveryReport]
) -> Callable[[str], str]:
    """The code most recently sent to a phone (E.164) or email address."""

    def read(recipient: str) -> str:
        recipient = normalise_email(recipient) if "@" in recipient else normalise_phone(recipient)
        deliver()
        sent = sms.last_to(recipient) or mailbox.last_to(recipient)
        assert sent is not None, f"nothing was sent to {recipient}"
        found = CODE.search(sent.body)
        assert found, sent.body
        return found.group(1)

    return read


@pytest.fixture
def holder(client: TestClient, last_code: Callable[[str], str]) -> Callable[..., Person]:
    """Sign up (phone by default) and verify through the API."""
    counter = iter(range(10_000))

    def make(
        *, phone: str | None = None, email: str | None = None, password: str = PASSWORD,
        name: str | None = None,
    ) -> Person:  # fmt: skip
        if phone is None and email is None:
            phone = f"+86138{next(counter):08d}"
        body: dict[str, Any] = {"password": password}
        if phone:
            body["phone"] = phone
        else:
            body["email"] = email
        if name:
            body["display_name"] = name
        response = client.post("/v1/auth/signup", json=body)
        assert response.status_code == 202, response.text
        identifier = phone or str(email)
        code = last_code(identifier)
        verified = client.post(
            "/v1/auth/verify-contact",
            json={"identifier": identifier, "password": password, "code": code},
        )
        assert verified.status_code == 200, verified.text
        out = verified.json()
        me = client.get("/v1/me", headers={"Authorization": f"Bearer {out['token']}"}).json()
        return Person(identifier, password, out["token"], me["id"], out["session_id"],
                      out["device_token"])  # fmt: skip

    return make


@pytest.fixture
def make_staff(
    client: TestClient, container: Container, settings: Settings
) -> Callable[..., Person]:
    """A staff member with a password set, signed in with password only (no factor yet)."""
    counter = iter(range(10_000))

    def make(role: str, *, password: str = STAFF_PASSWORD) -> Person:
        email = f"staff{next(counter)}@anxin.example"
        with UnitOfWork(container.database) as uow:
            created = create_staff(
                uow.session, container.keys.vault(), settings, role=role, email=email,
                name="王小明", now=container.clock.now(),
            )  # fmt: skip
            uow.commit()
        done = client.post(
            "/v1/auth/password-reset/confirm",
            json={"identifier": email, "code": created.setup_code, "new_password": password},
        )
        assert done.status_code == 204, done.text
        signed = client.post("/v1/auth/signin", json={"identifier": email, "password": password})
        assert signed.status_code == 200, signed.text
        out = signed.json()
        return Person(email, password, out["token"], str(created.user.id), out["session_id"],
                      out["device_token"])  # fmt: skip

    return make


def advance(clock: ManualClock, seconds: float) -> None:
    clock.advance(timedelta(seconds=seconds))


@pytest.fixture
def totp_code(clock: ManualClock) -> Callable[[str], str]:
    """The authenticator app's next code (time moves one 30 s step, so no code repeats)."""
    from anxin.identity import totp

    def code(secret: str) -> str:
        clock.advance(timedelta(seconds=30))
        return totp.code_at(secret, totp.time_step(clock.now()))

    return code


@pytest.fixture
def enrol_totp(client: TestClient, totp_code: Callable[[str], str]) -> Callable[[Person], str]:
    """Enrol an authenticator app through the factor API; returns its secret."""

    def enrol(person: Person) -> str:
        started = client.post("/v1/me/factors/totp", headers=person.headers)
        assert started.status_code == 201, started.text
        secret: str = started.json()["secret"]
        confirmed = client.post(
            "/v1/me/factors/totp/confirm", json={"code": totp_code(secret)}, headers=person.headers
        )
        assert confirmed.status_code == 200, confirmed.text
        person.extra["totp"] = secret
        return secret

    return enrol


@pytest.fixture
def ready_staff(
    client: TestClient, make_staff: Callable[..., Person], enrol_totp: Callable[[Person], str],
    totp_code: Callable[[str], str],
) -> Callable[[str], Person]:  # fmt: skip
    """A staff member with an authenticator app, signed in with both factors."""

    def make(role: str) -> Person:
        person = make_staff(role)
        secret = enrol_totp(person)
        first = client.post(
            "/v1/auth/signin", json={"identifier": person.identifier, "password": person.password}
        ).json()
        assert first["status"] == "second_factor_required", first
        done = client.post("/v1/auth/signin/second-factor", json={
            "pending_token": first["pending_token"], "method": "totp",
            "proof": {"code": totp_code(secret)}, "device_token": person.device_token,
        })  # fmt: skip
        assert done.status_code == 200, done.text
        person.token, person.session_id = done.json()["token"], done.json()["session_id"]
        return person

    return make
