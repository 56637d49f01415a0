"""Paying out what was left in a closed account.

At closure the balance moved to the operator's ``closure_payouts`` account and the bank
account number was sealed under a data key of the payout's own (``closure.py``). Here the
payout goes to the funding provider (the payout's id is its idempotency key, so handing it
over twice is harmless) and, when the bank settles it, the money moves on to
``bank_settlement`` and the payout's key is destroyed: the number is gone with it. A failed
payout keeps its money in ``closure_payouts`` and its sealed number, for the operator to
resolve by hand (the holder can no longer be asked for another account).

Provider calls happen with no transaction open (the provider commits its own records).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from anxin.audit import service as audit
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.commands import TransferOp
from anxin.models.rights import ClosurePayout
from anxin.privacy.closure import PAYOUT_ACCOUNT
from anxin.privacy.keys import KeyService
from anxin.wallet import accounts as wallet_accounts
from anxin.wallet import moves
from anxin.wallet.funding import FundingProvider, Instruction

_TABLE = "privacy_closure_payouts"


@dataclass(frozen=True)
class PayoutReport:
    submitted: int
    paid: int
    failed: int


def _reference(payout_id: uuid.UUID) -> str:
    return f"closure-payout:{payout_id}"


def _instructions(database: Database, keys: KeyService) -> list[tuple[uuid.UUID, Instruction]]:
    vault = keys.vault()
    with UnitOfWork(database, write=False) as uow:
        rows = uow.session.scalars(
            select(ClosurePayout).where(
                ClosurePayout.status == "pending", ClosurePayout.provider_ref.is_(None)
            )
        ).all()
        made = []
        for row in rows:
            assert row.destination_enc is not None  # sealed until the payout is done
            number = vault.decrypt(uow.session, row.id, table=_TABLE, column="destination_enc",
                                   row_id=row.id, ciphertext=row.destination_enc)  # fmt: skip
            made.append((row.id, Instruction(
                reference=_reference(row.id), direction="payout", asset=row.asset,
                amount=row.amount, instrument_kind="bank_account", instrument_number=number,
                instrument_masked=row.destination_masked, customer_ref=_reference(row.id),
            )))  # fmt: skip
        return made


def _settle(database: Database, keys: KeyService, payout_id: uuid.UUID, *, paid: bool,
            now: datetime) -> None:  # fmt: skip
    with UnitOfWork(database) as uow:
        session = uow.session
        row = session.scalars(
            select(ClosurePayout).where(ClosurePayout.id == payout_id).with_for_update()
        ).one()
        if row.status != "pending":
            return
        if paid:
            held = wallet_accounts.system_account(session, PAYOUT_ACCOUNT, row.asset, now)
            bank = wallet_accounts.system_account(session, "bank_settlement", row.asset, now)
            [transfer_id] = moves.apply_linked(session, [TransferOp(
                held.id, bank.id, row.amount, row.asset, kind="closure_payout_settled",
                reference=_reference(row.id), metadata={"category": "account_closure"},
            )], now)  # fmt: skip
            row.status, row.settled_transfer_id = "paid", transfer_id
            row.destination_enc = None
            keys.vault().shred(session, row.id, now)
        else:
            row.status = "failed"
        row.settled_at = now
        audit.append(session, event=f"privacy.closure_payout_{row.status}", actor_id=None,
                     actor_role=None, subject_id=row.user_id,
                     data={"payout_id": row.id, "asset": row.asset, "amount": row.amount},
                     now=now)  # fmt: skip
        uow.commit()


def run(database: Database, keys: KeyService, provider: FundingProvider,
        now: datetime) -> PayoutReport:  # fmt: skip
    """One pass: hand new payouts to the provider, then settle what it finished."""
    submitted = 0
    for payout_id, instruction in _instructions(database, keys):
        answer = provider.submit(instruction, now)
        with UnitOfWork(database) as uow:
            row = uow.session.get(ClosurePayout, payout_id)
            if row is not None and row.provider_ref is None:
                row.provider_ref = answer.provider_ref
                uow.commit()
        submitted += 1
    with UnitOfWork(database, write=False) as uow:
        waiting = [(r.id, r.provider_ref) for r in uow.session.scalars(
            select(ClosurePayout).where(ClosurePayout.status == "pending",
                                        ClosurePayout.provider_ref.is_not(None))
        )]  # fmt: skip
    paid = failed = 0
    for payout_id, provider_ref in waiting:
        assert provider_ref is not None
        status = provider.status(provider_ref)
        if status is None or status.status == "pending":
            continue
        _settle(database, keys, payout_id, paid=status.status == "settled", now=now)
        paid, failed = (paid + 1, failed) if status.status == "settled" else (paid, failed + 1)
    return PayoutReport(submitted=submitted, paid=paid, failed=failed)
