"""Telling the customer about their ticket: a reply, a change of state, a request to rate.

A holder gets an in-app inbox entry, and email/SMS copies per their notification
preferences; the inbox entry is stored in plaintext, so it names the reference and the
state only, never what anyone wrote. Someone without a wallet (email, contact form, social)
is reached at the ticket's contact through the delivery outbox (encrypted there), and that
message carries the reply itself, since they have nowhere else to read it. Every subject
starts with ``[AX-...]`` so an email answer threads back to the ticket.
"""

# Chinese texts use full-width punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from anxin.care.sealing import ticket_contact
from anxin.identity import contacts as contact_book
from anxin.identity.notifications import CHANNEL_OF
from anxin.identity.outbox import enqueue
from anxin.kit.ids import new_id
from anxin.models import Notification, User
from anxin.models.care import Ticket
from anxin.privacy.vault import Vault
from anxin.wallet.notify import preferences

TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "care.received": {
        "zh": ("我们已收到您的投诉", "投诉编号 {reference}，我们会尽快答复。"),
        "en": ("We received your complaint", "Reference {reference}; we will answer soon."),
    },
    "care.reply": {
        "zh": ("您的投诉有新回复", "投诉 {reference} 有新的回复。"),
        "en": ("New reply to your complaint", "There is a new reply on complaint {reference}."),
    },
    "care.status": {
        "zh": ("投诉状态更新", "投诉 {reference} 的状态已变为：{status}。"),
        "en": ("Complaint updated", "Complaint {reference} is now: {status}."),
    },
    "care.merged": {
        "zh": ("投诉已合并", "投诉 {reference} 已与 {survivor} 合并，请在 {survivor} 中继续沟通。"),
        "en": (
            "Complaints merged",
            "Complaint {reference} was merged into {survivor}; we continue there.",
        ),
    },
    "care.csat": {
        "zh": ("请评价我们的服务", "投诉 {reference} 已处理完毕，请为本次服务打分（1-5 分）。"),
        "en": (
            "How did we do?",
            "Complaint {reference} is resolved; please rate our help from 1 to 5.",
        ),
    },
}

STATUS_WORDS: dict[str, dict[str, str]] = {
    "new": {"zh": "已受理", "en": "received"},
    "open": {"zh": "处理中", "en": "being handled"},
    "pending_customer": {"zh": "等待您的回复", "en": "waiting for your answer"},
    "resolved": {"zh": "已解决", "en": "resolved"},
    "closed": {"zh": "已关闭", "en": "closed"},
}

_REPLY_LEAD = {"zh": "回复内容：", "en": "The reply:"}


def _language(ticket: Ticket) -> str:
    return "zh" if ticket.language == "zh" else "en"


def status_word(status: str, language: str) -> str:
    return STATUS_WORDS[status]["zh" if language == "zh" else "en"]


def tell_customer(
    session: Session, vault: Vault, ticket: Ticket, kind: str, *, now: datetime,
    reply_text: str | None = None, data: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
) -> None:  # fmt: skip
    """Notify the ticket's holder or contact (``kind``: a key of ``TEXTS``)."""
    language = _language(ticket)
    title, template = TEXTS[kind][language]
    body = template.format(
        reference=ticket.reference, status=status_word(ticket.status, language), **(params or {})
    )
    subject = f"[{ticket.reference}] {title}"
    if ticket.holder_id is not None:
        holder = session.get(User, ticket.holder_id)
        if holder is None or holder.status == "closed":
            return
        session.add(
            Notification(
                id=new_id(), user_id=holder.id, kind=kind, title=title, body=body,
                data={"ticket_id": str(ticket.id), "reference": ticket.reference,
                      "status": ticket.status, **(data or {})},
                created_at=now, read_at=None,
            )
        )  # fmt: skip
        prefs = preferences(session, holder.id)
        wanted = {c for c, on in (("email", prefs.email), ("sms", prefs.sms)) if on}
        for contact in contact_book.contacts_of(session, holder.id, verified=True):
            channel = CHANNEL_OF[contact.kind]
            if channel in wanted:
                enqueue(
                    session, vault, user_id=holder.id, channel=channel,
                    recipient=contact_book.reveal(session, vault, contact), subject=subject,
                    body=body, now=now,
                )  # fmt: skip
        session.flush()
        return
    recipient = ticket_contact(session, vault, ticket)
    if recipient is None or ticket.contact_kind is None:
        return
    if reply_text:
        body = f"{body}\n\n{_REPLY_LEAD[language]}\n{reply_text}"
    enqueue(
        session, vault, user_id=None, channel="email" if ticket.contact_kind == "email" else "sms",
        recipient=recipient, subject=subject, body=body, now=now,
    )  # fmt: skip
