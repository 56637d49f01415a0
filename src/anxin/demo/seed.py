"""Seed demo data once. Running it again finds the demo and changes nothing.

Everything goes through the same services as real traffic: two holders signed up with
encrypted personal data, cards linked with a second factor, top-ups through the simulated
bank, a merchant, a payment with its fee and points, a partial refund, a signed mandate, a
transfer between the holders, the fee schedule, a waiver and the points rule; for the console
and the status page, two staff members, two complaints, a payment request waiting for a
holder and a past incident.

The top-ups need the bank, which is another system: their orders are committed before it
is asked, as in a real top-up, so the seed runs in three units of work. The demo counts as
present once its merchant exists (made in the last one); a seed that stopped half-way is
reported, not patched over.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.apikeys.service import create_key
from anxin.care.sla_policies import ensure_defaults as ensure_sla_defaults
from anxin.demo import holders, staff
from anxin.demo.desk import tell_desk
from anxin.demo.holders import PEOPLE, DemoHolder, Person
from anxin.demo.staff import STAFF, Member
from anxin.demo.story import CURRENCY, MERCHANT, tell
from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.kit.errors import Conflict
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.service import balance_of
from anxin.models import FundingSource, Merchant, PaymentIntent
from anxin.privacy.keys import KeyService
from anxin.settings import Settings
from anxin.wallet import accounts, points, settlement, sources, topup
from anxin.wallet.demo import seed_fees_and_points
from anxin.wallet.funding import SimulatedBankRail

OPERATOR_KEY_FILE = "demo-api-key.txt"
MERCHANT_KEY_FILE = "demo-merchant-key.txt"
DEMO_REQUEST_REFERENCE = "demo-order-1002"


class DemoIncomplete(Conflict):
    code = "demo_incomplete"
    title = "An earlier demo seed stopped half-way"


@dataclass(frozen=True)
class Balance:
    person: Person
    money: int  # posted, minor units of CNY
    points: int


@dataclass(frozen=True)
class DemoSeed:
    created: bool
    people: tuple[Person, ...]
    merchant: str
    balances: list[Balance]
    staff: tuple[Member, ...]
    payment_request: uuid.UUID | None  # the one waiting for 张明, while it is valid
    operator_key_file: Path
    merchant_key_file: Path


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)  # before the secret is in it
    path.write_text(text + "\n")


def _balances(database: Database, keys: KeyService) -> list[Balance]:
    vault = keys.vault()
    found = []
    with UnitOfWork(database, write=False) as uow:
        for person in PEOPLE:
            user = holders.find(uow.session, vault, person.email)
            wallet = accounts.find_wallet_account(uow.session, user.id, CURRENCY) if user else None
            money = balance_of(wallet).posted if wallet is not None else 0
            found.append(
                Balance(person, money, points.balance(uow.session, user.id) if user else 0)
            )
    return found


def _waiting_request(database: Database, clock: Clock) -> uuid.UUID | None:
    with UnitOfWork(database, write=False) as uow:
        found = uow.session.scalars(
            select(PaymentIntent).where(PaymentIntent.reference == DEMO_REQUEST_REFERENCE)
        ).first()
        if found is None or found.status != "requires_confirmation":
            return None
        return found.id if found.expires_at > clock.now() else None


def _link_card(
    session: Session, keys: KeyService, holder: DemoHolder, now: datetime
) -> FundingSource:
    vault, user = keys.vault(), holder.user(session)

    def link(token: str | None) -> FundingSource:
        return sources.link(
            session, vault, user, holder.auth_session_id, kind="card",
            number=holder.person.card, step_up_token=token, now=now,
        )  # fmt: skip

    return holders.stepped(session, vault, holder, now, link)


def _holders_and_topups(
    database: Database, keys: KeyService, settings: Settings, clock: Clock,
    rail: SimulatedBankRail,
) -> list[DemoHolder]:  # fmt: skip
    """The holders, their cards and their top-ups, committed before the bank is asked."""
    vault = keys.vault()
    made: list[DemoHolder] = []
    orders = []
    with UnitOfWork(database) as uow:
        session, now = uow.session, clock.now()
        points.ensure_points_asset(session, now)
        seed_fees_and_points(session, now)
        ensure_sla_defaults(session, now)  # the care desk's PRC calendar and SLA policies
        for person in PEOPLE:
            holder = holders.create(session, vault, settings, person, now)
            card = _link_card(session, keys, holder, now)
            started = topup.start_topup(
                session, vault, holder.user(session), source_id=card.id, amount=person.topup,
                asset=CURRENCY, provider=rail.name, now=now, shown_fee=0,
            )  # fmt: skip
            orders.append((started.order.id, started.instruction))
            made.append(holder)
        uow.commit()
    for order_id, instruction in orders:
        asked = rail.submit(instruction, clock.now())
        settled = rail.settle(asked.provider_ref, clock.now())
        with UnitOfWork(database) as uow:
            done = settlement.apply_status(uow.session, vault, order_id, settled, clock.now())
            if done is None or done.status != "completed":
                raise RuntimeError(f"demo top-up {order_id} did not complete")
            uow.commit()
    return made


def seed_demo(
    database: Database, clock: Clock, settings: Settings, keys: KeyService, home: Path
) -> DemoSeed:
    operator_file, merchant_file = home / OPERATOR_KEY_FILE, home / MERCHANT_KEY_FILE
    vault = keys.vault()
    with UnitOfWork(database, write=False) as uow:
        present = uow.session.scalars(select(Merchant.id).where(Merchant.name == MERCHANT)).first()
        started = holders.find(uow.session, vault, PEOPLE[0].email) is not None
    if present is None and started:
        raise DemoIncomplete(
            "an earlier `anxin demo seed` stopped half-way; start again on an empty database"
        )
    if present is None:
        zhang, alice = _holders_and_topups(database, keys, settings, clock,
                                           SimulatedBankRail(database))  # fmt: skip
        with UnitOfWork(database) as uow:
            now = clock.now()
            story = tell(uow.session, vault, zhang, alice, now)
            agent, approver = (staff.create(uow.session, vault, settings, member, now)
                               for member in STAFF)  # fmt: skip
            tell_desk(
                uow.session,
                vault,
                zhang,
                alice,
                story.merchant,
                agent,
                approver,
                now,
                request_reference=DEMO_REQUEST_REFERENCE,
            )
            operator = create_key(uow.session, name="demo", scopes=["ledger"], now=clock.now())
            uow.commit()
        _write_secret(operator_file, operator.plaintext)
        _write_secret(merchant_file, story.merchant_key)
    return DemoSeed(
        created=present is None, people=PEOPLE, merchant=MERCHANT,
        balances=_balances(database, keys), staff=STAFF,
        payment_request=_waiting_request(database, clock), operator_key_file=operator_file,
        merchant_key_file=merchant_file,
    )  # fmt: skip
