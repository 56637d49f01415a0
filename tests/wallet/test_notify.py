"""Notices: in the inbox and through the outbox in the same transaction as the movement,
per the holder's channel preferences; security notices always on every channel."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from anxin.api.deps import Container
from anxin.identity.delivery import FakeEmailSender, FakeSmsProvider
from anxin.identity.outbox import DeliveryReport
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Notification, OutboxMessage
from anxin.privacy.vault import Vault
from anxin.wallet import notify
from anxin.wallet.funding import SimulatedBankRail
from tests.identity.conftest import Person
from tests.wallet.conftest import START, Api, make_user
from tests.wallet.test_topup import link, settle, topup


@pytest.mark.parametrize(
    ("amount", "scale", "shown"),
    [(3805, 2, "38.05 CNY"), (-5, 2, "-0.05 CNY"), (7, 0, "7 CNY"), (1234, 3, "1.234 CNY"),
     (2**63 - 1, 2, "92233720368547758.07 CNY")],
)  # fmt: skip
def test_amounts_are_formatted_without_floats(amount: int, scale: int, shown: str) -> None:
    assert notify.format_amount(amount, scale, "CNY") == shown


def test_money_notices_follow_the_preferences(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], container: Container,
    rail: SimulatedBankRail, deliver: Callable[[], DeliveryReport], sms: FakeSmsProvider,
) -> None:  # fmt: skip
    api = api_for(holder())
    assert api.call("GET", "/v1/me/notification-preferences").json() == {"email": True, "sms": True}
    changed = api.call("PUT", "/v1/me/notification-preferences", json={"email": True, "sms": False})
    assert changed.json() == {"email": True, "sms": False}
    bad = api.call("PUT", "/v1/me/notification-preferences", json={"email": 1, "sms": False})
    assert bad.status_code == 422
    card = link(api)
    deliver()
    before = len(sms.sent)
    topup(api, card, 10_00, "t")
    settle(container, rail)
    deliver()
    assert len(sms.sent) == before  # no SMS for money, as asked
    inbox = api.call("GET", "/v1/me/notifications").json()["data"]
    assert inbox[0]["kind"] == "topup.completed"
    assert "10.00 CNY" in inbox[0]["body"] and "****1111" in inbox[0]["body"]


def test_security_notices_ignore_the_preferences(
    uow: UnitOfWork,
    vault: Vault,
) -> None:
    user = make_user(uow.session, vault, START)
    notify.set_preferences(uow.session, user.id, email=False, sms=False, now=START)
    from anxin.identity import contacts

    contacts.add_contact(uow.session, vault, user, contacts.parse_contact("phone", "13800001111"),
                         now=START, verified=True)  # fmt: skip
    notify.money_moved(uow.session, vault, user, "some.new_kind", amount=100, asset="CNY",
                       now=START, counterparty="Happy Tea", incoming=False)  # fmt: skip
    assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    notify.security_event(uow.session, vault, user, "wallet.unfrozen", now=START)
    assert uow.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    kinds = list(uow.session.scalars(select(Notification.kind).order_by(Notification.id)))
    assert kinds == ["some.new_kind", "wallet.unfrozen"]
    generic = uow.session.scalars(
        select(Notification).where(Notification.kind == "some.new_kind")
    ).one()
    assert "-1.00 CNY" in generic.body and "Happy Tea" in generic.body  # the generic text


def test_a_notice_is_written_with_its_movement_or_not_at_all(
    holder: Callable[..., Person], api_for: Callable[[Person], Api], container: Container,
    rail: SimulatedBankRail, mailbox: FakeEmailSender,
) -> None:  # fmt: skip
    api = api_for(holder())
    card = link(api)
    with UnitOfWork(container.database) as uow:
        count = uow.session.scalar(select(func.count()).select_from(Notification))
    refused = topup(api, card, 2_000_00, "too-much")  # over the balance limit: rolled back
    assert refused.status_code == 422
    with UnitOfWork(container.database) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Notification)) == count
