"""Identity verification: the fake provider, encrypted submissions, tier upgrades."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from anxin.identity import kyc
from anxin.identity.kyc import FakeKycProvider, KycDecision, KycSubmission
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Base, KycCheck
from anxin.privacy.keyring import load_keyring
from anxin.privacy.keys import KeyService
from anxin.privacy.vault import Vault
from anxin.settings import Environment, Settings
from tests.identity.conftest import Person
from tests.identity.test_totp import make_user

NOW = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
ZHANG = KycSubmission(
    full_name="张伟", id_type="resident_id", id_number="11010519491231002X",
    date_of_birth=date(1949, 12, 31), nationality="CN", address="北京市朝阳区建国路 1 号",
)  # fmt: skip
FLAGGED = KycSubmission(
    full_name="李娜", id_type="passport", id_number="E12340000",
    date_of_birth=date(1990, 1, 1), nationality="CN",
)  # fmt: skip


@pytest.fixture
def vault(settings: Settings) -> Vault:
    keyring = load_keyring(settings.resolved_key_file, None, None)
    assert keyring is not None
    return KeyService(keyring).vault()


@pytest.fixture
def uow(database: Database) -> Iterator[UnitOfWork]:
    with UnitOfWork(database) as unit:
        yield unit


def test_fake_provider_decisions() -> None:
    assert FakeKycProvider.decide("basic", ZHANG) == KycDecision(True)
    assert FakeKycProvider.decide("full", ZHANG) == KycDecision(True)
    assert FakeKycProvider.decide("basic", FLAGGED) == KycDecision(False, "flagged")
    no_address = KycSubmission(**{**ZHANG.__dict__, "address": None})
    assert FakeKycProvider.decide("full", no_address) == KycDecision(False, "address_missing")
    blank = KycSubmission(**{**ZHANG.__dict__, "full_name": "  "})
    assert FakeKycProvider.decide("basic", blank) == KycDecision(False, "malformed")


def test_approval_raises_the_tier_and_the_submission_is_encrypted(
    uow: UnitOfWork, vault: Vault
) -> None:
    user = make_user(uow.session, vault, NOW)
    check = kyc.submit(
        uow.session, vault, user, FakeKycProvider(), tier="basic", submission=ZHANG, now=NOW
    )
    assert check.status == "approved" and check.decided_at == NOW and user.tier == "basic"
    for secret in (ZHANG.full_name, ZHANG.id_number, ZHANG.address or ""):
        assert secret.encode() not in check.submission_enc
    assert kyc.read_submission(uow.session, vault, check) == ZHANG
    with pytest.raises(kyc.TierAlreadyReached):
        kyc.submit(
            uow.session, vault, user, FakeKycProvider(), tier="basic", submission=ZHANG, now=NOW
        )
    full = kyc.submit(
        uow.session, vault, user, FakeKycProvider(), tier="full", submission=ZHANG, now=NOW
    )
    assert full.status == "approved" and user.tier == "full"


def test_rejection_keeps_the_tier(uow: UnitOfWork, vault: Vault) -> None:
    user = make_user(uow.session, vault, NOW)
    check = kyc.submit(
        uow.session, vault, user, FakeKycProvider(), tier="basic", submission=FLAGGED, now=NOW
    )
    assert (check.status, check.reason, user.tier) == ("rejected", "flagged", "unverified")
    # A corrected submission may follow a rejection.
    again = kyc.submit(
        uow.session, vault, user, FakeKycProvider(), tier="basic", submission=ZHANG, now=NOW
    )
    assert again.status == "approved" and kyc.latest(uow.session, user.id) is again


def test_asynchronous_decisions(uow: UnitOfWork, vault: Vault) -> None:
    provider = FakeKycProvider(asynchronous=True)
    user = make_user(uow.session, vault, NOW)
    check = kyc.submit(uow.session, vault, user, provider, tier="basic", submission=ZHANG, now=NOW)
    assert check.status == "pending" and check.provider_ref and user.tier == "unverified"
    with pytest.raises(kyc.KycAlreadyPending):
        kyc.submit(uow.session, vault, user, provider, tier="full", submission=ZHANG, now=NOW)
    assert kyc.refresh(uow.session, provider, user.id, NOW) is check
    assert check.status == "pending"  # the provider has not decided yet
    provider.release()
    later = NOW + timedelta(hours=2)
    refreshed = kyc.refresh(uow.session, provider, user.id, later)
    assert refreshed is check and check.status == "approved" and check.decided_at == later
    assert user.tier == "basic"


def test_decisions_are_final_and_never_lower_a_tier(uow: UnitOfWork, vault: Vault) -> None:
    provider = FakeKycProvider(asynchronous=True)
    user = make_user(uow.session, vault, NOW)
    user.tier = "full"
    check = KycCheck(
        id=kyc.new_id(), user_id=user.id, tier="basic", provider="fake", provider_ref="r",
        submission_enc=b"\x01", status="pending", reason=None, created_at=NOW, decided_at=None,
    )  # fmt: skip
    uow.session.add(check)
    kyc.apply_decision(uow.session, check, KycDecision(True), NOW)
    assert user.tier == "full"
    kyc.apply_decision(uow.session, check, KycDecision(False, "late"), NOW)
    assert check.status == "approved" and check.reason is None
    assert provider.fetch_decision("unknown") is None


def test_unknown_tiers_are_refused(uow: UnitOfWork, vault: Vault) -> None:
    user = make_user(uow.session, vault, NOW)
    for tier in ("unverified", "platinum"):
        with pytest.raises(kyc.Unprocessable, match="apply for one of"):
            kyc.submit(
                uow.session, vault, user, FakeKycProvider(), tier=tier, submission=ZHANG, now=NOW
            )


# -- the API --------------------------------------------------------------------------------

BODY = {
    "tier": "basic", "full_name": "张伟", "id_type": "resident_id",
    "id_number": "11010519491231002x", "date_of_birth": "1949-12-31", "nationality": "CN",
}  # fmt: skip


def test_submit_and_status(client: TestClient, holder: Callable[..., Person]) -> None:
    alice = holder()
    assert client.get("/v1/me/kyc", headers=alice.headers).json() == {
        "tier": "unverified", "check_id": None, "applied_for": None, "status": "none",
        "reason": None, "submitted_at": None, "decided_at": None,
    }  # fmt: skip
    submitted = client.post("/v1/me/kyc", json=BODY, headers=alice.headers)
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["status"] == "approved" and submitted.json()["tier"] == "basic"
    status = client.get("/v1/me/kyc", headers=alice.headers).json()
    assert status["applied_for"] == "basic" and status["tier"] == "basic"
    assert client.get("/v1/me/limits", headers=alice.headers).json()["tier"] == "basic"
    again = client.post("/v1/me/kyc", json=BODY, headers=alice.headers)
    assert again.status_code == 409 and again.json()["code"] == "tier_already_reached"


def test_flagged_submissions_are_rejected(
    client: TestClient, holder: Callable[..., Person]
) -> None:
    alice = holder()
    body = {**BODY, "id_number": "110105194912310000"}
    rejected = client.post("/v1/me/kyc", json=body, headers=alice.headers).json()
    assert (rejected["status"], rejected["reason"], rejected["tier"]) == (
        "rejected", "flagged", "unverified",
    )  # fmt: skip


def test_asynchronous_provider_through_the_api(
    client: TestClient, holder: Callable[..., Person]
) -> None:
    provider = FakeKycProvider(asynchronous=True)
    client.app.state.kyc_provider = provider  # type: ignore[attr-defined]
    alice = holder()
    pending = client.post("/v1/me/kyc", json={**BODY, "tier": "full", "address": "北京"},
                          headers=alice.headers).json()  # fmt: skip
    assert pending["status"] == "pending" and pending["tier"] == "unverified"
    busy = client.post("/v1/me/kyc", json=BODY, headers=alice.headers)
    assert busy.status_code == 409 and busy.json()["code"] == "kyc_pending"
    provider.release()
    decided = client.get("/v1/me/kyc", headers=alice.headers).json()
    assert decided["status"] == "approved" and decided["tier"] == "full"


@pytest.mark.parametrize(
    "change",
    [{"tier": "unverified"}, {"id_number": "12"}, {"id_number": "11010519491231002X;"},
     {"nationality": "china"}, {"date_of_birth": "yesterday"}, {"extra": 1},
     {"full_name": ""}],
)  # fmt: skip
def test_malformed_submissions(
    client: TestClient, holder: Callable[..., Person], change: dict[str, Any]
) -> None:
    alice = holder()
    response = client.post("/v1/me/kyc", json={**BODY, **change}, headers=alice.headers)
    assert response.status_code == 422 and response.json()["code"] == "validation_failed"


def test_staff_have_no_kyc(client: TestClient, make_staff: Callable[..., Person]) -> None:
    agent = make_staff("agent")
    response = client.get("/v1/me/kyc", headers=agent.headers)
    assert response.status_code == 403 and response.json()["code"] == "wrong_account_kind"


def test_no_fake_provider_in_production(
    client: TestClient, holder: Callable[..., Person], settings: Settings
) -> None:
    alice = holder()
    container = client.app.state.container  # type: ignore[attr-defined]
    container.settings = settings.model_copy(update={"env": Environment.PRODUCTION})
    response = client.post("/v1/me/kyc", json=BODY, headers=alice.headers)
    assert response.status_code == 503 and response.json()["code"] == "service_unavailable"


def test_the_submission_is_nowhere_in_plaintext(
    client: TestClient, holder: Callable[..., Person], database: Database, db_url: str
) -> None:
    secrets_ = ["欧阳娜娜", "31010519880808123X", "上海市徐汇区漕溪北路 88 号"]
    alice = holder()
    body = {**BODY, "tier": "full", "full_name": secrets_[0], "id_number": secrets_[1],
            "address": secrets_[2]}  # fmt: skip
    assert client.post("/v1/me/kyc", json=body, headers=alice.headers).status_code == 202
    dump = bytearray()
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                for value in row:
                    dump += value if isinstance(value, bytes) else str(value).encode()
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        for file in (path, path.with_name(path.name + "-wal")):
            if file.exists():
                dump += file.read_bytes()
    assert b"fake-" in dump  # the dump does include the verification row
    for secret in secrets_:
        assert secret.encode() not in dump
