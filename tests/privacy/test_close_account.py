"""Closing an account: personal data becomes unrecoverable (the data key is destroyed,
decryption fails, the raw tables hold no plaintext and no blind index of the contact),
while the ledger still balances, its accounts now under a pseudonym."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import make_url, select

from anxin.api.deps import Container
from anxin.identity import contacts as book
from anxin.identity import kyc
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.verify import verify_ledger
from anxin.models import Account, Contact, DataKey, KycCheck, User, WalletAccount
from anxin.models.insider import AccessLogEntry, AuditEntry
from anxin.models.rights import Closure, ClosurePayout
from anxin.privacy import access_log, closure
from anxin.privacy.vault import DataShredded
from tests.identity.conftest import PASSWORD, Person
from tests.privacy.rights_fixtures import dump_tables, fund, link_bank_account

NAME = "张三明"
PHONE = "+8613812345678"
ID_NUMBER = "110105199001011234"
BANK = "6222020200112233445"
KYC = {
    "tier": "basic", "full_name": NAME, "id_type": "resident_id", "id_number": ID_NUMBER,
    "date_of_birth": "1990-01-01", "nationality": "CN", "address": "北京市朝阳区建国路 88 号",
}  # fmt: skip


def _close(client: TestClient, person: Person, **body: Any) -> Any:
    return client.post("/v1/me/close", headers=person.headers,
                       json={"password": PASSWORD, "confirm": "CLOSE", **body})  # fmt: skip


def _stepped(client: TestClient, person: Person, code: Callable[[str], str], **body: Any) -> Any:
    first = _close(client, person, **body)
    assert (first.status_code, first.json()["code"]) == (401, "step_up_required"), first.text
    answered = client.post(
        f"/v1/auth/step-up/{first.json()['challenge_id']}", headers=person.headers,
        json={"method": "totp", "proof": {"code": code(person.extra["totp"])}},
    )  # fmt: skip
    assert answered.status_code == 200, answered.text
    return client.post("/v1/me/close", headers={
        **person.headers, "X-Step-Up-Token": answered.json()["step_up_token"],
    }, json={"password": PASSWORD, "confirm": "CLOSE", **body})  # fmt: skip


@pytest.fixture
def alice(
    client: TestClient, holder: Callable[..., Person], enrol_totp: Callable[[Person], str],
    container: Container, ready_staff: Callable[[str], Person],
) -> Person:  # fmt: skip
    """A holder with a name, a phone, an authenticator app, identity verified, money, a
    bank account and a staff access in her log."""
    person = holder(phone=PHONE, name=NAME)
    enrol_totp(person)
    assert client.post("/v1/me/kyc", json=KYC, headers=person.headers).status_code == 202
    fund(container, person.user_id, 10_000)
    person.extra["bank"] = str(link_bank_account(container, person.user_id, BANK))
    staff = ready_staff("compliance_officer")
    with UnitOfWork(container.database) as uow:
        member = uow.session.get(User, uuid.UUID(staff.user_id))
        assert member is not None
        access_log.record(uow.session, staff=member, holder_id=uuid.UUID(person.user_id),
                          action="freeze", fields=[], purpose={"reference": "RISK-1"},
                          now=container.clock.now())  # fmt: skip
        uow.commit()
    return person


def test_closing_makes_personal_data_unrecoverable_and_the_ledger_still_balances(
    client: TestClient, alice: Person, container: Container, totp_code: Callable[[str], str],
    holder: Callable[..., Person],
) -> None:  # fmt: skip
    user_id = uuid.UUID(alice.user_id)
    vault = container.keys.vault()
    with UnitOfWork(container.database, write=False) as uow:
        phone_index = book.lookup_key(vault, book.parse_contact("phone", PHONE))
        wrapped = uow.session.get(DataKey, user_id).wrapped_key  # type: ignore[union-attr]
        assert wrapped is not None
    # A balance is left and no bank account named: refused, nothing changed.
    refused = _stepped(client, alice, totp_code)
    assert (refused.status_code, refused.json()["code"]) == (409, "balance_not_zero")
    assert refused.json()["balances"] == {"CNY": 10_000}
    wrong = _close(client, alice, password="not the password at all")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_password")

    closed = _stepped(client, alice, totp_code, payout_source_id=alice.extra["bank"])
    assert closed.status_code == 200, closed.text
    out = closed.json()
    assert out["payouts"] == [
        {"asset": "CNY", "amount": 10_000, "destination": "bank account ****3445"}
    ]
    # Every session ended.
    assert client.get("/v1/me", headers=alice.headers).status_code == 401

    with UnitOfWork(container.database, write=False) as uow:
        s = uow.session
        user = s.get(User, user_id)
        assert user is not None and user.status == "closed" and user.display_name_enc is None
        key = s.get(DataKey, user_id)
        assert key is not None and key.wrapped_key is None and key.destroyed_at is not None
        # Whatever is still encrypted under her key cannot be read by anyone any more.
        fresh = container.keys.vault()
        [check] = s.scalars(select(KycCheck).where(KycCheck.user_id == user_id)).all()
        with pytest.raises(DataShredded):
            kyc.read_submission(s, fresh, check)
        with pytest.raises(DataShredded):
            fresh.decrypt(s, user_id, table="identity_users", column="display_name_enc",
                          row_id=user_id, ciphertext=check.submission_enc)  # fmt: skip
        assert s.scalar(select(Contact.id).where(Contact.user_id == user_id)) is None
        # The raw tables: no plaintext, no blind index of her phone, no wrapped key.
        dump = b"\n".join(b"\n".join(cells) for cells in dump_tables(s).values())
        for needle in (NAME, PHONE, PHONE[3:], ID_NUMBER, BANK, phone_index):
            assert needle.encode() not in dump, needle
        assert wrapped not in dump
        # The ledger: still balanced and intact; her accounts closed, under a pseudonym.
        report = verify_ledger(s.connection())
        assert report.ok, report.problems
        accounts = list(s.scalars(select(Account).where(Account.owner_ref.like("closed:%"))))
        [wallet] = accounts
        assert wallet.status == "closed" and alice.user_id not in (wallet.owner_ref or "")
        assert wallet.owner_ref == closure.closed_owner_ref(fresh, user_id)
        links = list(s.scalars(select(WalletAccount).where(WalletAccount.account_id == wallet.id)))
        assert [(w.owner, w.user_id) for w in links] == [(wallet.owner_ref, None)]
        # The remaining balance waits in the payout account, the number sealed on its own.
        [payout] = s.scalars(select(ClosurePayout)).all()
        assert payout.amount == 10_000 and payout.status == "pending"
        assert payout.destination_enc is not None
        assert fresh.decrypt(s, payout.id, table="privacy_closure_payouts",
                             column="destination_enc", row_id=payout.id,
                             ciphertext=payout.destination_enc) == BANK  # fmt: skip
        record = s.get(Closure, user_id)
        assert record is not None and record.retain_until - record.closed_at == timedelta(days=1827)
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.event == "privacy.account_closed")
        ).one()
        assert entry.subject_id == user_id and entry.data["payouts"] == [
            {"asset": "CNY", "amount": 10_000}
        ]

    # The phone number is free again: a new sign-up with it works, as a new person.
    again = holder(phone=PHONE, name="新用户")
    assert again.user_id != alice.user_id


def test_the_database_files_keep_no_trace_of_the_destroyed_key(
    client: TestClient, alice: Person, container: Container, totp_code: Callable[[str], str],
    settings: Any,
) -> None:  # fmt: skip
    if not container.database.is_sqlite:
        pytest.skip("SQLite files only: PostgreSQL reclaims old row versions by VACUUM")
    user_id = uuid.UUID(alice.user_id)
    with UnitOfWork(container.database, write=False) as uow:
        wrapped = uow.session.get(DataKey, user_id).wrapped_key  # type: ignore[union-attr]
        assert wrapped is not None
    path = Path(str(make_url(settings.resolved_database_url).database))

    def files() -> list[bytes]:
        return [p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()]

    assert any(wrapped in content for content in files())  # it was there to begin with
    closed = _stepped(client, alice, totp_code, payout_source_id=alice.extra["bank"])
    assert closed.status_code == 200, closed.text
    assert not any(wrapped in content for content in files())


def test_a_holder_without_second_factor_closes_with_the_password(
    client: TestClient, holder: Callable[..., Person], container: Container
) -> None:
    from anxin.models import Mandate
    from anxin.wallet.merchants import create_merchant

    bob = holder(name="包小白")
    now = container.clock.now()
    with UnitOfWork(container.database) as uow:
        shop = create_merchant(uow.session, container.keys.vault(), name="Tea House",
                               webhook_url=None, now=now).merchant  # fmt: skip
        uow.session.add(Mandate(
            id=uuid.uuid4(), merchant_id=shop.id, holder_id=uuid.UUID(bob.user_id),
            currency="CNY", max_per_debit=5000, frequency="monthly", debits_per_period=1,
            ends_at=now + timedelta(days=365), description="tea club", status="active",
            created_at=now, accepted_at=now, cancelled_at=None, cancelled_by=None,
        ))  # fmt: skip
        uow.commit()
    closed = _close(client, bob)
    assert closed.status_code == 200, closed.text
    assert closed.json()["payouts"] == []
    with UnitOfWork(container.database, write=False) as uow:
        assert verify_ledger(uow.session.connection()).ok
        [mandate] = uow.session.scalars(select(Mandate)).all()
        assert (mandate.status, mandate.cancelled_by) == ("cancelled", "holder")


def test_nothing_may_be_in_flight(
    client: TestClient, holder: Callable[..., Person], container: Container
) -> None:
    from anxin.models.wallet_money import Freeze

    bob = holder()
    fund(container, bob.user_id, 50)
    now = container.clock.now()
    with UnitOfWork(container.database) as uow:
        uow.session.add(Freeze(
            id=uuid.uuid4(), user_id=uuid.UUID(bob.user_id), scope="all",
            reason_code="suspected_fraud", note_enc=b"sealed", review_by=now + timedelta(days=3),
            status="active", created_by=uuid.UUID(bob.user_id), created_at=now, lifted_by=None,
            lifted_at=None, lift_note_enc=None,
        ))  # fmt: skip
        uow.commit()
    blocked = _close(client, bob)
    assert (blocked.status_code, blocked.json()["code"]) == (409, "closure_blocked")
    assert blocked.json()["problems"] == ["the wallet is frozen"]
    staff_close = client.post("/v1/me/close", json={"password": PASSWORD, "confirm": "CLOSE"})
    assert staff_close.status_code == 401


def test_after_the_retention_period_the_purge_anonymises(
    client: TestClient, alice: Person, container: Container, totp_code: Callable[[str], str],
) -> None:  # fmt: skip
    user_id = uuid.UUID(alice.user_id)
    assert _stepped(client, alice, totp_code,
                    payout_source_id=alice.extra["bank"]).status_code == 200  # fmt: skip
    vault = container.keys.vault()
    now = container.clock.now()
    with UnitOfWork(container.database) as uow:
        assert closure.purge_expired(uow.session, vault, now + timedelta(days=1826)) == 0
        assert closure.purge_expired(uow.session, vault, now + timedelta(days=1828)) == 1
        uow.commit()
    with UnitOfWork(container.database, write=False) as uow:
        s = uow.session
        assert s.scalar(select(Account.id).where(Account.owner_ref.like("closed:%"))) is None
        erased = list(s.scalars(select(Account).where(Account.owner_ref.like("erased:%"))))
        assert len(erased) == 1
        assert (
            s.scalar(select(AccessLogEntry.id).where(AccessLogEntry.holder_id == user_id)) is None
        )
        assert verify_ledger(s.connection()).ok
        record = s.get(Closure, user_id)
        assert record is not None and record.purged_at is not None


def test_the_remaining_balance_is_paid_out_and_its_number_destroyed(
    client: TestClient, alice: Person, container: Container, totp_code: Callable[[str], str],
) -> None:  # fmt: skip
    from anxin.privacy import closure_payouts
    from anxin.wallet import accounts
    from anxin.wallet.funding import SimulatedBankRail

    assert _stepped(client, alice, totp_code,
                    payout_source_id=alice.extra["bank"]).status_code == 200  # fmt: skip
    bank = SimulatedBankRail(container.database)
    now = container.clock.now()
    first = closure_payouts.run(container.database, container.keys, bank, now)
    assert (first.submitted, first.paid, first.failed) == (1, 0, 0)
    assert closure_payouts.run(container.database, container.keys, bank, now).submitted == 0
    [settled] = bank.settle_pending(now)
    assert settled.amount == 10_000
    done = closure_payouts.run(container.database, container.keys, bank, now)
    assert (done.submitted, done.paid, done.failed) == (0, 1, 0)
    with UnitOfWork(container.database, write=False) as uow:
        s = uow.session
        [payout] = s.scalars(select(ClosurePayout)).all()
        assert payout.status == "paid" and payout.destination_enc is None
        key = s.get(DataKey, payout.id)
        assert key is not None and key.wrapped_key is None
        held = accounts.system_account(s, closure.PAYOUT_ACCOUNT, "CNY", now)
        assert (held.credits_posted, held.debits_posted) == (10_000, 10_000)
        assert verify_ledger(s.connection()).ok
        dump = b"\n".join(b"\n".join(cells) for cells in dump_tables(s).values())
        assert BANK.encode() not in dump


def test_the_jobs_run_from_the_command_line(
    client: TestClient, alice: Person, container: Container, totp_code: Callable[[str], str],
    cli: Any, deliver: Callable[[], Any], sms: Any,
) -> None:  # fmt: skip
    assert _stepped(client, alice, totp_code,
                    payout_source_id=alice.extra["bank"]).status_code == 200  # fmt: skip
    assert "0 goodbye message key(s) destroyed" in cli("rights", "tick").out  # not sent yet
    deliver()
    goodbye = sms.last_to(PHONE)
    assert goodbye is not None and "注销" in goodbye.body and "100.00 CNY" in goodbye.body
    assert "银行账户 ****3445" in goodbye.body
    ticked = cli("rights", "tick")
    assert ticked.code == 0, ticked.err
    assert "1 goodbye message key(s) destroyed" in ticked.out
    paid = cli("rights", "payouts")
    assert paid.code == 0 and "1 submitted" in paid.out, paid.err
    purged = cli("rights", "purge-closed")
    assert purged.code == 0 and "0 closed account(s) anonymised" in purged.out
