"""A holder's rights over their own data: a copy of all of it (machine-readable JSON), and
correcting it. Closing the account is ``anxin.privacy.closure``.

The copy holds everything Anxin keeps about the holder, decrypted for them: profile,
contacts, sessions, devices, second factors (what they are and when they were used, never
their secrets), trusted payees, notifications, identity verification submissions, the
access log (which staff did what with their data, and why), ledger accounts with balances,
every transfer on them, and wallet records (bank cards and accounts, top-ups and
withdrawals, freezes, points). Internal notes of staff investigations are not included;
the freeze itself, its reason code and dates are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.identity import contacts as book
from anxin.identity import kyc
from anxin.kit.errors import Unprocessable
from anxin.ledger.service import balance_of
from anxin.models import (
    Account,
    Device,
    FundingOrder,
    FundingSource,
    KycCheck,
    Notification,
    Passkey,
    PointsLot,
    RecoveryCode,
    TotpFactor,
    Transfer,
    TrustedPayee,
    User,
)
from anxin.models import Session as AuthSession
from anxin.models.insider import AccessLogEntry
from anxin.models.wallet_money import Freeze
from anxin.privacy import notices
from anxin.privacy.vault import Vault
from anxin.wallet import accounts as wallet_accounts
from anxin.wallet import sources

FORMAT = "anxin-personal-data/1"


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _all(session: Session, model: Any, *where: Any, order: Any) -> list[Any]:
    return list(session.scalars(select(model).where(*where).order_by(order)))


def _profile(session: Session, vault: Vault, user: User) -> dict[str, Any]:
    return {
        "id": str(user.id), "kind": user.kind, "status": user.status, "tier": user.tier,
        "locale": user.locale, "display_name": book.display_name(session, vault, user),
        "daily_limit": user.daily_limit, "created_at": _when(user.created_at),
        "updated_at": _when(user.updated_at),
        "password_changed_at": _when(user.password_changed_at),
    }  # fmt: skip


def _identity(session: Session, vault: Vault, user: User) -> dict[str, Any]:
    uid = user.id
    contacts = [
        {"kind": c.kind, "value": book.reveal(session, vault, c),
         "verified_at": _when(c.verified_at), "created_at": _when(c.created_at)}
        for c in book.contacts_of(session, uid)
    ]  # fmt: skip
    sessions = [
        {"id": str(s.id), "created_at": _when(s.created_at), "last_seen_at": _when(s.last_seen_at),
         "expires_at": _when(s.expires_at), "revoked_at": _when(s.revoked_at),
         "user_agent": s.user_agent, "auth_methods": list(s.auth_methods),
         "device_id": str(s.device_id) if s.device_id else None}
        for s in _all(session, AuthSession, AuthSession.user_id == uid,
                      order=AuthSession.created_at)
    ]  # fmt: skip
    devices = [
        {"id": str(d.id), "label": d.label, "first_seen_at": _when(d.first_seen_at),
         "last_seen_at": _when(d.last_seen_at)}
        for d in _all(session, Device, Device.user_id == uid, order=Device.first_seen_at)
    ]  # fmt: skip
    totp = [
        {"created_at": _when(t.created_at), "confirmed_at": _when(t.confirmed_at),
         "disabled_at": _when(t.disabled_at)}
        for t in _all(session, TotpFactor, TotpFactor.user_id == uid, order=TotpFactor.created_at)
    ]  # fmt: skip
    passkeys = [
        {"id": str(p.id), "name": p.name, "transports": list(p.transports),
         "backed_up": p.backed_up, "created_at": _when(p.created_at),
         "last_used_at": _when(p.last_used_at), "disabled_at": _when(p.disabled_at)}
        for p in _all(session, Passkey, Passkey.user_id == uid, order=Passkey.created_at)
    ]  # fmt: skip
    codes = _all(session, RecoveryCode, RecoveryCode.user_id == uid, order=RecoveryCode.created_at)
    payees = [
        {"payee": p.payee, "created_at": _when(p.created_at)}
        for p in _all(session, TrustedPayee, TrustedPayee.user_id == uid,
                      order=TrustedPayee.created_at)
    ]  # fmt: skip
    return {
        "contacts": contacts, "sessions": sessions, "devices": devices,
        "second_factors": {
            "totp": totp, "passkeys": passkeys,
            "recovery_codes": {"issued": len(codes),
                               "used": sum(1 for c in codes if c.used_at is not None)},
        },
        "trusted_payees": payees,
    }  # fmt: skip


def _messages(session: Session, vault: Vault, user: User) -> dict[str, Any]:
    uid = user.id
    inbox = [
        {"id": str(n.id), "kind": n.kind, "title": n.title, "body": n.body, "data": n.data,
         "created_at": _when(n.created_at), "read_at": _when(n.read_at)}
        for n in _all(session, Notification, Notification.user_id == uid,
                      order=Notification.created_at)
    ]  # fmt: skip
    checks = []
    for check in _all(session, KycCheck, KycCheck.user_id == uid, order=KycCheck.created_at):
        submission = kyc.read_submission(session, vault, check)
        fields = {**submission.__dict__, "date_of_birth": submission.date_of_birth.isoformat()}
        checks.append({
            "id": str(check.id), "tier": check.tier, "provider": check.provider,
            "status": check.status, "reason": check.reason, "submission": fields,
            "created_at": _when(check.created_at), "decided_at": _when(check.decided_at),
        })  # fmt: skip
    access = [
        {"at": _when(a.at), "staff": a.staff_pseudonym, "role": a.staff_role,
         "action": a.action, "fields": list(a.fields), "purpose": a.purpose,
         "break_glass": a.break_glass}
        for a in _all(session, AccessLogEntry, AccessLogEntry.holder_id == uid,
                      order=AccessLogEntry.at)
    ]  # fmt: skip
    return {"notifications": inbox, "kyc_submissions": checks, "access_log": access}


def _money(session: Session, vault: Vault, user: User) -> dict[str, Any]:
    uid = user.id
    owned = _all(session, Account, Account.owner_ref == wallet_accounts.holder_owner(uid),
                 order=Account.created_at)  # fmt: skip
    ids = {a.id for a in owned}
    accounts = []
    for account in owned:
        balance = balance_of(account)
        accounts.append({
            "id": str(account.id), "asset": account.asset, "status": account.status,
            "posted": balance.posted, "pending": balance.pending, "available": balance.available,
            "created_at": _when(account.created_at),
        })  # fmt: skip
    transfers = []
    if ids:
        rows = _all(session, Transfer, or_(Transfer.source_id.in_(ids),
                                           Transfer.destination_id.in_(ids)),
                    order=Transfer.first_seq)  # fmt: skip
        for t in rows:
            # The other side's account is someone else's: only our side and the description.
            mine = t.source_id if t.source_id in ids else t.destination_id
            transfers.append({
                "id": str(t.id), "account_id": str(mine), "kind": t.kind, "action": t.action,
                "status": t.status, "direction": "out" if t.source_id in ids else "in",
                "asset": t.asset, "amount": t.amount, "settled_amount": t.settled_amount,
                "reference": t.reference, "details": t.meta, "created_at": _when(t.created_at),
            })  # fmt: skip
    cards = [
        {"id": str(s.id), "kind": s.kind, "number": sources.reveal(session, vault, s),
         "status": s.status, "created_at": _when(s.created_at), "removed_at": _when(s.removed_at)}
        for s in _all(session, FundingSource, FundingSource.user_id == uid,
                      order=FundingSource.created_at)
    ]  # fmt: skip
    orders = [
        {"id": str(o.id), "direction": o.direction, "source_id": str(o.source_id),
         "asset": o.asset, "amount": o.amount, "fee": o.fee, "status": o.status,
         "created_at": _when(o.created_at), "settled_at": _when(o.settled_at)}
        for o in _all(session, FundingOrder, FundingOrder.user_id == uid,
                      order=FundingOrder.created_at)
    ]  # fmt: skip
    freezes = [
        {"scope": f.scope, "reason_code": f.reason_code, "status": f.status,
         "review_by": _when(f.review_by), "created_at": _when(f.created_at),
         "lifted_at": _when(f.lifted_at)}
        for f in _all(session, Freeze, Freeze.user_id == uid, order=Freeze.created_at)
    ]  # fmt: skip
    points = [
        {"points": p.points, "remaining": p.remaining, "earned_at": _when(p.earned_at),
         "expires_at": _when(p.expires_at)}
        for p in _all(session, PointsLot, PointsLot.user_id == uid, order=PointsLot.earned_at)
    ]  # fmt: skip
    return {
        "ledger": {"accounts": accounts, "transfers": transfers},
        "wallet": {"funding_sources": cards, "funding_orders": orders, "freezes": freezes,
                   "points_lots": points},
    }  # fmt: skip


def export_my_data(session: Session, vault: Vault, user: User, *, now: datetime) -> dict[str, Any]:
    """Everything held about ``user``, decrypted, as one JSON document. Recorded in the
    audit log, and the holder is told (a copy taken from a stolen session shows up)."""
    document: dict[str, Any] = {
        "format": FORMAT, "generated_at": now.isoformat(),
        "profile": _profile(session, vault, user),
        **_identity(session, vault, user), **_messages(session, vault, user),
        **_money(session, vault, user),
    }  # fmt: skip
    counts = {key: len(value) for key, value in document.items() if isinstance(value, list)}
    counts["transfers"] = len(document["ledger"]["transfers"])
    audit.append(session, event="privacy.data_exported", actor_id=user.id, actor_role=None,
                 subject_id=user.id, data={"counts": counts}, now=now)  # fmt: skip
    title, body = notices.text("privacy.data_exported", user.locale)
    notices.deliver(session, vault, user, kind="privacy.data_exported", title=title, body=body,
                    now=now)  # fmt: skip
    return document


def correct_profile(
    session: Session, vault: Vault, user: User, *, display_name: str | None,
    locale: str | None, now: datetime,
) -> list[str]:  # fmt: skip
    """Correct the name or language; the fields changed (phone numbers and email addresses
    change through the verified contact change, ``POST /v1/me/contacts``)."""
    changed = []
    if display_name is not None:
        name = " ".join(display_name.split())
        if not name:
            raise Unprocessable("a name needs at least one letter", code="invalid_name")
        if name != book.display_name(session, vault, user):
            user.display_name_enc = book.seal_name(session, vault, user.id, name)
            changed.append("display_name")
    if locale is not None and locale != user.locale:
        user.locale = locale
        changed.append("locale")
    if changed:
        user.updated_at = now
        audit.append(
            session, event="privacy.profile_corrected", actor_id=user.id, actor_role=None,
            subject_id=user.id, data={"fields": changed}, now=now,
        )  # fmt: skip
        title, body = notices.text("privacy.profile_corrected", user.locale)
        notices.deliver(session, vault, user, kind="privacy.profile_corrected", title=title,
                        body=body.format(fields=", ".join(changed)), now=now)  # fmt: skip
    session.flush()
    return changed
