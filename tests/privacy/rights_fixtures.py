"""Helpers for the data-rights tests (the fixtures are in ``conftest``): money straight
into a wallet, a linked bank account, and a raw dump of every table."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from anxin.api.deps import Container
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, TransferOp
from anxin.models import Base, FundingSource, User
from anxin.wallet import accounts
from tests.identity.conftest import Person


def fund(container: Container, user_id: str, amount: int, asset: str = "CNY") -> uuid.UUID:
    """Money straight from the bank account into a holder's wallet; the wallet's id."""
    now = container.clock.now()
    with UnitOfWork(container.database) as uow:
        bank = accounts.system_account(uow.session, "bank_settlement", asset, now)
        wallet = accounts.wallet_account(uow.session, uuid.UUID(user_id), asset, now)
        [result] = apply_batch(
            uow.session.connection(),
            [Command((TransferOp(bank.id, wallet.id, amount, asset, kind="topup"),))],
            now,
        )
        assert result.ok, result.outcomes
        uow.commit()
        return wallet.id


def link_bank_account(container: Container, user_id: str, number: str) -> uuid.UUID:
    """A bank account linked to a holder (as the wallet's step-up flow would leave it)."""
    now = container.clock.now()
    vault = container.keys.vault()
    with UnitOfWork(container.database) as uow:
        source_id = new_id()
        uow.session.add(
            FundingSource(
                id=source_id, user_id=uuid.UUID(user_id), kind="bank_account",
                number_enc=vault.encrypt(
                    uow.session, uuid.UUID(user_id), table="wallet_funding_sources",
                    column="number_enc", row_id=source_id, plaintext=number,
                ),
                lookup=vault.blind_index("wallet_funding_sources.number", f"bank_account:{number}"),
                masked=f"****{number[-4:]}", status="active", created_at=now, removed_at=None,
            )
        )  # fmt: skip
        uow.commit()
    return source_id


def user(container: Container, user_id: str) -> User:
    with UnitOfWork(container.database, write=False) as uow:
        found = uow.session.get(User, uuid.UUID(user_id))
        assert found is not None
        return found


def cell_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    if isinstance(value, dict | list):
        return (json.dumps(value) + json.dumps(value, ensure_ascii=False)).encode()
    return str(value).encode()


def dump_tables(session: Session) -> dict[str, list[bytes]]:
    """Every cell of every table, raw (``SELECT *``)."""
    dump: dict[str, list[bytes]] = {}
    for table in Base.metadata.sorted_tables:
        rows = session.execute(text(f"SELECT * FROM {table.name}")).all()
        dump[table.name] = [cell_bytes(cell) for row in rows for cell in row]
    return dump


def officers(ready_staff: Callable[[str], Person], role: str = "compliance_officer",
             n: int = 2) -> list[Person]:  # fmt: skip
    return [ready_staff(role) for _ in range(n)]
