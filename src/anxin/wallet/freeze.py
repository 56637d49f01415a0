"""Freezing a holder's wallet: risk or compliance staff, a reason from a fixed list, a note.

``all`` stops every movement: the holder's ledger accounts are frozen in the ledger itself,
so no code path can move their money. ``outgoing`` stops money leaving (payments,
transfers, withdrawals; every wallet operation checks ``ensure_can_send``) while money may
still come in. The holder is notified at once, on every channel, with a plain-language
explanation, what to do next and the review deadline, and can appeal. Lifting a freeze is
recorded the same way. There is no silent path: the notice is written in the same
transaction as the freeze.
"""

# Chinese texts use full-width punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.kit.errors import Conflict, Forbidden, NotFound, Unprocessable
from anxin.kit.ids import new_id
from anxin.ledger import service as ledger
from anxin.models import Freeze, FreezeAppeal, User
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, messages, notify, staff_log

SCOPES = ("all", "outgoing")


@dataclass(frozen=True)
class Reason:
    review_days: int
    # (zh-CN, en): what happened, and what the holder can do about it.
    explanation: tuple[str, str]
    next_steps: tuple[str, str]


REASONS: dict[str, Reason] = {
    "suspected_fraud": Reason(
        7,
        ("我们发现您的钱包有可疑交易，为保护您的资金暂时冻结。",
         "We saw transactions on your wallet that look like fraud, so we froze it to protect "
         "your money."),
        ("请确认近期交易是否为您本人操作，如有疑问请通过申诉告诉我们。",
         "Check your recent transactions; if any were not you, tell us in an appeal."),
    ),
    "account_takeover": Reason(
        3,
        ("您的账户可能被他人登录，为防止资金损失暂时冻结。",
         "Someone else may have signed in to your account, so we froze the wallet to stop any "
         "loss."),
        ("请立即修改密码并检查二次验证设置，然后提交申诉以便我们尽快解冻。",
         "Change your password and check your second factors now, then appeal so we can "
         "unfreeze it quickly."),
    ),
    "aml_review": Reason(
        14,
        ("根据反洗钱规定，我们需要对部分交易进行核查。",
         "Anti-money-laundering rules require us to review some of your transactions."),
        ("请留意我们的消息，按要求说明资金来源或交易用途。",
         "Watch for our messages and, when asked, explain where the money came from or what "
         "it was for."),
    ),
    "sanctions_screening": Reason(
        14,
        ("您的账户需要进行制裁名单核查。",
         "Your account has to be checked against sanctions lists."),
        ("无需操作；如需补充资料我们会联系您。",
         "You need not do anything; we will contact you if we need more information."),
    ),
    "kyc_documents_required": Reason(
        30,
        ("我们需要您补充或更新身份证明材料。",
         "We need you to provide or update your identity documents."),
        ("请在应用的“身份认证”中提交所需材料。",
         "Submit the documents under Identity verification in the app."),
    ),
    "legal_order": Reason(
        30,
        ("根据有权机关的法律文书，您的钱包被冻结。",
         "A legal order from a competent authority requires us to freeze your wallet."),
        ("如有疑问请通过申诉联系我们，我们会告知可以公开的信息。",
         "If you have questions, appeal and we will tell you what we are allowed to."),
    ),
    "holder_request": Reason(
        30,
        ("应您的要求，钱包已冻结。", "Your wallet is frozen because you asked us to."),
        ("如需解冻，请通过申诉联系我们并完成身份核实。",
         "To unfreeze it, appeal and confirm your identity."),
    ),
}  # fmt: skip


class WalletFrozen(Forbidden):
    code = "wallet_frozen"
    title = "This wallet is frozen"


class FreezeNotFound(NotFound):
    code = "freeze_not_found"
    title = "No such freeze"


class InvalidFreeze(Unprocessable):
    code = "invalid_freeze"
    title = "The freeze is not valid"


def _lang(locale: str) -> int:
    return 0 if locale.startswith("zh") else 1


def explain(row: Freeze, locale: str) -> dict[str, str]:
    """What the holder is told: what happened, what to do, by when we review."""
    reason = REASONS[row.reason_code]
    i = _lang(locale)
    return {
        "explanation": reason.explanation[i],
        "next_steps": reason.next_steps[i],
        "scope_text": messages.word(f"scope_{row.scope}", locale),
        "review_by": f"{row.review_by:%Y-%m-%d}",
    }


