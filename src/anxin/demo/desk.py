"""What the demo gives the console and the status page, through the same services as real
requests: two complaints (one answered by the senior agent and waiting for Alice, one new
in the queue), a payment request from the tea shop waiting for 张明, and a past incident
with its public updates in the status page's history.
"""

# ruff: noqa: RUF001 - Chinese demo text uses full-width punctuation
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from anxin.care import complaints
from anxin.care.tickets import add_message
from anxin.demo.holders import DemoHolder
from anxin.incidents import service as incidents
from anxin.incidents import updates
from anxin.models import Merchant, User
from anxin.privacy.vault import Vault
from anxin.wallet import payments

# The longest a payment request may wait (payments.MAX_CONFIRM_WITHIN).
REQUEST_VALID_FOR = timedelta(days=7)


@dataclass(frozen=True)
class Desk:
    payment_request_id: uuid.UUID
    incident_reference: str


def _complaints(
    session: Session, vault: Vault, zhang: DemoHolder, alice: DemoHolder, agent: User,
    now: datetime,
) -> None:  # fmt: skip
    asked = complaints.file_complaint(
        session, vault, alice.user(session), subject="Breakfast charged on a day I was away",
        body="The tea shop took the daily breakfast while I was travelling. Can it be "
        "refunded, and can I pause the mandate next time?",
        transfer_ids=[], now=now,
    )  # fmt: skip
    add_message(
        session, vault, asked, author_kind="agent", author_id=agent.id, channel="app",
        body="Hello Alice, we asked Happy Tea about the breakfast of that day. Could you tell "
        "us the dates you were away? You can cancel the mandate under Auto-pay at any time.",
        status="pending_customer", now=now,
    )  # fmt: skip
    complaints.file_complaint(
        session, vault, zhang.user(session), subject="积分什么时候到账？",
        body="上周在开心茶铺买奶茶，退了一杯以后积分变少了，想确认积分是怎么算的。",
        transfer_ids=[], now=now,
    )  # fmt: skip


def _past_incident(session: Session, vault: Vault, lead: User, now: datetime) -> str:
    """Card top-ups that were slow three days ago: found, fixed and announced each step."""
    began = now - timedelta(days=3, hours=2)
    incident = incidents.open_incident(
        session, title="Card top-ups delayed", now=began + timedelta(minutes=12),
        severity="minor", category="top_up", lead_id=lead.id, opened_by=lead.id,
        started_at=began,
    )  # fmt: skip
    steps: tuple[tuple[str, int, dict[str, str]], ...] = (
        ("investigating", 20, {}),
        ("identified", 55, {"zh": "银行通道的确认消息延迟送达，资金安全，已在处理中。",
                            "en": "Confirmations from the bank rail were arriving late; "
                                  "no money was lost."}),
        ("resolved", 140, {"zh": "所有延迟的充值都已到账。", "en": "Every delayed top-up has "
                                                        "been credited."}),
    )  # fmt: skip
    for status, minutes, details in steps:
        updates.publish(
            session, vault, incident, now=began + timedelta(minutes=minutes),
            actor_id=lead.id, template=status, details=details,
        )  # fmt: skip
    return incident.reference


def tell_desk(
    session: Session, vault: Vault, zhang: DemoHolder, alice: DemoHolder, shop: Merchant,
    agent: User, approver: User, now: datetime, request_reference: str,
) -> Desk:  # fmt: skip
    _complaints(session, vault, zhang, alice, agent, now)
    request = payments.create_intent(
        session, shop, amount=26_00, currency="CNY", description="抹茶拿铁 / matcha latte",
        reference=request_reference, confirm_within=REQUEST_VALID_FOR, now=now,
    )  # fmt: skip
    reference = _past_incident(session, vault, approver, now)
    return Desk(request.id, reference)
