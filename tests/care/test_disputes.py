"""Disputes in the service: only the holder's own completed debits, once each; the
provisional-credit policy; upheld and rejected outcomes through the ledger (a rejected
credit the holder spent is recorded, never forced negative); the ticket and the notices at
each step; ``anxin ledger verify`` after every move."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from anxin.care import dispute_outcomes, disputes
from anxin.care.tickets import message_body
from anxin.kit.db import Database
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, ReverseOp, TransferOp
from anxin.ledger.service import balance_of
from anxin.ledger.verify import verify_ledger
from anxin.models import Notification, Transfer, User
from anxin.models.care import Dispute, Ticket, TicketEvent, TicketLink, TicketMessage
from anxin.privacy.vault import Vault
from anxin.wallet import accounts
from tests.care.conftest import NOW, fund, make_user

POLICY = disputes.DisputePolicy(limits={"CNY": 500_00}, max_recent=2, window_days=90)


def verify(uow: UnitOfWork) -> None:
    uow.session.flush()
    report = verify_ledger(uow.session.connection())
    assert report.ok, report.problems


def pay(uow: UnitOfWork, payer: User, amount: int, now: datetime = NOW, *,
        asset: str = "CNY", pending: bool = False) -> uuid.UUID:  # fmt: skip
    """A debit out of ``payer``'s wallet to a shop's account, as a statement line."""
    shop = accounts.system_account(uow.session, "merchant_settlement:shop", asset, now)
    wallet = accounts.wallet_account(uow.session, payer.id, asset, now)
    op = TransferOp(wallet.id, shop.id, amount, asset, kind="payment", reference=f"p-{amount}",
                    metadata={"counterparty": "Tea*", "category": "shopping"}, pending=pending,
                    timeout_seconds=3600 if pending else None)  # fmt: skip
    [result] = apply_batch(uow.session.connection(), [Command((op,))], now)
    assert result.ok, result.outcomes
    return uuid.UUID(result.outcomes[0]["transfer"]["id"])


def balance(uow: UnitOfWork, user: User, asset: str = "CNY") -> int:
    uow.session.expire_all()
    account = accounts.find_wallet_account(uow.session, user.id, asset)
    assert account is not None
    return balance_of(account).posted


def notices(uow: UnitOfWork, user: User) -> list[str]:
    query = select(Notification.kind).where(Notification.user_id == user.id)
    return list(uow.session.scalars(query.order_by(Notification.created_at, Notification.id)))


def open_(uow: UnitOfWork, vault: Vault, holder: User, transfer_id: uuid.UUID, *,
          now: datetime = NOW, reason: str = "not_me", note: str | None = "not me at all",
          policy: disputes.DisputePolicy = POLICY) -> Dispute:  # fmt: skip
    return disputes.open_dispute(uow.session, vault, holder, transfer_id=transfer_id,
                                 reason=reason, note=note, now=now, policy=policy)  # fmt: skip


def decide(uow: UnitOfWork, vault: Vault, staff: User, dispute: Dispute, outcome: str,
           note: str, later: timedelta) -> dispute_outcomes.Decision:  # fmt: skip
    return dispute_outcomes.decide(uow.session, vault, staff, dispute.id, outcome=outcome,
                                   note=note, now=NOW + later)  # fmt: skip


@pytest.fixture
def people(uow: UnitOfWork, vault: Vault) -> tuple[User, User]:
    holder = make_user(uow.session, vault, NOW)
    staff = make_user(uow.session, vault, NOW, role="senior_agent")
    fund(uow.session, holder.id, 1_000_00, NOW - timedelta(days=1))
    return holder, staff


def test_a_dispute_opens_a_high_priority_linked_ticket_and_credits_provisionally(
    uow: UnitOfWork, vault: Vault, people: tuple[User, User]
) -> None:
    holder, _ = people
    debit = pay(uow, holder, 120_00)
    assert balance(uow, holder) == 880_00
    dispute = open_(uow, vault, holder, debit)
    assert (dispute.status, dispute.amount, dispute.asset) == ("investigating", 120_00, "CNY")
    assert dispute.provisional_transfer_id is not None
    assert balance(uow, holder) == 1_000_00  # the money is back while we investigate
    credit = uow.session.get(Transfer, dispute.provisional_transfer_id)
    assert credit is not None and credit.kind == "dispute_credit"
    assert accounts.owner_of(uow.session, credit.source_id) == "system:compensation"
    ticket = uow.session.get(Ticket, dispute.ticket_id)
    assert ticket is not None
    assert (ticket.category, ticket.priority, ticket.channel) == ("unauthorized_debit", "high",
                                                                  "app")  # fmt: skip
    links = {(x.kind, x.ref) for x in uow.session.scalars(
        select(TicketLink).where(TicketLink.ticket_id == ticket.id))}  # fmt: skip
    assert ("transfer", str(debit)) in links and ("holder", str(holder.id)) in links
    first = uow.session.scalars(
        select(TicketMessage).where(TicketMessage.ticket_id == ticket.id)
        .order_by(TicketMessage.created_at, TicketMessage.author_kind)
    ).all()  # fmt: skip
    bodies = [message_body(uow.session, vault, m) for m in first]
    assert any("not me at all" in b for b in bodies)  # the holder's note, sealed
    assert all(b"not me" not in m.body_enc for m in first)
    assert "dispute.credited" in notices(uow, holder) and "care.received" in notices(uow, holder)
    verify(uow)


def test_only_the_holders_own_completed_debits_can_be_disputed_once(
    uow: UnitOfWork, vault: Vault, people: tuple[User, User]
) -> None:
    holder, _ = people
    other = make_user(uow.session, vault, NOW)
    fund(uow.session, other.id, 50_00, NOW)
    theirs = pay(uow, other, 10_00)
    with pytest.raises(disputes.DebitNotFound):
        open_(uow, vault, holder, theirs)
    with pytest.raises(disputes.DebitNotFound):  # does not exist
        open_(uow, vault, holder, uuid.uuid4())
    incoming = uow.session.scalars(select(Transfer).where(Transfer.kind == "topup")).first()
    assert incoming is not None
    with pytest.raises(disputes.DebitNotFound):  # a credit, not a debit
        open_(uow, vault, holder, incoming.id)
    held = pay(uow, holder, 5_00, pending=True)
    with pytest.raises(disputes.DebitPending):
        open_(uow, vault, holder, held)
    mine = pay(uow, holder, 7_00)
    open_(uow, vault, holder, mine)
    with pytest.raises(disputes.DisputeExists):
        open_(uow, vault, holder, mine)
    with pytest.raises(disputes.InvalidDispute):
        open_(uow, vault, holder, pay(uow, holder, 1_00), reason="bored")
    refunded = pay(uow, holder, 3_00)
    [undo] = apply_batch(uow.session.connection(), [Command((ReverseOp(refunded),))], NOW)
    assert undo.ok
    with pytest.raises(disputes.NothingToDispute):
        open_(uow, vault, holder, refunded)
    verify(uow)


def test_a_posted_hold_is_disputed_for_what_was_posted(
    uow: UnitOfWork, vault: Vault, people: tuple[User, User]
) -> None:
    holder, _ = people
    from anxin.ledger.commands import PostOp

    held = pay(uow, holder, 40_00, pending=True)
    [posted] = apply_batch(uow.session.connection(), [Command((PostOp(held, 30_00),))], NOW)
    assert posted.ok
    dispute = open_(uow, vault, holder, held)
    assert dispute.amount == 30_00
    verify(uow)


@pytest.mark.parametrize(
    ("amount", "earlier", "granted", "why"),
    [
        (500_00, 0, True, None),
        (500_01, 0, False, "over_limit"),
        (10_00, 1, True, None),
        (10_00, 2, False, "too_many_recent_disputes"),
    ],
)
def test_the_policy_limits_provisional_credits_by_amount_and_recent_disputes(
    uow: UnitOfWork, vault: Vault, people: tuple[User, User], amount: int, earlier: int,
    granted: bool, why: str | None,
) -> None:  # fmt: skip
    holder, _ = people
    for i in range(earlier):
        open_(uow, vault, holder, pay(uow, holder, 1_00 + i), now=NOW - timedelta(days=10 + i))
    # A dispute older than the window does not count.
    open_(uow, vault, holder, pay(uow, holder, 2_50), now=NOW - timedelta(days=91))
    dispute = open_(uow, vault, holder, pay(uow, holder, amount))
    assert (dispute.provisional_transfer_id is not None) is granted
    event = uow.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == dispute.ticket_id,
                                  TicketEvent.kind == "dispute_opened")
    ).one()  # fmt: skip
    assert event.data["no_credit_reason"] == why
    verify(uow)


def test_an_asset_without_a_limit_gets_no_provisional_credit(
    uow: UnitOfWork, vault: Vault, people: tuple[User, User]
) -> None:
    holder, _ = people
    fund(uow.session, holder.id, 100_00, NOW, asset="USD")
    dispute = open_(uow, vault, holder, pay(uow, holder, 5_00, asset="USD"))
    assert dispute.provisional_transfer_id is None
    verify(uow)


def test_upheld_makes_the_provisional_credit_final(
    uow: UnitOfWork, vault: Vault, people: tuple[User, User]
) -> None:
    holder, staff = people
    dispute = open_(uow, vault, holder, pay(uow, holder, 60_00))
    made = decide(uow, vault, staff, dispute, "upheld", "card testing pattern", timedelta(days=2))
    assert (made.credited, made.reversed, made.unrecovered) == (0, 0, 0)
    assert dispute.status == "upheld" and dispute.decided_by == staff.id
    assert balance(uow, holder) == 1_000_00
    ticket = uow.session.get(Ticket, dispute.ticket_id)
    assert ticket is not None and ticket.status == "resolved"
    assert ticket.first_response_at is not None
    assert "care.reply" in notices(uow, holder)
    with pytest.raises(dispute_outcomes.DisputeDecided):
        decide(uow, vault, staff, dispute, "rejected", "changed my mind", timedelta(days=3))
    verify(uow)


def test_upheld_without_a_provisional_credit_credits_now(
    uow: UnitOfWork, vault: Vault, people: tuple[User, User]
) -> None:
    holder, staff = people
    dispute = open_(uow, vault, holder, pay(uow, holder, 600_00))  # over the limit
    assert dispute.provisional_transfer_id is None and balance(uow, holder) == 400_00
    made = decide(uow, vault, staff, dispute, "upheld", "confirmed fraud", timedelta(days=1))
    assert made.credited == 600_00 and dispute.outcome_transfer_id is not None
    assert balance(uow, holder) == 1_000_00
    assert notices(uow, holder).count("dispute.credited") == 1
    verify(uow)


def test_rejected_reverses_the_provisional_credit(
    uow: UnitOfWork, vault: Vault, people: tuple[User, User]
) -> None:
    holder, staff = people
    dispute = open_(uow, vault, holder, pay(uow, holder, 80_00))
    made = decide(uow, vault, staff, dispute, "rejected", "device and PIN match", timedelta(days=1))
    assert (made.reversed, made.unrecovered) == (80_00, 0)
    assert balance(uow, holder) == 920_00
    reversal = uow.session.get(Transfer, dispute.outcome_transfer_id)
    assert reversal is not None and reversal.action == "reverse"
    assert reversal.reverses_id == dispute.provisional_transfer_id  # a reversal, not an edit
    assert "dispute.reversed" in notices(uow, holder)
    verify(uow)


def test_rejected_after_the_holder_spent_the_credit_records_what_could_not_be_recovered(
    uow: UnitOfWork, vault: Vault, people: tuple[User, User]
) -> None:
    holder, staff = people
    dispute = open_(uow, vault, holder, pay(uow, holder, 300_00))
    assert balance(uow, holder) == 1_000_00
    pay(uow, holder, 900_00)  # spent most of it
    made = decide(
        uow, vault, staff, dispute, "rejected", "merchant proved delivery", timedelta(days=1)
    )
    assert (made.reversed, made.unrecovered) == (100_00, 200_00)
    assert dispute.unrecovered_amount == 200_00
    assert balance(uow, holder) == 0  # never negative
    notes = uow.session.scalars(
        select(TicketMessage).where(TicketMessage.ticket_id == dispute.ticket_id,
                                    TicketMessage.visibility == "internal")
    ).all()  # fmt: skip
    assert any("NOT recovered: 200.00 CNY" in message_body(uow.session, vault, m) for m in notes)
    verify(uow)


def test_a_rejected_dispute_without_a_credit_moves_nothing(
    uow: UnitOfWork, vault: Vault, people: tuple[User, User]
) -> None:
    holder, staff = people
    dispute = open_(uow, vault, holder, pay(uow, holder, 700_00))
    made = decide(uow, vault, staff, dispute, "rejected", "signed receipt", timedelta(days=1))
    assert (made.reversed, made.unrecovered, made.credited) == (0, 0, 0)
    assert balance(uow, holder) == 300_00
    with pytest.raises(dispute_outcomes.InvalidDecision):
        dispute_outcomes.decide(uow.session, vault, staff, dispute.id, outcome="maybe",
                                note="x", now=NOW)  # fmt: skip
    verify(uow)


def test_disputes_on_both_databases_commit_and_verify(database: Database, vault: Vault) -> None:
    """The whole path in committed units of work, as the endpoints run it."""
    with UnitOfWork(database) as uow:
        holder = make_user(uow.session, vault, NOW)
        staff = make_user(uow.session, vault, NOW, role="risk_officer")
        fund(uow.session, holder.id, 100_00, NOW)
        debit = pay(uow, holder, 25_00)
        uow.commit()
    with UnitOfWork(database) as uow:
        holder_row = uow.session.get(User, holder.id)
        assert holder_row is not None
        dispute_id = open_(uow, vault, holder_row, debit).id
        uow.commit()
    with UnitOfWork(database) as uow:
        staff_row = uow.session.get(User, staff.id)
        assert staff_row is not None
        dispute_outcomes.decide(uow.session, vault, staff_row, dispute_id, outcome="rejected",
                                note="ok", now=NOW + timedelta(hours=5))  # fmt: skip
        uow.commit()
    with database.connect(write=False) as connection:
        report = verify_ledger(connection)
    assert report.ok, report.problems


def test_a_frozen_wallet_gets_no_credit_and_a_rejection_records_it_all_as_unrecovered(
    uow: UnitOfWork, vault: Vault, people: tuple[User, User]
) -> None:
    from anxin.wallet import freeze

    holder, staff = people
    first_debit, second_debit = pay(uow, holder, 40_00), pay(uow, holder, 20_00)
    first = open_(uow, vault, holder, first_debit)
    assert first.provisional_transfer_id is not None
    risk = make_user(uow.session, vault, NOW, role="risk_officer")
    freeze.freeze(uow.session, vault, risk, holder, scope="all", reason_code="legal_order",
                  note="court order 17", now=NOW)  # fmt: skip
    second = open_(uow, vault, holder, second_debit)  # filed all the same
    assert second.provisional_transfer_id is None
    event = uow.session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == second.ticket_id,
                                  TicketEvent.kind == "dispute_opened")
    ).one()  # fmt: skip
    assert event.data["no_credit_reason"] == "wallet_cannot_receive"
    made = decide(uow, vault, staff, first, "rejected", "not fraud", timedelta(days=1))
    assert (made.reversed, made.unrecovered) == (0, 40_00)
    assert first.unrecovered_amount == 40_00
    verify(uow)
