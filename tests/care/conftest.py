"""Fixtures for care-desk tests: the identity and wallet fixtures (an app on a manual clock,
holders and staff through the API, a vault and a unit of work for service tests), staff of
each care role signed in with both factors, and a service-level ticket maker.

Other care helpers may append fixtures here (small additions at the end)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from anxin.care.tickets import NewTicket, open_ticket
from anxin.models import User
from anxin.models.care import Ticket
from anxin.privacy.vault import Vault
from tests.identity.conftest import PASSWORD, Person
from tests.wallet import conftest as wallet

settings = wallet.settings
clock = wallet.clock
client = wallet.client
container = wallet.container
runtime = wallet.runtime
sms = wallet.sms
mailbox = wallet.mailbox
deliver = wallet.deliver
last_code = wallet.last_code
holder = wallet.holder
make_staff = wallet.make_staff
totp_code = wallet.totp_code
enrol_totp = wallet.enrol_totp
ready_staff = wallet.ready_staff
vault = wallet.vault
uow = wallet.uow
make_user = wallet.make_user
fund = wallet.fund
__all__ = ["PASSWORD", "Person"]

NOW = datetime(2030, 1, 7, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Beijing


def new_ticket(session: Session, vault: Vault, *, holder: User | None = None,
               now: datetime = NOW, **fields: Any) -> Ticket:  # fmt: skip
    """A ticket through the core path (category given, so the classifier is not trained
    unless a test asks for it by passing ``category=None``)."""
    values: dict[str, Any] = {
        "channel": "app", "subject": "Money taken", "body": "I did not make this payment",
        "category": "unauthorized_debit",
    }  # fmt: skip
    if holder is not None:
        values["holder_id"] = holder.id
    else:
        values.setdefault("contact_kind", "email")
        values.setdefault("contact", "someone@example.com")
    values.update(fields)
    return open_ticket(session, vault, NewTicket(**values), now=now)


@pytest.fixture
def agent(ready_staff: Callable[[str], Person]) -> Person:
    return ready_staff("agent")


@pytest.fixture
def senior(ready_staff: Callable[[str], Person]) -> Person:
    return ready_staff("senior_agent")