def active_freezes(session: Session, user_id: uuid.UUID) -> list[Freeze]:
    query = (
        select(Freeze)
        .where(Freeze.user_id == user_id, Freeze.status == "active")
        .order_by(Freeze.created_at)
    )
    return list(session.scalars(query))


def _refuse(row: Freeze, locale: str) -> WalletFrozen:
    told = explain(row, locale)
    return WalletFrozen(
        f"{told['explanation']} {told['next_steps']}", freeze_id=str(row.id), scope=row.scope,
        reason_code=row.reason_code, review_by=row.review_by.isoformat(),
    )  # fmt: skip


def ensure_can_send(session: Session, user: User) -> None:
    """Refuse money leaving the holder's wallet while any freeze is active."""
    found = active_freezes(session, user.id)
    if found:
        raise _refuse(found[0], user.locale)


def ensure_can_receive(session: Session, user: User) -> None:
    """Refuse money coming in while a freeze of all movement is active."""
    for row in active_freezes(session, user.id):
        if row.scope == "all":
            raise _refuse(row, user.locale)


def _set_ledger_frozen(session: Session, user_id: uuid.UUID, frozen: bool, now: datetime) -> None:
    for account in accounts.wallet_accounts_of(session, user_id):
        if frozen and account.status == "active":
            ledger.freeze_account(session, account.id, reason="wallet frozen", now=now)
        elif not frozen and account.status == "frozen":
            ledger.unfreeze_account(session, account.id, reason="wallet unfrozen", now=now)


def _seal(session: Session, vault: Vault, holder_id: uuid.UUID, freeze_id: uuid.UUID,
          column: str, text: str) -> bytes:  # fmt: skip
    return vault.encrypt(
        session, holder_id, table="wallet_freezes", column=column, row_id=freeze_id,
        plaintext=text,
    )  # fmt: skip


def staff_notes(session: Session, vault: Vault, row: Freeze) -> tuple[str, str | None]:
    """The freeze's note and lift note, for staff (reading them is access-logged)."""

    def open_(column: str, sealed: bytes | None) -> str | None:
        if sealed is None:
            return None
        return vault.decrypt(
            session, row.user_id, table="wallet_freezes", column=column, row_id=row.id,
            ciphertext=sealed,
        )  # fmt: skip

    return open_("note_enc", row.note_enc) or "", open_("lift_note_enc", row.lift_note_enc)


