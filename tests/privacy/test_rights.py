"""A holder's copy of all their data, and correcting it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.api.deps import Container
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models.insider import AuditEntry
from tests.identity.conftest import Person
from tests.privacy.rights_fixtures import fund

KYC = {
    "tier": "basic", "full_name": "张三明", "id_type": "resident_id",
    "id_number": "110105199001011234", "date_of_birth": "1990-01-01", "nationality": "CN",
    "address": "北京市朝阳区建国路 88 号",
}  # fmt: skip


def _export(client: TestClient, person: Person) -> dict[str, Any]:
    got = client.get("/v1/me/data-export", headers=person.headers)
    assert got.status_code == 200, got.text
    assert got.headers["content-disposition"].startswith("attachment")
    assert got.headers["cache-control"] == "no-store"
    document: dict[str, Any] = json.loads(got.text)
    return document


def test_the_copy_holds_everything_about_the_holder_and_nothing_else(
    client: TestClient, holder: Callable[..., Person], container: Container,
    enrol_totp: Callable[[Person], str], ready_staff: Callable[[str], Person],
) -> None:  # fmt: skip
    alice = holder(name="张三明")
    bob = holder(name="包小白")
    secret = enrol_totp(alice)
    assert client.post("/v1/me/kyc", json=KYC, headers=alice.headers).status_code == 202
    fund(container, alice.user_id, 12_345)
    fund(container, bob.user_id, 1)
    staff = ready_staff("risk_officer")
    reveal = client.post(
        f"/v1/staff/holders/{alice.user_id}/reveal", headers=staff.headers,
        json={"fields": ["phone"], "break_glass_reason": "suspected account takeover right now"},
    )  # fmt: skip
    assert reveal.status_code == 200, reveal.text

    document = _export(client, alice)
    assert document["format"] == "anxin-personal-data/1"
    profile = document["profile"]
    assert profile["id"] == alice.user_id and profile["display_name"] == "张三明"
    assert [c["value"] for c in document["contacts"]] == [alice.identifier]
    assert document["sessions"] and document["devices"]
    assert document["second_factors"]["totp"][0]["confirmed_at"]
    assert document["second_factors"]["recovery_codes"]["issued"] >= 0
    [check] = document["kyc_submissions"]
    assert check["submission"]["id_number"] == KYC["id_number"]
    assert check["submission"]["address"] == KYC["address"]
    [access] = document["access_log"]
    assert (
        access["action"] == "reveal" and access["break_glass"] and access["role"] == "risk_officer"
    )
    [account] = document["ledger"]["accounts"]
    assert (account["asset"], account["posted"]) == ("CNY", 12_345)
    [transfer] = document["ledger"]["transfers"]
    assert (transfer["direction"], transfer["amount"]) == ("in", 12_345)
    assert document["notifications"]  # the break-glass notice at least
    text = json.dumps(document, ensure_ascii=False)
    # Factor secrets are not personal data to hand out: metadata only.
    assert secret not in text
    # Nothing of Bob's.
    for value in (bob.user_id, bob.identifier, "包小白"):
        assert value not in text
    # The holder is told; the audit log records it.
    inbox = client.get("/v1/me/notifications", headers=alice.headers).json()["data"]
    assert inbox[0]["kind"] == "privacy.data_exported"
    with UnitOfWork(container.database, write=False) as uow:
        entry = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.event == "privacy.data_exported")
        ).one()
        assert str(entry.subject_id) == alice.user_id
        assert entry.data["counts"]["kyc_submissions"] == 1


def test_only_holders_download_their_own_data(
    client: TestClient, ready_staff: Callable[[str], Person]
) -> None:
    staff = ready_staff("compliance_officer")
    refused = client.get("/v1/me/data-export", headers=staff.headers)
    assert (refused.status_code, refused.json()["code"]) == (403, "wrong_account_kind")
    anonymous = client.get("/v1/me/data-export")
    assert anonymous.status_code == 401


def test_correct_the_name_and_language(
    client: TestClient, holder: Callable[..., Person], container: Container
) -> None:
    alice = holder(name="张三")
    fixed = client.patch("/v1/me/profile", json={"display_name": " 张  三明 ", "locale": "en"},
                         headers=alice.headers)  # fmt: skip
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["display_name"] == "张 三明" and fixed.json()["locale"] == "en"
    assert _export(client, alice)["profile"]["display_name"] == "张 三明"
    inbox = client.get("/v1/me/notifications", headers=alice.headers).json()["data"]
    assert any(n["kind"] == "privacy.profile_corrected" and "display_name" in n["body"]
               for n in inbox)  # fmt: skip
    # Contacts change through the verified contact change, not here.
    phone = client.patch("/v1/me/profile", json={"phone": "+8613900001111"},
                         headers=alice.headers)  # fmt: skip
    assert phone.status_code == 422
    blank = client.patch("/v1/me/profile", json={"display_name": "   "}, headers=alice.headers)
    assert (blank.status_code, blank.json()["code"]) == (422, "invalid_name")
    with UnitOfWork(container.database, write=False) as uow:
        entry = uow.session.scalars(
            select(AuditEntry).where(AuditEntry.event == "privacy.profile_corrected")
        ).one()
        assert entry.data == {"fields": ["display_name", "locale"]}
