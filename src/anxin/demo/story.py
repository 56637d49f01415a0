"""What the demo holders did, through the same services as real requests: a tea shop's
payment with its fee and the points it earned, a partial refund, a breakfast mandate
signed with a second factor and one debit under it, and lunch money sent between holders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from anxin.demo.holders import DemoHolder, stepped
from anxin.identity import sessions
from anxin.models import Merchant
from anxin.privacy.vault import Vault
from anxin.wallet import mandates, merchants, p2p, payments, refunds

MERCHANT = "Happy Tea"
CURRENCY = "CNY"


@dataclass(frozen=True)
class Story:
    merchant: Merchant
    merchant_key: str
    webhook_secret: str
    payment_amount: int
    payment_fee: int
    refunded: int


def tell(
    session: Session, vault: Vault, zhang: DemoHolder, alice: DemoHolder, now: datetime
) -> Story:
    made = merchants.create_merchant(session, vault, name=MERCHANT, webhook_url=None, now=now)
    shop = made.merchant

    # 张明 pays for two teas: he is shown amount, fee and payee, then confirms; the shop
    # captures. The shop later refunds one tea (the fee's share comes back too).
    intent = payments.create_intent(
        session, shop, amount=38_00, currency=CURRENCY, description="两杯奶茶 / two milk teas",
        reference="demo-order-1001", confirm_within=None, now=now,
    )  # fmt: skip
    payer = zhang.user(session)
    shown = payments.quote(session, payer, intent, now)
    stepped(session, vault, zhang, now, lambda token: payments.confirm(
        session, vault, payer, zhang.auth_session_id, intent, shown_fee=shown.fee,
        step_up_token=token, now=now,
    ))  # fmt: skip
    payments.capture(session, vault, shop, intent, now)
    refunded = refunds.refund(
        session, vault, shop, intent, amount=12_00,
        reason="一杯售罄 / one tea was sold out", now=now,
    )  # fmt: skip

    # Alice lets the shop take breakfast every day, up to 30.00, signed with her second
    # factor; the shop takes one breakfast.
    mandate = mandates.propose(
        session, shop, currency=CURRENCY, max_per_debit=30_00, frequency="daily",
        debits_per_period=1, ends_at=now + timedelta(days=365),
        description="每日早餐 / daily breakfast", now=now,
    )  # fmt: skip
    stepped(session, vault, alice, now, lambda token: mandates.accept(
        session, vault, alice.user(session), alice.auth_session_id, mandate,
        step_up_token=token, now=now,
    ))  # fmt: skip
    mandates.debit(
        session, vault, shop, mandate, amount=18_00, currency=CURRENCY,
        description="早餐 / breakfast", reference="breakfast-demo-1", now=now,
    )  # fmt: skip

    # 张明 sends Alice her share of lunch, found by her email and shown masked.
    quoted = p2p.quote(
        session, vault, payer, to=alice.person.email, amount=66_00, currency=CURRENCY,
        note="午饭 / lunch", now=now,
    )  # fmt: skip
    stepped(session, vault, zhang, now, lambda token: p2p.confirm(
        session, vault, payer, zhang.auth_session_id, quoted.transfer, step_up_token=token,
        now=now,
    ))  # fmt: skip

    for holder in (zhang, alice):  # the seed's sessions are not anyone's to use
        sessions.revoke_all(session, holder.user_id, now)
    return Story(shop, made.api_key, made.webhook_secret, intent.amount, shown.fee, refunded.amount)
