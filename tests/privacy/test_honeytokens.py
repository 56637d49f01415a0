"""Honeytoken holders: decoys indistinguishable in staff lists; touching one alerts
compliance at once."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from anxin.api.deps import Container
from anxin.identity.passwords import PasswordHasher
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Contact, User
from anxin.models.insider import Honeytoken
from anxin.privacy import honeytokens
from tests.cli.conftest import Cli
from tests.identity.conftest import Person
from tests.privacy.conftest import Team, open_case, problem, reveal


def plant(container: Container) -> str:
    hasher = PasswordHasher.from_settings(container.settings)
    with UnitOfWork(container.database) as uow:
        decoy = honeytokens.plant(
            uow.session, container.keys.vault(), email_domain="mail.anxin.example",
            password_hash=hasher.unusable(), now=container.clock.now(),
        )  # fmt: skip
        uow.commit()
        return str(decoy.id)


def test_a_decoy_looks_like_any_holder_and_touching_it_alerts_compliance(
    client: TestClient, holder: Callable[..., Person], team: Team, container: Container
) -> None:
    real = holder()
    decoy = plant(container)
    listed = client.get("/v1/staff/holders", headers=team.agent.headers).json()["data"]
    shapes = {d["id"]: sorted(d) for d in listed}
    assert shapes[decoy] == shapes[real.user_id]
    [contact] = next(d for d in listed if d["id"] == decoy)["contacts"]
    assert contact["kind"] == "email" and contact["masked"].endswith("@mail.anxin.example")
    # Viewing masked data is not touching it; revealing it is.
    assert client.get(f"/v1/staff/holders/{decoy}", headers=team.agent.headers).status_code == 200
    assert client.get("/v1/staff/compliance/alerts",
                      headers=team.compliance.headers).json()["data"] == []  # fmt: skip
    done = reveal(client, team.agent, decoy, ["email", "display_name"],
                  break_glass_reason="customer called about a blocked payment")  # fmt: skip
    assert done.status_code == 200  # the insider learns nothing
    assert done.json()["values"]["email"].endswith("@mail.anxin.example")
    alerts = client.get("/v1/staff/compliance/alerts", headers=team.compliance.headers)
    kinds = sorted(a["kind"] for a in alerts.json()["data"])
    assert kinds == ["break_glass", "honeytoken_touched"]
    touched = next(a for a in alerts.json()["data"] if a["kind"] == "honeytoken_touched")
    assert touched["severity"] == "critical" and touched["holder_id"] == decoy
    assert touched["details"] == {"action": "reveal", "staff_role": "agent"}
    # Opening a case about a decoy is touching it too.
    open_case(client, team.officer, decoy, team.agent.user_id)
    alerts = client.get("/v1/staff/compliance/alerts", headers=team.compliance.headers)
    assert [a["details"].get("action") for a in alerts.json()["data"]
            if a["kind"] == "honeytoken_touched"] == ["case_opened", "reveal"]  # fmt: skip


def test_decoys_are_not_marked_in_clear(container: Container, client: TestClient) -> None:
    decoy = plant(container)
    with UnitOfWork(container.database) as uow:
        [marker] = uow.session.scalars(select(Honeytoken.marker)).all()
        assert decoy.replace("-", "") not in marker and decoy not in marker
        vault = container.keys.vault()
        assert honeytokens.decoys_among(uow.session, vault, [uuid.UUID(decoy)])
        # The decoy can be signed in as by nobody.
        row = uow.session.get(User, uuid.UUID(decoy))
        assert row is not None and row.password_hash.startswith("$argon2")


def test_plant_honeytoken_command(cli: Cli, database: Database) -> None:
    result = cli("privacy", "plant-honeytoken", "--email-domain", "decoys.anxin.example",
                 "--count", "2")  # fmt: skip
    assert result.code == 0, result.err
    assert result.out.strip() == "planted 2 decoy holder(s)"
    with UnitOfWork(database) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Honeytoken)) == 2
        assert uow.session.scalar(select(func.count()).select_from(Contact)) == 2
    bad = cli("privacy", "plant-honeytoken", "--email-domain", "not a domain")
    assert bad.code == 1 and "error:" in bad.err


def test_staff_cannot_reveal_without_purpose_even_a_decoy(
    client: TestClient, team: Team, container: Container
) -> None:
    decoy = plant(container)
    problem(reveal(client, team.agent, decoy, ["email"]), 403, "purpose_required")


def test_a_decoy_is_alerted_on_even_when_the_guard_refuses(
    client: TestClient, holder: Callable[..., Person], team: Team, container: Container
) -> None:
    reason = "customer on the phone cannot sign in, verifying identity"
    for person in (holder(), holder()):
        assert reveal(client, team.agent, person.user_id, ["phone"],
                      break_glass_reason=reason).status_code == 200  # fmt: skip
    decoy = plant(container)
    problem(reveal(client, team.agent, decoy, ["phone"], break_glass_reason=reason), 403,
            "bulk_access_blocked")  # fmt: skip
    alerts = client.get("/v1/staff/compliance/alerts", headers=team.compliance.headers)
    touched = [a for a in alerts.json()["data"] if a["kind"] == "honeytoken_touched"]
    assert [a["holder_id"] for a in touched] == [decoy]
