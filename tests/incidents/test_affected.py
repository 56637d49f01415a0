"""Affected holders from the ledger's records and from complaints: each query kind is
previewed (holders, items, money per asset) before it adds anyone."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.incidents import affected, service
from anxin.incidents.errors import InvalidAffectedQuery
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from anxin.models.incidents import AffectedHolder, AffectedQuery, Incident
from anxin.models.wallet_merchants import PaymentIntent
from anxin.models.wallet_money import FundingOrder, FundingSource
from anxin.privacy.vault import Vault
from anxin.wallet import freeze, merchants
from tests.incidents.conftest import NOW, make_user, new_ticket


def pay(session: Session, merchant_id: uuid.UUID, holder: User, amount: int, at: datetime,
        *, currency: str = "CNY", refunded: int = 0) -> PaymentIntent:  # fmt: skip
    """A captured payment as the payment service leaves it (the money moved is not needed)."""
    intent = PaymentIntent(
        id=new_id(), merchant_id=merchant_id, holder_id=holder.id, mandate_id=None,
        amount=amount, currency=currency, fee=0, captured_amount=amount, captured_fee=0,
        refunded_amount=refunded, refunded_fee=0, description=None, reference=None,
        status="captured", hold_id=new_id(), fee_hold_id=None, capture_id=new_id(),
        fee_capture_id=None, expires_at=at + timedelta(days=1), created_at=at, updated_at=at,
        confirmed_at=at, captured_at=at, canceled_at=None,
    )  # fmt: skip
    session.add(intent)
    session.flush()
    return intent


def topup(session: Session, vault: Vault, holder: User, amount: int, at: datetime,
          status: str = "pending") -> FundingOrder:  # fmt: skip
    source_id = new_id()
    session.add(FundingSource(
        id=source_id, user_id=holder.id, kind="card",
        number_enc=vault.encrypt(session, holder.id, table="wallet_funding_sources",
                                 column="number_enc", row_id=source_id, plaintext="4111"),
        lookup=source_id.hex, masked="**** 1111", status="active", created_at=at,
        removed_at=None,
    ))  # fmt: skip
    session.flush()
    order = FundingOrder(
        id=new_id(), direction="topup", user_id=holder.id, source_id=source_id, asset="CNY",
        amount=amount, fee=0, status=status, hold_id=new_id(), fee_hold_id=None,
        provider="simulated", provider_ref=None, failure_reason=None, created_at=at,
        updated_at=at, settled_at=None,
    )  # fmt: skip
    session.add(order)
    session.flush()
    return order


@pytest.fixture
def incident(uow: UnitOfWork) -> Incident:
    return service.open_incident(uow.session, title="Shop Alpha double charges", now=NOW)


def test_merchant_debits_preview_then_apply(uow: UnitOfWork, vault: Vault,
                                            incident: Incident) -> None:  # fmt: skip
    s = uow.session
    alpha = merchants.create_merchant(s, vault, name="Alpha", webhook_url=None, now=NOW).merchant
    beta = merchants.create_merchant(s, vault, name="Beta", webhook_url=None, now=NOW).merchant
    a, b, c = (make_user(s, vault, NOW) for _ in range(3))
    start = NOW - timedelta(hours=2)
    pay(s, alpha.id, a, 1000, start + timedelta(minutes=5))
    pay(s, alpha.id, a, 2500, start + timedelta(minutes=6), refunded=500)
    pay(s, alpha.id, b, 700, start + timedelta(minutes=30))
    pay(s, alpha.id, b, 300, start + timedelta(minutes=31), currency="USD")
    pay(s, alpha.id, c, 999, start - timedelta(minutes=1))  # before the window
    pay(s, beta.id, c, 5000, start + timedelta(minutes=10))  # another merchant
    definition: dict[str, Any] = {
        "kind": "merchant_debits", "merchant_id": str(alpha.id),
        "from": start.isoformat(), "to": NOW.isoformat(),
    }  # fmt: skip
    preview = affected.preview(s, incident, definition, NOW)
    assert preview.holders == 2 and preview.items == 4 and preview.new_holders == 2
    # What the merchant kept (captured minus refunded), per asset.
    assert preview.totals == {"CNY": 1000 + 2000 + 700, "USD": 300}
    assert s.scalars(select(AffectedHolder)).all() == []  # a preview writes nothing

    query, applied = affected.apply(s, incident, definition, actor_id=None, now=NOW)
    assert applied.holders == 2
    row = s.get(AffectedHolder, (incident.id, a.id))
    assert row is not None and row.source == "query"
    assert sorted(p["amount"] for p in row.facts["payments"]) == [1000, 2500]
    assert all(p["capture_id"] for p in row.facts["payments"])
    assert s.get(AffectedQuery, query.id) is not None
    # Applying again adds nobody and duplicates no facts.
    again = affected.preview(s, incident, definition, NOW)
    assert again.new_holders == 0
    affected.apply(s, incident, definition, actor_id=None, now=NOW)
    s.refresh(row)
    assert len(row.facts["payments"]) == 2
    assert affected.counts(s, incident)["total"] == 2


def test_pending_topups_older_than(uow: UnitOfWork, vault: Vault, incident: Incident) -> None:
    s = uow.session
    a, b, c = (make_user(s, vault, NOW) for _ in range(3))
    topup(s, vault, a, 10_000, NOW - timedelta(minutes=45))
    topup(s, vault, b, 20_000, NOW - timedelta(minutes=10))  # not long enough
    topup(s, vault, c, 30_000, NOW - timedelta(hours=3), status="completed")
    found = affected.preview(s, incident, {"kind": "pending_topups", "older_than_minutes": 30},
                             NOW)  # fmt: skip
    assert (found.holders, found.totals) == (1, {"CNY": 10_000})
    affected.apply(s, incident, {"kind": "pending_topups", "older_than_minutes": 30},
                   actor_id=None, now=NOW)  # fmt: skip
    row = s.get(AffectedHolder, (incident.id, a.id))
    assert row is not None and row.facts["topups"][0]["amount"] == 10_000


def test_frozen_by_rule_since(uow: UnitOfWork, vault: Vault, incident: Incident) -> None:
    s = uow.session
    staff = make_user(s, vault, NOW, role="risk_officer")
    a, b, c = (make_user(s, vault, NOW) for _ in range(3))
    freeze.freeze(s, vault, staff, a, scope="all", reason_code="suspected_fraud",
                  note="rule R7 after the update", now=NOW - timedelta(hours=1))  # fmt: skip
    freeze.freeze(s, vault, staff, b, scope="outgoing", reason_code="suspected_fraud",
                  note="older", now=NOW - timedelta(days=3))  # fmt: skip
    other = next(r for r in freeze.REASONS if r != "suspected_fraud")
    freeze.freeze(s, vault, staff, c, scope="all", reason_code=other, note="other rule",
                  now=NOW - timedelta(hours=1))  # fmt: skip
    definition = {"kind": "frozen_by_rule", "reason_code": "suspected_fraud",
                  "since": (NOW - timedelta(days=1)).isoformat()}  # fmt: skip
    found = affected.preview(s, incident, definition, NOW)
    assert found.holders == 1 and found.totals == {}
    affected.apply(s, incident, definition, actor_id=staff.id, now=NOW)
    row = s.get(AffectedHolder, (incident.id, a.id))
    assert row is not None and row.facts["freezes"][0]["scope"] == "all"


def test_complainants_and_staff_named(uow: UnitOfWork, vault: Vault, incident: Incident) -> None:
    s = uow.session
    staff = make_user(s, vault, NOW, role="senior_agent")
    a, b = make_user(s, vault, NOW), make_user(s, vault, NOW)
    service.link_ticket(s, incident, new_ticket(s, vault, holder=a), now=NOW)
    new_ticket(s, vault)  # someone without a wallet: not a holder to add
    found = affected.preview(s, incident, {"kind": "complainants"}, NOW)
    assert found.holders == 1 and found.new_holders == 0  # linking already added them
    assert affected.add_holders(s, incident, [b.id, b.id], actor_id=staff.id, now=NOW) == 1
    assert affected.add_holders(s, incident, [b.id], actor_id=staff.id, now=NOW) == 0
    assert affected.counts(s, incident) == {"total": 2, "notified": 0, "complaint": 1, "staff": 1}
    with pytest.raises(InvalidAffectedQuery):
        affected.add_holders(s, incident, [uuid.uuid4()], actor_id=staff.id, now=NOW)


@pytest.mark.parametrize("definition", [
    {}, {"kind": "everyone"}, {"kind": "complainants", "extra": 1},
    {"kind": "merchant_debits", "merchant_id": "nope", "from": "2030-01-01T00:00:00+00:00",
     "to": "2030-01-02T00:00:00+00:00"},
    {"kind": "merchant_debits", "merchant_id": str(uuid.uuid4()),
     "from": "2030-01-02T00:00:00+00:00", "to": "2030-01-01T00:00:00+00:00"},
    {"kind": "merchant_debits", "merchant_id": str(uuid.uuid4()), "from": "2030-01-01T00:00:00",
     "to": "2030-01-02T00:00:00+00:00"},
    {"kind": "pending_topups", "older_than_minutes": "30"},
    {"kind": "pending_topups", "older_than_minutes": 0},
    {"kind": "pending_topups", "older_than_minutes": 30.5},
    {"kind": "frozen_by_rule", "reason_code": "", "since": "2030-01-01T00:00:00+00:00"},
    {"kind": "frozen_by_rule", "reason_code": "x", "since": "yesterday"},
])  # fmt: skip
def test_bad_queries_are_refused(uow: UnitOfWork, incident: Incident,
                                 definition: dict[str, Any]) -> None:  # fmt: skip
    with pytest.raises(InvalidAffectedQuery):
        affected.preview(uow.session, incident, definition, NOW)
