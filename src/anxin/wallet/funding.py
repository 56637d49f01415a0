"""Funding providers: how money gets in from and out to banks.

A provider takes an ``Instruction`` (collect from a card or bank account: a top-up; pay out
to a bank account: a withdrawal), identified by the wallet's order id so that sending it
twice is harmless, and answers later: ``status`` reports ``pending``, ``settled`` or
``failed``. ``settlement_records`` is the provider's statement of what it settled in a
period, the input of reconciliation.

``SimulatedBankRail`` is the default provider and the test double. It keeps the bank's own
books in ``wallet_sim_bank_records`` and commits them in transactions of its own, like an
outside system would: a top-up the wallet forgets about is still "taken at the bank".
Nothing settles until someone settles it (``settle``/``settle_pending``, or
``anxin wallet settle``): settlement is asynchronous by construction. Test numbers: a card
or account ending in ``0002`` is declined at once; one ending in ``0077`` fails at
settlement; any other settles.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy import select

from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import SimulatedBankRecord

Direction = Literal["collection", "payout"]
DECLINE_SUFFIX = "0002"
FAIL_LATER_SUFFIX = "0077"


@dataclass(frozen=True)
class Instruction:
    reference: str  # the wallet's order id: the provider's idempotency key
    direction: Direction
    asset: str
    amount: int
    instrument_kind: str  # card | bank_account
    instrument_number: str
    instrument_masked: str
    customer_ref: str  # who it is for (the holder's id), on the provider's records


@dataclass(frozen=True)
class ProviderStatus:
    provider_ref: str
    reference: str
    status: Literal["pending", "settled", "failed"]
    amount: int
    reason: str | None = None
    settled_at: datetime | None = None


@dataclass(frozen=True)
class SettlementRecord:
    """One line of the provider's settlement statement."""

    provider_ref: str
    reference: str
    direction: Direction
    customer_ref: str | None
    asset: str
    amount: int
    status: Literal["settled", "failed"]
    settled_at: datetime
    reason: str | None = None


class FundingProvider(Protocol):
    name: str

    def submit(self, instruction: Instruction, now: datetime) -> ProviderStatus:
        """Accept an instruction (the same reference twice returns the first answer)."""
        ...

    def status(self, provider_ref: str) -> ProviderStatus | None: ...

    def find(self, direction: Direction, reference: str) -> ProviderStatus | None:
        """What the provider knows of the instruction with this reference, if anything."""
        ...

    def settlement_records(self, since: datetime, until: datetime) -> list[SettlementRecord]:
        """Instructions the provider finished (settled or failed) in [since, until)."""
        ...


def _status(row: SimulatedBankRecord) -> ProviderStatus:
    return ProviderStatus(
        provider_ref=row.provider_ref, reference=row.reference,
        status=row.status,  # type: ignore[arg-type]
        amount=row.amount, reason=row.reason, settled_at=row.settled_at,
    )  # fmt: skip


