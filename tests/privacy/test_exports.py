"""Staff exports: a second approver, a bounded size, a watermark that traces a leak back
to the export and its requester, single-use expiring links, and every included holder
told in their access log."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.identity.passwords import PasswordHasher
from anxin.kit.clock import ManualClock, SystemClock
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.insider import AuditEntry, ComplianceAlert
from anxin.privacy import honeytokens
from anxin.settings import Environment, Settings
from tests.identity.conftest import Person, advance

REASON = "regulator request 2026-114: accounts opened in the November campaign"


@pytest.fixture
def settings(db_url: str, tmp_path: Path, key_file: Path) -> Settings:
    return Settings(
        env=Environment.TEST, home=tmp_path / "home", database_url=db_url, key_file=key_file,
        delivery_interval_seconds=0, export_max_holders=3, export_link_ttl_seconds=60,
        export_approval_ttl_seconds=600, export_available_seconds=600,
    )  # fmt: skip


def _request(client: TestClient, who: Person, holders: list[Person], **extra: Any) -> Any:
    body = {"holder_ids": [h.user_id for h in holders], "reason": REASON,
            "fields": ["display_name", "phone", "email_masked", "status"], **extra}  # fmt: skip
    return client.post("/v1/staff/exports", json=body, headers=who.headers)


def _approve(client: TestClient, who: Person, approval_id: str) -> Any:
    return client.post(f"/v1/staff/approvals/{approval_id}/approve", headers=who.headers)


def _download(client: TestClient, who: Person, export_id: str) -> Any:
    link = client.post(f"/v1/staff/exports/{export_id}/link", headers=who.headers)
    assert link.status_code == 200, link.text
    return client.get(link.json()["url"], headers=who.headers)


def _rows(content: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO("\n".join(
        line for line in content.splitlines() if not line.startswith("#")
    ))))  # fmt: skip


@pytest.fixture
def people(
    holder: Callable[..., Person], ready_staff: Callable[[str], Person]
) -> dict[str, Person]:
    return {
        "risk": ready_staff("risk_officer"), "officer": ready_staff("compliance_officer"),
        "agent": ready_staff("agent"), "h1": holder(name="张三明"), "h2": holder(name="李四"),
        "h3": holder(name="王五"),
    }  # fmt: skip


def test_an_export_needs_a_second_approver_and_carries_a_watermark(
    client: TestClient, people: dict[str, Person], container: Container
) -> None:
    risk, officer, h1, h2 = people["risk"], people["officer"], people["h1"], people["h2"]
    asked = _request(client, risk, [h1, h2])
    assert asked.status_code == 201, asked.text
    export = asked.json()
    assert export["status"] == "pending_approval" and export["holders"] == 2
    # The requester can neither download nor approve it.
    early = client.post(f"/v1/staff/exports/{export['id']}/link", headers=risk.headers)
    assert (early.status_code, early.json()["code"]) == (409, "export_not_approved")
    own = _approve(client, risk, export["approval_id"])
    assert (own.status_code, own.json()["code"]) == (403, "self_approval")
    # Another staff member sees it waiting and approves it.
    waiting = client.get("/v1/staff/approvals", headers=officer.headers).json()["data"]
    assert [a["id"] for a in waiting] == [export["approval_id"]]
    assert waiting[0]["payload"]["holders"] == 2
    approved = _approve(client, officer, export["approval_id"])
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    got = _download(client, risk, export["id"])
    assert got.status_code == 200, got.text
    assert got.headers["cache-control"] == "no-store" and got.headers["x-export-rows"] == "2"
    header, *_ = got.text.splitlines()
    risk_me = client.get("/v1/staff/me", headers=risk.headers).json()
    officer_me = client.get("/v1/staff/me", headers=officer.headers).json()
    assert export["id"] in header and "CONFIDENTIAL" in header
    assert risk_me["pseudonym"] in header and officer_me["pseudonym"] in header
    rows = _rows(got.text)
    assert len(rows) == 3  # the two holders and the canary
    real = {r["id"]: r for r in rows if r["id"] in (h1.user_id, h2.user_id)}
    assert real[h1.user_id]["display_name"] == "张三明"
    assert real[h1.user_id]["phone"] == h1.identifier
    assert real[h2.user_id]["status"] == "active"
    refs = {r["row_ref"] for r in rows}
    assert len(refs) == 3 and all(len(ref) == 20 for ref in refs)
    assert len({ref[:6] for ref in refs}) == 1  # one export tag
    [canary] = [r for r in rows if r["id"] not in real]
    assert canary["phone"].startswith("+861740") and canary["display_name"]
    # Nothing of the file is stored: the export row holds its definition only.
    with UnitOfWork(container.database, write=False) as uow:
        downloaded = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.event == "privacy.export_downloaded")
        ).one()
        assert downloaded.actor_id is not None and downloaded.data["rows"] == 2
        assert str(downloaded.actor_id) == risk.user_id


def test_each_included_holder_sees_the_export_in_their_access_log(
    client: TestClient, people: dict[str, Person]
) -> None:
    risk, officer, h1, h2, h3 = (people[k] for k in ("risk", "officer", "h1", "h2", "h3"))
    export = _request(client, risk, [h1, h2]).json()
    _approve(client, officer, export["approval_id"])
    assert _download(client, risk, export["id"]).status_code == 200
    for person in (h1, h2):
        log = client.get("/v1/me/access-log", headers=person.headers).json()["data"]
        [entry] = log
        assert entry["action"] == "export" and entry["role"] == "risk_officer"
        assert entry["purpose"]["reason"] == REASON
        assert entry["purpose"]["export_id"] == export["id"]
        assert set(entry["fields"]) == {"display_name", "phone", "email_masked", "status"}
    assert client.get("/v1/me/access-log", headers=h3.headers).json()["data"] == []


def test_links_are_single_use_and_expire(
    client: TestClient, people: dict[str, Person], clock: ManualClock
) -> None:
    risk, officer, h1 = people["risk"], people["officer"], people["h1"]
    export = _request(client, risk, [h1], format="json").json()
    _approve(client, officer, export["approval_id"])
    link = client.post(f"/v1/staff/exports/{export['id']}/link", headers=risk.headers).json()
    first = client.get(link["url"], headers=risk.headers)
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    document = json.loads(first.text)
    assert export["id"] in document["watermark"] and len(document["rows"]) == 2
    again = client.get(link["url"], headers=risk.headers)
    assert (again.status_code, again.json()["code"]) == (403, "export_link_invalid")
    # Someone else, even with the link and approval rights, cannot use it.
    other = client.post(f"/v1/staff/exports/{export['id']}/link", headers=risk.headers).json()
    stolen = client.get(other["url"], headers=officer.headers)
    assert stolen.status_code == 404
    # A link dies after its minutes; the export after its window.
    advance(clock, 61)
    late = client.get(other["url"], headers=risk.headers)
    assert (late.status_code, late.json()["code"]) == (403, "export_link_invalid")
    advance(clock, 540)  # staff sessions stay alive: under their idle timeout
    gone = client.post(f"/v1/staff/exports/{export['id']}/link", headers=risk.headers)
    assert (gone.status_code, gone.json()["code"]) == (410, "export_expired")


def test_an_unapproved_export_expires(
    client: TestClient, people: dict[str, Person], clock: ManualClock
) -> None:
    risk, officer, h1 = people["risk"], people["officer"], people["h1"]
    export = _request(client, risk, [h1]).json()
    advance(clock, 601)
    late = _approve(client, officer, export["approval_id"])
    assert (late.status_code, late.json()["code"]) == (410, "approval_expired")
    seen = client.get(f"/v1/staff/exports/{export['id']}", headers=risk.headers).json()
    assert seen["status"] == "expired"
    link = client.post(f"/v1/staff/exports/{export['id']}/link", headers=risk.headers)
    assert (link.status_code, link.json()["code"]) == (410, "export_expired")


def test_size_permissions_and_purpose(
    client: TestClient, people: dict[str, Person], holder: Callable[..., Person]
) -> None:
    risk, agent = people["risk"], people["agent"]
    many = [people["h1"], people["h2"], people["h3"], holder()]
    too_big = _request(client, risk, many)
    assert (too_big.status_code, too_big.json()["code"]) == (422, "export_too_large")
    by_query = client.post("/v1/staff/exports", headers=risk.headers, json={
        "query": {"status": "active"}, "fields": ["status"], "reason": REASON,
    })  # fmt: skip
    assert by_query.json()["code"] == "export_too_large"  # 4 active holders, cap 3
    vague = _request(client, risk, [people["h1"]], reason="because")
    assert (vague.status_code, vague.json()["code"]) == (422, "reason_too_short")
    unknown = _request(client, risk, [people["h1"]], fields=["password_hash"])
    assert (unknown.status_code, unknown.json()["code"]) == (422, "unknown_field")
    denied = _request(client, agent, [people["h1"]])
    assert (denied.status_code, denied.json()["code"]) == (403, "missing_permission")
    # Only the requester and those who may approve see an export.
    export = _request(client, risk, [people["h1"]]).json()
    peek = client.get(f"/v1/staff/exports/{export['id']}", headers=agent.headers)
    assert peek.status_code == 404


def test_an_export_with_a_decoy_alerts_compliance_at_once(
    client: TestClient, people: dict[str, Person], container: Container, settings: Settings
) -> None:
    risk, officer, h1 = people["risk"], people["officer"], people["h1"]
    with UnitOfWork(container.database) as uow:
        decoy = honeytokens.plant(
            uow.session, container.keys.vault(), email_domain="decoys.anxin.example",
            password_hash=PasswordHasher.from_settings(settings).unusable(),
            now=container.clock.now(),
        )  # fmt: skip
        uow.commit()
    body = {"holder_ids": [h1.user_id, str(decoy.id)], "reason": REASON, "fields": ["email"]}
    export = client.post("/v1/staff/exports", json=body, headers=risk.headers).json()
    with UnitOfWork(container.database, write=False) as uow:
        [alert] = uow.session.scalars(select(ComplianceAlert)).all()
        assert alert.kind == "honeytoken_touched" and alert.holder_id == decoy.id
        assert str(alert.staff_id) == risk.user_id
    _approve(client, officer, export["approval_id"])
    assert _download(client, risk, export["id"]).status_code == 200
    with UnitOfWork(container.database, write=False) as uow:
        kinds = [a.kind for a in uow.session.scalars(select(ComplianceAlert))]
        assert kinds == ["honeytoken_touched", "honeytoken_touched"]


def test_a_leaked_file_is_traced_to_its_export_and_requester(
    client: TestClient, people: dict[str, Person], ready_staff: Callable[[str], Person]
) -> None:
    risk, officer, h1, h2 = people["risk"], people["officer"], people["h1"], people["h2"]
    export = _request(client, risk, [h1, h2]).json()
    _approve(client, officer, export["approval_id"])
    content = _download(client, risk, export["id"]).text
    # Another export by someone else, to be told apart.
    other = _request(client, officer, [h2]).json()
    _approve(client, ready_staff("compliance_officer"), other["approval_id"])
    _download(client, officer, other["id"])

    def trace(text: str) -> list[dict[str, Any]]:
        found = client.post("/v1/staff/exports/trace", json={"content": text},
                            headers=officer.headers)  # fmt: skip
        assert found.status_code == 200, found.text
        matches: list[dict[str, Any]] = found.json()["matches"]
        return matches

    [whole] = trace(content)
    assert whole["export_id"] == export["id"] and whole["requested_by"] == risk.user_id
    assert whole["named_in_header"] and whole["canary_found"] and whole["rows_matched"] == 2
    # Header gone, row_ref column gone, the holders' rows gone: the canary still tells.
    rows = _rows(content)
    bare = "\n".join(",".join(v for k, v in r.items() if k != "row_ref") for r in rows
                     if r["id"] not in (h1.user_id, h2.user_id))  # fmt: skip
    [canary_only] = trace(bare)
    assert canary_only["export_id"] == export["id"] and canary_only["canary_found"]
    assert not canary_only["named_in_header"] and canary_only["rows_matched"] == 0
    # Only the refs of two rows: still this export.
    refs = "\n".join(r["row_ref"] for r in rows if r["id"] == h2.user_id)
    [by_refs] = trace(refs)
    assert by_refs["export_id"] == export["id"] and by_refs["rows_matched"] == 1
    assert trace("id,name\n1,nobody") == []
    agent = client.post("/v1/staff/exports/trace", json={"content": content},
                        headers=people["agent"].headers)  # fmt: skip
    assert agent.status_code == 403


def test_the_canary_has_every_field_an_export_can_hold() -> None:
    import uuid

    from anxin.privacy import export_watermark as marks
    from anxin.privacy.exports import ALL_FIELDS
    from anxin.privacy.keyring import generate_keyring
    from anxin.privacy.keys import KeyService

    vault = KeyService(generate_keyring(development=False)).vault()
    export_id = uuid.uuid4()
    now = SystemClock().now()
    made = marks.canary(vault, export_id, 10, email_domain="canary.example", created=now)
    assert set(ALL_FIELDS) <= set(made.values)
    assert made == marks.canary(vault, export_id, 10, email_domain="canary.example", created=now)
    assert 0 <= made.position <= 10
    number = made.values["id_number"]
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(number[:17], weights, strict=True)) % 11]
    assert len(number) == 18 and number[-1] == check
    assert number[6:14] == made.values["date_of_birth"].replace("-", "")
    other = marks.canary(vault, uuid.uuid4(), 10, email_domain="canary.example", created=now)
    assert other.values["id"] != made.values["id"] and other.values["email"] != made.values["email"]
