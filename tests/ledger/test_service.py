"""Account lifecycle and balances, on both databases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from anxin.kit.db import Database
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger import repository, service
from anxin.ledger.assets import create_asset
from anxin.ledger.commands import Command, PostOp, TransferOp
from anxin.ledger.errors import (
    AccountNotEmpty,
    AccountNotFound,
    AccountStatusConflict,
    UnknownAsset,
)
from anxin.ledger.service import Balance
from anxin.models import Account
from tests.ledger.helpers import START, create_accounts, run_batch, run_one, verify


@dataclass(frozen=True)
class Stored:
    id: uuid.UUID
    asset: str
    status: str
    status_reason: str | None
    allow_negative: bool
    owner_ref: str | None
    label: str | None
    meta: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    balance: Balance

    @classmethod
    def of(cls, account: Account) -> Stored:
        return cls(
            id=account.id, asset=account.asset, status=account.status,
            status_reason=account.status_reason, allow_negative=account.allow_negative,
            owner_ref=account.owner_ref, label=account.label, meta=account.meta,
            created_at=account.created_at, updated_at=account.updated_at,
            balance=service.balance_of(account),
        )  # fmt: skip


def change(database: Database, action: str, account_id: uuid.UUID, reason: str = "why") -> Stored:
    functions = {
        "freeze": service.freeze_account,
        "unfreeze": service.unfreeze_account,
        "close": service.close_account,
    }
    with UnitOfWork(database) as uow:
        account = functions[action](uow.session, account_id, reason=reason, now=START)
        uow.commit()
        return Stored.of(account)


def load(database: Database, account_id: uuid.UUID) -> Stored:
    with UnitOfWork(database, write=False) as uow:
        return Stored.of(repository.get_account(uow.session, account_id))


def test_accounts_in_any_iso_currency(database: Database) -> None:
    for asset in ("CNY", "JPY", "KWD", "USD", "CLF"):
        with UnitOfWork(database) as uow:
            account = service.create_account(
                uow.session, asset=asset, owner_ref="user-1", label="Main", metadata={"k": "v"},
                now=START,
            )  # fmt: skip
            uow.commit()
        stored = load(database, account.id)
        assert (stored.asset, stored.status, stored.allow_negative) == (asset, "active", False)
        assert (stored.owner_ref, stored.label, stored.meta) == ("user-1", "Main", {"k": "v"})
        assert (stored.created_at, stored.updated_at) == (START, START)
        assert stored.balance == Balance(posted=0, pending=0, available=0)


def test_unknown_assets_are_refused(database: Database) -> None:
    for asset in ("XAU", "XXX", "ABC", "cny", "POINTS"):
        with UnitOfWork(database) as uow, pytest.raises(UnknownAsset) as refused:
            service.create_account(uow.session, asset=asset, now=START)
        assert (refused.value.status, refused.value.code) == (422, "unknown_asset")


def test_accounts_in_a_defined_asset(database: Database) -> None:
    with UnitOfWork(database) as uow:
        create_asset(uow.session, code="POINTS", name="Reward points", scale=0, now=START)
        account = service.create_account(uow.session, asset="POINTS", now=START)
        uow.commit()
    assert load(database, account.id).asset == "POINTS"


def test_an_account_id_may_be_chosen(database: Database) -> None:
    chosen = uuid.uuid4()
    with UnitOfWork(database) as uow:
        service.create_account(uow.session, asset="CNY", now=START, account_id=chosen)
        uow.commit()
    assert load(database, chosen).id == chosen


def test_nothing_is_kept_without_a_commit(database: Database) -> None:
    with UnitOfWork(database) as uow:
        account = service.create_account(uow.session, asset="CNY", now=START)
    with pytest.raises(AccountNotFound):
        load(database, account.id)


def test_freeze_and_unfreeze(database: Database) -> None:
    [bank] = create_accounts(database, 1, allow_negative=True)
    [wallet] = create_accounts(database, 1)
    assert run_one(database, Command((TransferOp(bank, wallet, 50, "CNY"),))).ok
    frozen = change(database, "freeze", wallet, "fraud check")
    assert (frozen.status, frozen.status_reason) == ("frozen", "fraud check")
    # A frozen account neither sends nor receives.
    for op in (TransferOp(wallet, bank, 1, "CNY"), TransferOp(bank, wallet, 1, "CNY")):
        assert run_one(database, Command((op,))).outcomes[0]["error"] == "account_frozen"
    change(database, "freeze", wallet, "again")  # freezing twice is allowed
    with pytest.raises(AccountStatusConflict):
        change(database, "unfreeze", bank)
    active = change(database, "unfreeze", wallet, "cleared")
    assert (active.status, active.status_reason) == ("active", "cleared")
    assert run_one(database, Command((TransferOp(wallet, bank, 1, "CNY"),))).ok
    assert verify(database).ok


def test_close_needs_an_empty_settled_account(database: Database) -> None:
    [bank] = create_accounts(database, 1, allow_negative=True)
    wallet, shop = create_accounts(database, 2)
    assert run_one(database, Command((TransferOp(bank, wallet, 50, "CNY"),))).ok
    with pytest.raises(AccountNotEmpty) as refused:
        change(database, "close", wallet)
    assert (refused.value.status, refused.value.code) == (409, "account_not_empty")
    held = run_one(database, Command((TransferOp(wallet, shop, 50, "CNY", pending=True),)))
    hold_id = uuid.UUID(held.outcomes[0]["transfer"]["id"])
    # Neither the side that holds nor the side that expects funds may close.
    with pytest.raises(AccountNotEmpty):
        change(database, "close", wallet)
    with pytest.raises(AccountNotEmpty):
        change(database, "close", shop)
    assert run_one(database, Command((PostOp(hold_id),))).ok
    closed = change(database, "close", wallet, "customer left")
    assert (closed.status, closed.status_reason) == ("closed", "customer left")
    for action in ("close", "freeze", "unfreeze"):
        with pytest.raises(AccountStatusConflict) as conflict:
            change(database, action, wallet)
        assert conflict.value.status == 409
    refused_transfer = run_one(database, Command((TransferOp(bank, wallet, 1, "CNY"),)))
    assert refused_transfer.outcomes[0]["error"] == "account_closed"
    assert verify(database).ok


def test_a_frozen_empty_account_can_be_closed(database: Database) -> None:
    [wallet] = create_accounts(database, 1)
    change(database, "freeze", wallet)
    assert change(database, "close", wallet).status == "closed"


def test_unknown_accounts(database: Database) -> None:
    for action in ("freeze", "unfreeze", "close"):
        with pytest.raises(AccountNotFound) as missing:
            change(database, action, uuid.uuid4())
        assert (missing.value.status, missing.value.code) == (404, "account_not_found")


def test_balance_of_counters() -> None:
    assert Balance.of(30, 100, 20, 5) == Balance(posted=70, pending=-15, available=50)
    assert Balance.of(100, 0, 0, 0) == Balance(posted=-100, pending=0, available=-100)


def test_balance_as_of_past_moments(database: Database) -> None:
    [bank] = create_accounts(database, 1, allow_negative=True)
    wallet, shop = create_accounts(database, 2)
    t1, t2, t3 = (START + timedelta(minutes=m) for m in (1, 2, 3))
    run_one(database, Command((TransferOp(bank, wallet, 100, "CNY"),)), t1)
    held = run_one(database, Command((TransferOp(wallet, shop, 40, "CNY", pending=True),)), t2)
    hold_id = uuid.UUID(held.outcomes[0]["transfer"]["id"])
    run_one(database, Command((PostOp(hold_id, amount=25),)), t3)

    def at(account_id: uuid.UUID, moment: timedelta) -> Balance:
        with UnitOfWork(database, write=False) as uow:
            return service.balance_as_of(uow.session, account_id, START + moment)

    zero = Balance(0, 0, 0)
    assert at(wallet, timedelta(0)) == zero
    assert at(wallet, timedelta(seconds=59, microseconds=999_999)) == zero
    assert at(wallet, timedelta(minutes=1)) == Balance(100, 0, 100)  # at the moment itself
    assert at(wallet, timedelta(minutes=1, seconds=30)) == Balance(100, 0, 100)
    assert at(wallet, timedelta(minutes=2)) == Balance(100, -40, 60)
    assert at(shop, timedelta(minutes=2)) == Balance(0, 40, 0)
    assert at(wallet, timedelta(minutes=3)) == Balance(75, 0, 75)
    assert at(shop, timedelta(days=1)) == Balance(25, 0, 25)
    assert at(bank, timedelta(days=1)) == Balance(-100, 0, -100)
    with pytest.raises(AccountNotFound):
        at(uuid.uuid4(), timedelta(0))


def test_balance_as_of_within_one_batch_takes_the_last_entry(database: Database) -> None:
    [bank] = create_accounts(database, 1, allow_negative=True)
    [wallet] = create_accounts(database, 1)
    run_batch(database, [Command((TransferOp(bank, wallet, n, "CNY"),)) for n in (1, 2, 3)])
    with UnitOfWork(database, write=False) as uow:
        assert service.balance_as_of(uow.session, wallet, START).posted == 6


def test_domain_errors_are_anxin_errors() -> None:
    for error in (AccountNotEmpty(), AccountStatusConflict(), AccountNotFound(), UnknownAsset()):
        assert isinstance(error, AnxinError)
        assert error.detail == error.title