class SimulatedBankRail:
    """A bank that settles when told to, with its books in the database."""

    name = "simulated"

    def __init__(self, database: Database) -> None:
        self._database = database

    # -- the provider interface -------------------------------------------------------------

    def submit(self, instruction: Instruction, now: datetime) -> ProviderStatus:
        with UnitOfWork(self._database) as uow:
            found = uow.session.scalars(
                select(SimulatedBankRecord).where(
                    SimulatedBankRecord.direction == instruction.direction,
                    SimulatedBankRecord.reference == instruction.reference,
                )
            ).first()
            if found is not None:
                return _status(found)
            declined = instruction.instrument_number.endswith(DECLINE_SUFFIX)
            row = SimulatedBankRecord(
                provider_ref=f"sim_{secrets.token_hex(12)}", direction=instruction.direction,
                reference=instruction.reference, customer_ref=instruction.customer_ref,
                instrument=instruction.instrument_masked, asset=instruction.asset,
                amount=instruction.amount, status="failed" if declined else "pending",
                reason="declined by the bank" if declined else None, created_at=now,
                settled_at=now if declined else None,
            )  # fmt: skip
            uow.session.add(row)
            uow.commit()
            return _status(row)

    def status(self, provider_ref: str) -> ProviderStatus | None:
        with UnitOfWork(self._database, write=False) as uow:
            row = uow.session.get(SimulatedBankRecord, provider_ref)
            return _status(row) if row is not None else None

    def find(self, direction: Direction, reference: str) -> ProviderStatus | None:
        with UnitOfWork(self._database, write=False) as uow:
            row = uow.session.scalars(
                select(SimulatedBankRecord).where(
                    SimulatedBankRecord.direction == direction,
                    SimulatedBankRecord.reference == reference,
                )
            ).first()
            return _status(row) if row is not None else None

    def settlement_records(self, since: datetime, until: datetime) -> list[SettlementRecord]:
        r = SimulatedBankRecord
        with UnitOfWork(self._database, write=False) as uow:
            rows = uow.session.scalars(
                select(r)
                .where(r.status != "pending", r.settled_at >= since, r.settled_at < until)
                .order_by(r.settled_at, r.provider_ref)
            ).all()
            return [
                SettlementRecord(
                    provider_ref=x.provider_ref,
                    reference=x.reference,
                    direction=x.direction,  # type: ignore[arg-type]
                    customer_ref=x.customer_ref,
                    asset=x.asset,
                    amount=x.amount,
                    status=x.status,  # type: ignore[arg-type]
                    settled_at=x.settled_at or until,
                    reason=x.reason,
                )
                for x in rows
            ]

    # -- controls: the bank's side of the world (CLI, demo, tests) ---------------------------

    def settle(
        self, provider_ref: str, now: datetime, *,
        outcome: Literal["settled", "failed"] = "settled", reason: str | None = None,
        amount: int | None = None,
    ) -> ProviderStatus:  # fmt: skip
        """Finish one pending instruction (``amount`` lets the bank settle a different
        amount than asked, as a faulty bank might)."""
        with UnitOfWork(self._database) as uow:
            row = uow.session.get(SimulatedBankRecord, provider_ref)
            if row is None:
                raise LookupError(f"the bank has no record {provider_ref}")
            if row.status != "pending":
                return _status(row)
            row.status, row.settled_at = outcome, now
            row.reason = reason or ("refused by the bank" if outcome == "failed" else None)
            if amount is not None:
                row.amount = amount
            uow.commit()
            return _status(row)

    def settle_pending(
        self, now: datetime, *, fail: Iterable[str] = (), limit: int = 10_000
    ) -> list[ProviderStatus]:
        """Finish every pending instruction: settled, unless its reference or provider
        reference is in ``fail`` or its instrument ends in ``0077``."""
        failing = set(fail)
        with UnitOfWork(self._database, write=False) as uow:
            rows = uow.session.scalars(
                select(SimulatedBankRecord)
                .where(SimulatedBankRecord.status == "pending")
                .order_by(SimulatedBankRecord.created_at)
                .limit(limit)
            ).all()
            pending = [(r.provider_ref, r.reference, r.instrument) for r in rows]
        done = []
        for provider_ref, reference, instrument in pending:
            fails = (
                provider_ref in failing or reference in failing
                or instrument.endswith(FAIL_LATER_SUFFIX)
            )  # fmt: skip
            done.append(self.settle(provider_ref, now, outcome="failed" if fails else "settled"))
        return done

    def record_unmatched(
        self, now: datetime, *, reference: str, amount: int, asset: str = "CNY",
        customer_ref: str | None = None, direction: Direction = "collection",
    ) -> ProviderStatus:  # fmt: skip
        """A settled line the wallet never asked for (a bank error, or an order the wallet
        lost): what reconciliation must catch."""
        with UnitOfWork(self._database) as uow:
            row = SimulatedBankRecord(
                provider_ref=f"sim_{secrets.token_hex(12)}", direction=direction,
                reference=reference, customer_ref=customer_ref, instrument="****",
                asset=asset, amount=amount, status="settled", reason=None, created_at=now,
                settled_at=now,
            )  # fmt: skip
            uow.session.add(row)
            uow.commit()
            return _status(row)

    def reverse(self, provider_ref: str, now: datetime, *, reason: str) -> ProviderStatus:
        """The bank takes back a settlement (a charge-back): it now says ``failed``."""
        with UnitOfWork(self._database) as uow:
            row = uow.session.get(SimulatedBankRecord, provider_ref)
            if row is None:
                raise LookupError(f"the bank has no record {provider_ref}")
            row.status, row.reason, row.settled_at = "failed", reason, now
            uow.commit()
            return _status(row)