def freeze(
    session: Session, vault: Vault, staff: User, holder: User, *, scope: str,
    reason_code: str, note: str, now: datetime, review_days: int | None = None,
) -> Freeze:  # fmt: skip
    if scope not in SCOPES:
        raise InvalidFreeze(f"scope is one of {', '.join(SCOPES)}")
    if reason_code not in REASONS:
        raise InvalidFreeze(
            f"reason_code is one of {', '.join(REASONS)}", code="unknown_reason_code"
        )
    if not note.strip():
        raise InvalidFreeze("write a note saying what you saw", code="note_required")
    days = review_days if review_days is not None else REASONS[reason_code].review_days
    # Operations in flight for this holder finish first; later ones see the freeze.
    accounts.lock_holder(session, holder.id)
    if not 1 <= days <= 90:
        raise InvalidFreeze("the review deadline is 1 to 90 days away")
    freeze_id = new_id()
    row = Freeze(
        id=freeze_id, user_id=holder.id, scope=scope, reason_code=reason_code,
        note_enc=_seal(session, vault, holder.id, freeze_id, "note_enc", note.strip()),
        review_by=now + timedelta(days=days), status="active", created_by=staff.id,
        created_at=now, lifted_by=None, lifted_at=None, lift_note_enc=None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    if scope == "all":
        _set_ledger_frozen(session, holder.id, True, now)
    told = explain(row, holder.locale)
    notify.security_event(
        session, vault, holder, "wallet.frozen", now=now,
        data={"freeze_id": str(row.id), "scope": scope, "reason_code": reason_code,
              "review_by": row.review_by.isoformat(), **told},
        **told,
    )  # fmt: skip
    staff_log.record(
        session, staff=staff, holder_id=holder.id, event="wallet.freeze", action="freeze",
        data={"freeze_id": str(row.id), "scope": scope, "reason_code": reason_code},
        purpose={"reason_code": reason_code}, now=now,
    )  # fmt: skip
    return row


def get_freeze(session: Session, user_id: uuid.UUID, freeze_id: uuid.UUID) -> Freeze:
    row = session.get(Freeze, freeze_id)
    if row is None or row.user_id != user_id:
        raise FreezeNotFound()
    return row


def lift(
    session: Session, vault: Vault, staff: User, holder: User, freeze_id: uuid.UUID, *,
    note: str, now: datetime,
) -> Freeze:  # fmt: skip
    row = get_freeze(session, holder.id, freeze_id)
    if row.status != "active":
        raise Conflict("this freeze was already lifted", code="freeze_not_active")
    if not note.strip():
        raise InvalidFreeze("write a note saying why the freeze ends", code="note_required")
    row.status, row.lifted_by, row.lifted_at = "lifted", staff.id, now
    row.lift_note_enc = _seal(session, vault, holder.id, row.id, "lift_note_enc", note.strip())
    session.flush()
    still_all = any(f.scope == "all" for f in active_freezes(session, holder.id))
    if row.scope == "all" and not still_all:
        _set_ledger_frozen(session, holder.id, False, now)
    for appeal in session.scalars(
        select(FreezeAppeal).where(FreezeAppeal.freeze_id == row.id, FreezeAppeal.status == "open")
    ):
        appeal.status = "closed"
    notify.security_event(
        session, vault, holder, "wallet.unfrozen", now=now, data={"freeze_id": str(row.id)}
    )
    staff_log.record(
        session, staff=staff, holder_id=holder.id, event="wallet.unfreeze", action="unfreeze",
        data={"freeze_id": str(row.id), "scope": row.scope, "reason_code": row.reason_code},
        purpose={"reason_code": row.reason_code}, now=now,
    )  # fmt: skip
    if not still_all:
        # Money the bank settled while nothing could move is credited (or debited) now.
        from anxin.wallet.settlement import release_blocked

        release_blocked(session, vault, holder, now)
    return row


def appeal(
    session: Session, vault: Vault, holder: User, freeze_id: uuid.UUID, *, message: str,
    now: datetime,
) -> FreezeAppeal:  # fmt: skip
    """Record the holder's appeal; it is carried by a care ticket (``funds_frozen``, linked
    to the freeze), so it is answered on the SLA clock like any complaint."""
    row = get_freeze(session, holder.id, freeze_id)
    if row.status != "active":
        raise Conflict("this freeze was already lifted", code="freeze_not_active")
    text = message.strip()
    if not text:
        raise InvalidFreeze("say why the freeze should be lifted", code="message_required")
    appeal_id = new_id()
    sealed = vault.encrypt(
        session, holder.id, table="wallet_freeze_appeals", column="message_enc",
        row_id=appeal_id, plaintext=text,
    )  # fmt: skip
    found = FreezeAppeal(
        id=appeal_id, freeze_id=row.id, user_id=holder.id, message_enc=sealed, status="open",
        care_ticket_id=None, created_at=now,
    )  # fmt: skip
    session.add(found)
    session.flush()
    # Imported here: the care desk builds on the wallet, not the other way round.
    from anxin.care.appeals import ticket_for_appeal

    found.care_ticket_id = ticket_for_appeal(session, vault, holder, row, text, now).id
    session.flush()
    notify.security_event(
        session, vault, holder, "wallet.appeal_received", now=now,
        data={"freeze_id": str(row.id), "appeal_id": str(appeal_id)},
    )  # fmt: skip
    return found


def appeals_of(session: Session, freeze_id: uuid.UUID) -> list[FreezeAppeal]:
    query = select(FreezeAppeal).where(FreezeAppeal.freeze_id == freeze_id)
    return list(session.scalars(query.order_by(FreezeAppeal.created_at)))


def read_appeal(session: Session, vault: Vault, row: FreezeAppeal) -> str:
    return vault.decrypt(
        session, row.user_id, table="wallet_freeze_appeals", column="message_enc",
        row_id=row.id, ciphertext=row.message_enc,
    )  # fmt: skip


def freezes_of(session: Session, user_id: uuid.UUID) -> list[Freeze]:
    query = select(Freeze).where(Freeze.user_id == user_id).order_by(Freeze.created_at.desc())
    return list(session.scalars(query))
