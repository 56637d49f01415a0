"""Security-relevant identity events go to the audit log: sign-ins (and failures), factor
changes, password changes, staff accounts (their roles), suspensions, key rotations."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.identity import recovery
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.insider import AuditEntry
from tests.cli.conftest import Cli
from tests.identity.conftest import PASSWORD, Person


def log_of(database: Database) -> list[tuple[str, str | None, str | None, dict[str, Any]]]:
    with UnitOfWork(database, write=False) as uow:
        rows = uow.session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        return [(r.event, str(r.subject_id) if r.subject_id else None, r.actor_role,
                 dict(r.data)) for r in rows]  # fmt: skip


def events(database: Database, subject: str) -> list[str]:
    return [event for event, who, _, _ in log_of(database) if who == subject]


def test_holder_sign_ins_and_failures(
    client: TestClient, holder: Callable[..., Person], container: Container
) -> None:
    person = holder()

    def signin(password: str) -> int:
        body = {"identifier": person.identifier, "password": password}
        return client.post("/v1/auth/signin", json=body).status_code

    assert signin("wrong " + PASSWORD) == 401
    assert signin(PASSWORD) == 200
    assert events(container.database, person.user_id) == [
        "auth.signin", "auth.signin_failed", "auth.signin",
    ]  # fmt: skip
    signin = [e for e in log_of(container.database) if e[0] == "auth.signin"][-1]
    assert signin[2] == "holder" and signin[3]["methods"] == ["password"]
    # Nothing personal: no phone number anywhere in the log.
    assert person.identifier.lstrip("+") not in json.dumps(log_of(container.database))


def test_staff_creation_factors_and_second_factor_failures(
    client: TestClient, make_staff: Callable[..., Person], enrol_totp: Callable[[Person], str],
    totp_code: Callable[[str], str], container: Container,
) -> None:  # fmt: skip
    staff = make_staff("risk_officer")
    secret = enrol_totp(staff)
    body = {"identifier": staff.identifier, "password": staff.password}
    first = client.post("/v1/auth/signin", json=body).json()
    wrong = client.post("/v1/auth/signin/second-factor", json={
        "pending_token": first["pending_token"], "method": "totp", "proof": {"code": "000000"},
    })  # fmt: skip
    assert wrong.status_code == 401
    done = client.post("/v1/auth/signin/second-factor", json={
        "pending_token": first["pending_token"], "method": "totp",
        "proof": {"code": totp_code(secret)},
    })  # fmt: skip
    assert done.status_code == 200, done.text
    with UnitOfWork(container.database) as uow:
        recovery.generate(uow.session, container.keys.vault(), uuid.UUID(staff.user_id),
                          container.clock.now())  # fmt: skip
        uow.commit()
    assert events(container.database, staff.user_id) == [
        "staff.created", "auth.password_changed", "auth.signin", "auth.factor_added",
        "auth.second_factor_failed", "auth.signin", "auth.recovery_codes_generated",
    ]  # fmt: skip
    created = next(e for e in log_of(container.database) if e[0] == "staff.created")
    assert created[3]["role"] == "risk_officer"
    added = next(e for e in log_of(container.database) if e[0] == "auth.factor_added")
    assert added[2] == "risk_officer" and added[3] == {"method": "totp"}


def test_suspending_a_holder_is_in_their_access_log_and_the_audit_log(
    client: TestClient, holder: Callable[..., Person], ready_staff: Callable[[str], Person],
    container: Container,
) -> None:  # fmt: skip
    person = holder()
    officer = ready_staff("risk_officer")
    url = f"/v1/staff/holders/{person.user_id}"
    assert client.post(f"{url}/suspend", headers=officer.headers).status_code == 204
    assert client.post(f"{url}/reinstate", headers=officer.headers).status_code == 204
    assert events(container.database, person.user_id)[-2:] == [
        "account.suspended", "account.reinstated",
    ]  # fmt: skip
    back = client.post("/v1/auth/signin", json={"identifier": person.identifier,
                                                "password": PASSWORD}).json()  # fmt: skip
    headers = {"Authorization": f"Bearer {back['token']}"}
    log = client.get("/v1/me/access-log", headers=headers).json()["data"]
    assert [(e["action"], e["role"]) for e in log] == [
        ("reinstate", "risk_officer"), ("suspend", "risk_officer"),
    ]  # fmt: skip


def test_key_rotation_is_audited(
    cli: Cli, database: Database, key_file: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "keys.json"
    shutil.copyfile(key_file, mine)
    done = cli("keys", "rotate", key_file=str(mine))
    assert done.code == 0, done.err
    [(event, _, _, data)] = log_of(database)
    assert event == "keys.rotated" and data == {"kek_version": 2, "rewrapped": 0}
