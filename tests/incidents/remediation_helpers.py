"""Shared pieces of the remediation tests: an incident with affected holders whose facts
name real ledger debits, staff of each role, and checks on the ledger afterwards."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.incidents.service import open_incident
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, TransferOp
from anxin.ledger.service import balance_of
from anxin.ledger.verify import verify_ledger
from anxin.models import Transfer, User
from anxin.models.incidents import AffectedHolder, Incident
from anxin.privacy.vault import Vault
from anxin.wallet import accounts
from tests.wallet import conftest as wallet

settings = wallet.settings
vault = wallet.vault
uow = wallet.uow
make_user = wallet.make_user
fund = wallet.fund

NOW = datetime(2030, 3, 4, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Beijing
SHOP = "merchant_settlement:shop"


def debit(session: Session, holder: User, amount: int, *, asset: str = "CNY",
          now: datetime = NOW - timedelta(days=1)) -> uuid.UUID:  # fmt: skip
    """A payment out of ``holder``'s wallet to a shop, as the incident took it."""
    shop = accounts.system_account(session, SHOP, asset, now)
    wallet_account = accounts.wallet_account(session, holder.id, asset, now)
    op = TransferOp(wallet_account.id, shop.id, amount, asset, kind="payment", reference="shop")
    [result] = apply_batch(session.connection(), [Command((op,))], now)
    assert result.ok, result.outcomes
    return uuid.UUID(result.outcomes[0]["transfer"]["id"])


def affect(session: Session, incident: Incident, holder: User, facts: dict[str, Any]) -> None:
    session.add(AffectedHolder(incident_id=incident.id, holder_id=holder.id, source="query",
                               facts=facts, added_at=NOW, notified_at=None,
                               resolution_notified_at=None))  # fmt: skip
    session.flush()


def balance(session: Session, holder: User, asset: str = "CNY") -> int:
    session.expire_all()
    account = accounts.find_wallet_account(session, holder.id, asset)
    return 0 if account is None else balance_of(account).posted


def verify(session: Session) -> None:
    session.flush()
    report = verify_ledger(session.connection())
    assert report.ok, report.problems


def incident_transfers(session: Session, reference: str) -> int:
    query = select(func.count()).where(Transfer.reference.like(f"{reference}:%"))
    return int(session.scalar(query) or 0)


@dataclass
class World:
    incident: Incident
    preparer: User  # senior agent: prepares only
    approver: User  # risk officer: prepares and approves
    admin: User  # approves only
    agent: User  # neither
    holders: list[User] = field(default_factory=list)
    debits: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # holder -> transfer


def make_world(session: Session, vault: Vault, holders: int = 3,
               amount: int = 25_00) -> World:  # fmt: skip
    incident = open_incident(session, title="Shop charged twice", now=NOW - timedelta(hours=2))
    staff = {role: make_user(session, vault, NOW, role=role)
             for role in ("senior_agent", "risk_officer", "admin", "agent")}  # fmt: skip
    world = World(incident, staff["senior_agent"], staff["risk_officer"], staff["admin"],
                  staff["agent"])  # fmt: skip
    for _ in range(holders):
        holder = make_user(session, vault, NOW)
        fund(session, holder.id, 100_00, NOW - timedelta(days=2))
        transfer_id = debit(session, holder, amount)
        affect(session, incident, holder, {"transfers": [{"id": str(transfer_id),
                                                          "amount": amount}]})  # fmt: skip
        world.holders.append(holder)
        world.debits[holder.id] = transfer_id
    return world


@pytest.fixture
def world(uow: UnitOfWork, vault: Vault) -> World:
    made = make_world(uow.session, vault)
    uow.commit()
    return made


def reload(database: Database, model: Any, key: Any) -> Any:
    with UnitOfWork(database, write=False) as unit:
        found = unit.session.get(model, key)
        unit.session.expunge_all()
        return found
