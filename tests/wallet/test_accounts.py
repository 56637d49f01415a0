"""Holders' and system accounts: created once, even when asked for at the same time;
outflow counted per business day and month."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.commands import TransferOp, VoidOp
from anxin.models import Account, WalletAccount
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, moves
from tests.wallet.conftest import START, fund, make_user


def test_wallet_and_system_accounts_are_created_once(uow: UnitOfWork, vault: Vault) -> None:
    s = uow.session
    user = make_user(s, vault, START)
    first = accounts.wallet_account(s, user.id, "CNY", START)
    assert accounts.wallet_account(s, user.id, "CNY", START).id == first.id
    assert first.owner_ref == f"user:{user.id}" and not first.allow_negative
    assert accounts.wallet_account(s, user.id, "USD", START).id != first.id
    assert [a.asset for a in accounts.wallet_accounts_of(s, user.id)] == ["CNY", "USD"]
    bank = accounts.system_account(s, "bank_settlement", "CNY", START)
    assert bank.allow_negative and bank.owner_ref == "system:bank_settlement"
    shop = accounts.system_account(s, f"merchant_settlement:{uuid.uuid4()}", "CNY", START)
    assert not shop.allow_negative
    assert accounts.owner_of(s, first.id) == f"user:{user.id}"
    for bad in ("", "Bank", "bank settlement", "a:b:c", "x" * 100):
        with pytest.raises(accounts.InvalidSystemAccount):
            accounts.system_account(s, bad, "CNY", START)


def test_concurrent_first_use_makes_one_account(database: Database, vault: Vault) -> None:
    with UnitOfWork(database) as uow:
        user = make_user(uow.session, vault, START)
        uow.commit()
    barrier = threading.Barrier(4)
    found: list[uuid.UUID] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with UnitOfWork(database) as uow:
                barrier.wait()
                found.append(accounts.wallet_account(uow.session, user.id, "CNY", START).id)
                uow.commit()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(found)) == 1
    with UnitOfWork(database) as uow:
        assert uow.session.scalar(select(func.count()).select_from(WalletAccount)) == 1
        owners = (
            select(func.count()).select_from(Account).where(Account.owner_ref == f"user:{user.id}")
        )
        assert uow.session.scalar(owners) == 1


def test_outflow_counts_what_left_today_and_this_month_in_china_time(
    uow: UnitOfWork, vault: Vault
) -> None:
    s = uow.session
    user = make_user(s, vault, START)
    # 23:30 on 31 January in Beijing is 15:30 UTC: still January, still "today" there.
    late = datetime(2030, 1, 31, 15, 30, tzinfo=UTC)
    fund(s, user.id, 1_000_00, late - timedelta(days=40))
    wallet = accounts.wallet_account(s, user.id, "CNY", START)
    bank = accounts.system_account(s, "bank_settlement", "CNY", START)
    moves.apply_linked(s, [TransferOp(wallet.id, bank.id, 10_00, "CNY")], late - timedelta(days=3))
    moves.apply_linked(s, [TransferOp(wallet.id, bank.id, 20_00, "CNY")], late)
    [hold] = moves.apply_linked(
        s, [TransferOp(wallet.id, bank.id, 5_00, "CNY", pending=True)], late
    )
    spent = accounts.outflow_totals(s, user.id, "CNY", late)
    assert (spent.today, spent.month) == (25_00, 35_00)
    moves.apply_linked(s, [VoidOp(hold)], late)  # a released hold did not leave
    assert accounts.outflow_totals(s, user.id, "CNY", late).today == 20_00
    # 00:30 on 1 February in Beijing (16:30 UTC on 31 January): a new day and month.
    next_day = late + timedelta(hours=1)
    assert accounts.outflow_totals(s, user.id, "CNY", next_day) == accounts.Outflow(0, 0)
    assert accounts.outflow_totals(s, user.id, "USD", late) == accounts.Outflow(0, 0)
