"""Closing a holder's account: erase the personal data, keep the money's history.

Closing needs the password and, when the holder has a second factor, step-up for exactly
this closure. Nothing may be in flight (a freeze, a pending top-up or withdrawal, a held
amount); balances must be zero, or the holder names a linked bank account, and what is left
moves to the operator's ``closure_payouts`` account to be paid out there.

Then, in one transaction: the ledger accounts are closed; their owner, ``user:<id>``,
becomes a pseudonym (below); contacts go, and with them the blind indexes, so the phone
number or email can sign up again; sessions end; devices, factors, trusted payees and the
inbox are deleted; cards are marked removed with their blind index scrambled; and the
holder's data key is destroyed (``Vault.shred``), which makes every field still encrypted
under it (name, identity verification submissions, old messages) unrecoverable. A goodbye
message goes out encrypted under a key of its own, destroyed once it is sent.

The pseudonym: ledger accounts keep ``closed:<HMAC(user id)>``, keyed with a key derived
from the blind-index root key (outside the database). Ledger data travels furthest (the
operator API, reconciliation files, auditors' extracts); with a pseudonym there, none of it
can be joined to the user id that the audit log, support tickets or the bank's records
carry, yet the operator, holding the key, can still answer a lawful request about the
account during the retention period (a random pseudonym could not). After
``ANXIN_CLOSURE_RETENTION_DAYS`` the purge replaces it with a random value: anonymous.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.identity import contacts as book
from anxin.identity import sessions
from anxin.identity.passwords import PasswordHasher
from anxin.identity.service import InvalidCredentials
from anxin.identity.throttle import Rejected
from anxin.kit.errors import Conflict
from anxin.kit.ids import new_id
from anxin.ledger import service as ledger
from anxin.ledger.commands import TransferOp
from anxin.models import (
    Account,
    Challenge,
    Contact,
    Device,
    ExemptionLedger,
    FundingOrder,
    FundingSource,
    Notification,
    OneTimeCode,
    Passkey,
    RecoveryCode,
    TotpFactor,
    TrustedPayee,
    User,
    WalletAccount,
)
from anxin.models import Session as AuthSession
from anxin.models.rights import Closure, ClosurePayout
from anxin.models.wallet_money import Freeze
from anxin.privacy import notices
from anxin.privacy.vault import Vault
from anxin.settings import Settings
from anxin.wallet import accounts as wallet_accounts
from anxin.wallet import moves, notify, sources

CLOSED_PREFIX, ERASED_PREFIX = "closed:", "erased:"
PAYOUT_ACCOUNT = "closure_payouts"
_PAYOUT_TABLE = "privacy_closure_payouts"


class BalanceNotZero(Conflict):
    code = "balance_not_zero"
    title = "Name a bank account for the remaining balance, or spend it first"


class ClosureBlocked(Conflict):
    code = "closure_blocked"
    title = "Something is still in progress on this account"


def closed_owner_ref(vault: Vault, user_id: uuid.UUID) -> str:
    return CLOSED_PREFIX + vault.blind_index("ledger_accounts.owner_ref", user_id.hex)[:40]


@dataclass(frozen=True)
class Payout:
    asset: str
    amount: int
    destination: str
    destination_local: str  # in the holder's language, for the goodbye message


@dataclass(frozen=True)
class Closed:
    closure: Closure
    payouts: list[Payout]


def _blockers(session: Session, user_id: uuid.UUID, owned: list[Account]) -> list[str]:
    problems = []
    if session.scalar(select(Freeze.id).where(Freeze.user_id == user_id,
                                              Freeze.status == "active")):  # fmt: skip
        problems.append("the wallet is frozen")
    if session.scalar(select(FundingOrder.id).where(
        FundingOrder.user_id == user_id, FundingOrder.status.in_(("pending", "blocked"))
    )):  # fmt: skip
        problems.append("a top-up or withdrawal is not finished")
    if any(a.debits_pending or a.credits_pending for a in owned):
        problems.append("an amount is held (a payment or withdrawal in progress)")
    return problems


def _pay_out(
    session: Session, vault: Vault, user: User, owned: list[Account],
    source_id: uuid.UUID | None, now: datetime,
) -> list[Payout]:  # fmt: skip
    left = [(a, ledger.balance_of(a).posted) for a in owned if ledger.balance_of(a).posted]
    if not left:
        return []
    if source_id is None:
        amounts = {a.asset: posted for a, posted in left}
        raise BalanceNotZero(f"balances left: {amounts}", balances=amounts)
    destination = sources.get(session, user.id, source_id)
    if destination.kind != "bank_account":
        raise sources.InvalidNumber("payouts go to a bank account, not a card",
                                    code="not_a_bank_account")  # fmt: skip
    number = sources.reveal(session, vault, destination)
    ops, rows = [], []
    for account, amount in left:
        payout_id = new_id()
        # The number outlives the holder's key: it gets a key of its own, destroyed once paid.
        vault.create_data_key(session, payout_id, now)
        sealed = vault.encrypt(session, payout_id, table=_PAYOUT_TABLE, column="destination_enc",
                               row_id=payout_id, plaintext=number)  # fmt: skip
        target = wallet_accounts.system_account(session, PAYOUT_ACCOUNT, account.asset, now)
        ops.append(
            TransferOp(
                account.id, target.id, amount, account.asset, kind="closure_payout",
                reference=str(payout_id),
                metadata={"category": "account_closure",
                          "counterparty": sources.describe(destination)},
            )
        )  # fmt: skip
        rows.append(ClosurePayout(
            id=payout_id, user_id=user.id, asset=account.asset, amount=amount,
            transfer_id=payout_id, destination_enc=sealed, destination_masked=destination.masked,
            status="pending", provider_ref=None, settled_transfer_id=None, created_at=now,
            settled_at=None,
        ))  # fmt: skip
    for row, transfer_id in zip(rows, moves.apply_linked(session, ops, now), strict=True):
        row.transfer_id = transfer_id
        session.add(row)
    for account in owned:
        session.expire(account)  # the ledger wrote its counters below the ORM
    named = sources.describe(destination), sources.describe(destination, user.locale)
    return [Payout(r.asset, r.amount, *named) for r in rows]


def _goodbye(session: Session, vault: Vault, user: User, payouts: list[Payout],
             retain_until: datetime, now: datetime) -> uuid.UUID | None:  # fmt: skip
    if not book.contacts_of(session, user.id, verified=True):
        return None
    owner = new_id()
    vault.create_data_key(session, owner, now)
    title, body = notices.text("privacy.account_closed", user.locale)
    payout = ""
    if payouts:
        amounts = ", ".join(notify.money(session, p.amount, p.asset) for p in payouts)
        payout = notices.text("privacy.account_closed.payout", user.locale)[1].format(
            amounts=amounts, destination=payouts[0].destination_local
        )
    text = body.format(date=now.date().isoformat(), retain_until=retain_until.date().isoformat(),
                       payout=payout)  # fmt: skip
    notices.deliver(session, vault, user, kind="privacy.account_closed", title=title, body=text,
                    now=now, in_app=False, sealed_by=owner)  # fmt: skip
    return owner


def _cancel_mandates(session: Session, vault: Vault, user: User, now: datetime) -> None:
    """Merchants learn (by webhook) that they can no longer debit a closed account."""
    from anxin.models import Mandate
    from anxin.wallet import mandates

    for mandate in session.scalars(
        select(Mandate).where(Mandate.holder_id == user.id, Mandate.status != "cancelled")
    ):
        mandates.cancel_by_holder(session, vault, user, mandate, now)


def _erase_identity(session: Session, hasher: PasswordHasher, user: User, now: datetime) -> None:
    uid = user.id
    sessions.revoke_all(session, uid, now)
    session.execute(update(AuthSession).where(AuthSession.user_id == uid)
                    .values(user_agent=None, device_id=None))  # fmt: skip
    session.execute(delete(OneTimeCode).where(OneTimeCode.user_id == uid))
    for model in (Contact, Device, TotpFactor, RecoveryCode, Passkey, Challenge, TrustedPayee,
                  ExemptionLedger, Notification):  # fmt: skip
        session.execute(delete(model).where(model.user_id == uid))
    for card in session.scalars(select(FundingSource).where(FundingSource.user_id == uid)):
        card.status, card.removed_at = "removed", card.removed_at or now
        card.lookup, card.masked = secrets.token_hex(32), "erased"
    user.status, user.display_name_enc, user.daily_limit = "closed", None, None
    user.password_hash, user.locked_until, user.updated_at = hasher.unusable(), None, now


def close_account(
    session: Session, vault: Vault, settings: Settings, *, user: User, hasher: PasswordHasher,
    auth_session_id: uuid.UUID, password: str, step_up_token: str | None,
    payout_source_id: uuid.UUID | None, now: datetime,
) -> Closed:  # fmt: skip
    from anxin.identity.factors import enrolled_methods
    from anxin.identity.stepup import require_step_up

    if not hasher.verify(user.password_hash, password):
        user.failed_passwords += 1
        raise Rejected(InvalidCredentials("the password is not right", code="invalid_password"),
                       commit=True, password_failed=True)  # fmt: skip
    if enrolled_methods(session, user.id):
        action = {
            "type": "close_account",
            "payout_source_id": str(payout_source_id) if payout_source_id else None,
        }
        require_step_up(session, user, auth_session_id, action=action,
                        step_up_token=step_up_token, now=now)  # fmt: skip
    owner = wallet_accounts.holder_owner(user.id)
    owned = list(session.scalars(
        select(Account).where(Account.owner_ref == owner).order_by(Account.asset).with_for_update()
    ))  # fmt: skip
    problems = _blockers(session, user.id, owned)
    if problems:
        raise ClosureBlocked("; ".join(problems) + "; close the account once it is done",
                             problems=problems)  # fmt: skip
    payouts = _pay_out(session, vault, user, owned, payout_source_id, now)
    pseudonym = closed_owner_ref(vault, user.id)
    for account in owned:
        if account.status != "closed":
            ledger.close_account(session, account.id, reason="holder closed the account", now=now)
        account.owner_ref = pseudonym
    session.execute(update(WalletAccount).where(WalletAccount.owner == owner)
                    .values(owner=pseudonym, user_id=None))  # fmt: skip
    _cancel_mandates(session, vault, user, now)
    retain_until = now + timedelta(days=settings.closure_retention_days)
    notice_owner = _goodbye(session, vault, user, payouts, retain_until, now)
    _erase_identity(session, hasher, user, now)
    if session.get_bind().dialect.name == "sqlite":
        # Freed space is zeroed, so the destroyed key's bytes do not linger in the file.
        session.connection().exec_driver_sql("PRAGMA secure_delete = ON")
    vault.shred(session, user.id, now)
    closure = Closure(
        user_id=user.id, closed_at=now, retain_until=retain_until, notice_owner_id=notice_owner,
        notice_shredded_at=None, purged_at=None,
    )  # fmt: skip
    session.add(closure)
    audit.append(
        session, event="privacy.account_closed", actor_id=user.id, actor_role=None,
        subject_id=user.id,
        data={"accounts": len(owned), "payouts": [{"asset": p.asset, "amount": p.amount}
                                                   for p in payouts],
              "retain_until": retain_until},
        now=now,
    )  # fmt: skip
    session.flush()
    return Closed(closure, payouts)


# -- after the closure ----------------------------------------------------------------------


def shred_sent_notices(session: Session, vault: Vault, now: datetime, *,
                       grace: timedelta = timedelta(days=7)) -> int:  # fmt: skip
    """Destroy goodbye-message keys once the message is out (or after ``grace``)."""
    from anxin.models import OutboxMessage

    done = 0
    rows = session.scalars(select(Closure).where(Closure.notice_owner_id.is_not(None),
                                                 Closure.notice_shredded_at.is_(None)))  # fmt: skip
    for closure in rows:
        owner = closure.notice_owner_id
        unsent = session.scalar(select(OutboxMessage.id).where(
            OutboxMessage.owner_id == owner, OutboxMessage.sent_at.is_(None),
            OutboxMessage.attempts < 12))  # fmt: skip
        if unsent is None or closure.closed_at + grace <= now:
            assert owner is not None
            vault.shred(session, owner, now)
            closure.notice_shredded_at = now
            done += 1
    session.flush()
    return done


def purge_expired(session: Session, vault: Vault, now: datetime, *, limit: int = 500) -> int:
    """After the retention period: the pseudonym (re-derived with the key) becomes a random
    value, so the ledger records are anonymous, and the closed holder's access log goes."""
    from anxin.models.insider import AccessLogEntry

    rows = list(session.scalars(
        select(Closure).where(Closure.purged_at.is_(None), Closure.retain_until <= now)
        .limit(limit).with_for_update(skip_locked=True)
    ))  # fmt: skip
    for closure in rows:
        pseudonym = closed_owner_ref(vault, closure.user_id)
        anonymous = ERASED_PREFIX + secrets.token_hex(20)
        accounts = session.execute(update(Account).where(Account.owner_ref == pseudonym)
                                   .values(owner_ref=anonymous))  # fmt: skip
        session.execute(update(WalletAccount).where(WalletAccount.owner == pseudonym)
                        .values(owner=anonymous))  # fmt: skip
        session.execute(delete(AccessLogEntry).where(AccessLogEntry.holder_id == closure.user_id))
        closure.purged_at = now
        audit.append(
            session, event="privacy.closure_purged", actor_id=None, actor_role=None,
            subject_id=closure.user_id,
            data={"accounts": int(getattr(accounts, "rowcount", 0) or 0)}, now=now,
        )  # fmt: skip
    session.flush()
    return len(rows)
