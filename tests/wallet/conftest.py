"""Fixtures for wallet tests: the identity fixtures (an app on a manual clock, holders and
staff signed up through the API), a simulated bank, and service-level helpers."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from anxin.api.deps import Container
from anxin.identity import totp
from anxin.kit.db import Database
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, TransferOp
from anxin.models import User
from anxin.privacy.keyring import load_keyring
from anxin.privacy.keys import KeyService
from anxin.privacy.vault import Vault
from anxin.settings import Settings
from anxin.wallet import accounts, fees
from anxin.wallet.funding import SimulatedBankRail
from tests.identity import conftest as identity
from tests.identity.conftest import PASSWORD, Person

# The identity fixtures, shared: an app on a manual clock, holders and staff through the API.
settings = identity.settings
clock = identity.clock
client = identity.client
container = identity.container
runtime = identity.runtime
sms = identity.sms
mailbox = identity.mailbox
deliver = identity.deliver
last_code = identity.last_code
holder = identity.holder
make_staff = identity.make_staff
totp_code = identity.totp_code
enrol_totp = identity.enrol_totp
ready_staff = identity.ready_staff
__all__ = ["PASSWORD", "Person"]

START = datetime(2030, 1, 1, 4, 0, tzinfo=UTC)  # noon in Beijing


def make_user(session: Session, vault: Vault, now: datetime, *, tier: str = "basic",
              role: str | None = None) -> User:  # fmt: skip
    """A holder, or with ``role`` a staff member (straight into the database)."""
    user_id = new_id()
    user = User(
        id=user_id, kind="staff" if role else "holder", role=role, status="active",
        pseudonym=f"staff-{user_id.hex[-8:]}" if role else None,
        display_name_enc=None, locale="zh-CN", tier=tier, password_hash="unused",
        password_changed_at=now, failed_passwords=0, failed_factors=0, locked_until=None,
        daily_limit=None, created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(user)
    session.flush()
    vault.create_data_key(session, user.id, now)
    return user


def fund(session: Session, user_id: uuid.UUID, amount: int, now: datetime,
         asset: str = "CNY") -> None:  # fmt: skip
    """Money straight into a holder's wallet from the bank account (no top-up order)."""
    bank = accounts.system_account(session, "bank_settlement", asset, now)
    wallet = accounts.wallet_account(session, user_id, asset, now)
    [result] = apply_batch(
        session.connection(),
        [Command((TransferOp(bank.id, wallet.id, amount, asset, kind="topup"),))],
        now,
    )
    assert result.ok, result.outcomes


@pytest.fixture
def vault(settings: Settings) -> Vault:
    keyring = load_keyring(settings.resolved_key_file, None, None)
    assert keyring is not None
    return KeyService(keyring).vault()


@pytest.fixture
def uow(database: Database) -> Iterator[UnitOfWork]:
    with UnitOfWork(database) as unit:
        yield unit


@pytest.fixture
def rail(client: TestClient, container: Container) -> SimulatedBankRail:
    """The simulated bank the app uses (installed explicitly, as a deployment would)."""
    bank = SimulatedBankRail(container.database)
    client.app.state.funding_provider = bank  # type: ignore[attr-defined]
    return bank


@dataclass
class Api:
    """Calls to the wallet API as one person, with step-up answered by their app."""

    client: TestClient
    person: Person
    code: Callable[[str], str]

    def step_up(self, response: Any) -> str:
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "step_up_required", response.text
        challenge = response.json()["challenge_id"]
        answered = self.client.post(
            f"/v1/auth/step-up/{challenge}",
            json={"method": "totp", "proof": {"code": self.code(self.person.extra["totp"])}},
            headers=self.person.headers,
        )
        assert answered.status_code == 200, answered.text
        return cast(str, answered.json()["step_up_token"])

    def call(self, method: str, path: str, *, key: str | None = None, stepped: bool = False,
             **kwargs: Any) -> Any:  # fmt: skip
        headers = {**self.person.headers, **kwargs.pop("headers", {})}
        if key is not None:
            headers["Idempotency-Key"] = key
        response = self.client.request(method, path, headers=headers, **kwargs)
        if stepped and response.status_code == 401:
            headers["X-Step-Up-Token"] = self.step_up(response)
            response = self.client.request(method, path, headers=headers, **kwargs)
        return response


@pytest.fixture
def api_for(
    client: TestClient, enrol_totp: Callable[[Person], str], totp_code: Callable[[str], str]
) -> Callable[[Person], Api]:
    def make(person: Person) -> Api:
        if "totp" not in person.extra:
            enrol_totp(person)
        return Api(client, person, totp_code)

    return make


@pytest.fixture
def set_tier(container: Container) -> Callable[[Person, str], None]:
    def run(person: Person, tier: str) -> None:
        with UnitOfWork(container.database) as unit:
            user = unit.session.get(User, uuid.UUID(person.user_id))
            assert user is not None
            user.tier = tier
            unit.commit()

    return run


@pytest.fixture
def give(container: Container) -> Callable[[Person, int], None]:
    """Put money in a holder's wallet directly (for tests about something else)."""

    def run(person: Person, amount: int, asset: str = "CNY") -> None:
        with UnitOfWork(container.database) as unit:
            fund(unit.session, uuid.UUID(person.user_id), amount, container.clock.now(), asset)
            unit.commit()

    return run


@pytest.fixture
def fee_rule(container: Container) -> Callable[..., None]:
    """A fee rule in force from just before now (later calls supersede earlier ones)."""
    counter = iter(range(1, 10_000))

    def make(operation: str, *, asset: str = "CNY", basis_points: int = 0, fixed: int = 0,
             minimum: int | None = None, maximum: int | None = None,
             rounding: str = "half_up") -> None:  # fmt: skip
        now = container.clock.now()
        with UnitOfWork(container.database) as unit:
            fees.create_rule(
                unit.session, operation=operation, asset=asset, basis_points=basis_points,
                fixed=fixed, minimum=minimum, maximum=maximum, rounding=rounding,
                valid_from=now - timedelta(hours=1) + timedelta(microseconds=next(counter)),
                created_by=None, now=now,
            )  # fmt: skip
            unit.commit()

    return make


def code_now(secret: str, moment: datetime) -> str:
    return totp.code_at(secret, totp.time_step(moment))
