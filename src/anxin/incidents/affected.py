"""Who an incident affected: found from the ledger's records as well as from complaints.

A query is a JSON definition, one of:

- ``{"kind": "merchant_debits", "merchant_id": ..., "from": T1, "to": T2}``: every holder a
  merchant took money from (captured payments) between T1 and T2;
- ``{"kind": "pending_topups", "older_than_minutes": 30}``: every holder with a top-up
  still pending after that long (optionally ``"asset"``);
- ``{"kind": "frozen_by_rule", "reason_code": R, "since": T}``: every holder whose wallet
  is frozen with reason R since T (active freezes);
- ``{"kind": "complainants"}``: the holders of the incident's linked tickets.

``preview`` counts holders (and money per asset) without writing anything; ``apply`` stores
the query and adds each holder with the facts found (payments, top-ups, freezes, tickets),
which the remediation plan reads.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.incidents.errors import InvalidAffectedQuery
from anxin.incidents.service import linked_tickets, record_event
from anxin.kit.ids import new_id
from anxin.models import User
from anxin.models.incidents import AffectedHolder, AffectedQuery, Incident
from anxin.models.wallet_merchants import PaymentIntent
from anxin.models.wallet_money import Freeze, FundingOrder

KINDS = ("merchant_debits", "pending_topups", "frozen_by_rule", "complainants")
# Facts per holder are kept in the row; a query this broad is an error, not an incident.
MAX_ITEMS_PER_HOLDER = 500


@dataclass
class Found:
    """What a query finds: per holder, the facts under one key (payments, topups, ...)."""

    fact: str
    holders: dict[uuid.UUID, list[dict[str, Any]]] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)  # minor units per asset

    def add(self, holder: uuid.UUID, item: dict[str, Any], asset: str | None = None,
            amount: int = 0) -> None:  # fmt: skip
        items = self.holders.setdefault(holder, [])
        if len(items) < MAX_ITEMS_PER_HOLDER:
            items.append(item)
        if asset is not None:
            self.totals[asset] = self.totals.get(asset, 0) + amount

    @property
    def items(self) -> int:
        return sum(len(v) for v in self.holders.values())


def _time(definition: dict[str, Any], name: str) -> datetime:
    value = definition.get(name)
    if not isinstance(value, str):
        raise InvalidAffectedQuery(f"{name!r} is an ISO 8601 time with its offset", field=name)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as error:
        raise InvalidAffectedQuery(f"{name!r} is not an ISO 8601 time", field=name) from error
    if moment.tzinfo is None:
        raise InvalidAffectedQuery(f"{name!r} needs a UTC offset", field=name)
    return moment


def _text(definition: dict[str, Any], name: str, limit: int = 100) -> str:
    value = definition.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidAffectedQuery(f"{name!r} is required (text)", field=name)
    return value.strip()


def check(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition, validated and normalised (what is stored)."""
    kind = definition.get("kind")
    if kind not in KINDS:
        raise InvalidAffectedQuery(f"kind is one of {', '.join(KINDS)}", field="kind")
    allowed = {
        "merchant_debits": {"kind", "merchant_id", "from", "to"},
        "pending_topups": {"kind", "older_than_minutes", "asset"},
        "frozen_by_rule": {"kind", "reason_code", "since"},
        "complainants": {"kind"},
    }[kind]
    extra = set(definition) - allowed
    if extra:
        raise InvalidAffectedQuery(f"unknown fields for {kind}: {', '.join(sorted(extra))}")
    if kind == "merchant_debits":
        try:
            merchant = uuid.UUID(_text(definition, "merchant_id"))
        except ValueError as error:
            raise InvalidAffectedQuery("merchant_id is a UUID", field="merchant_id") from error
        start, end = _time(definition, "from"), _time(definition, "to")
        if end <= start:
            raise InvalidAffectedQuery("'to' must be after 'from'", field="to")
        return {"kind": kind, "merchant_id": str(merchant), "from": start.isoformat(),
                "to": end.isoformat()}  # fmt: skip
    if kind == "pending_topups":
        minutes = definition.get("older_than_minutes")
        if type(minutes) is not int or not 1 <= minutes <= 60 * 24 * 90:
            raise InvalidAffectedQuery(
                "older_than_minutes is a whole number of minutes (1 to 129600)",
                field="older_than_minutes",
            )
        out: dict[str, Any] = {"kind": kind, "older_than_minutes": minutes}
        if "asset" in definition:
            out["asset"] = _text(definition, "asset", 16).upper()
        return out
    if kind == "frozen_by_rule":
        return {"kind": kind, "reason_code": _text(definition, "reason_code", 48),
                "since": _time(definition, "since").isoformat()}  # fmt: skip
    return {"kind": kind}


def run(session: Session, incident: Incident, definition: dict[str, Any],
        now: datetime) -> Found:  # fmt: skip
    """Evaluate a checked definition (reads only)."""
    kind = definition["kind"]
    if kind == "merchant_debits":
        found = Found("payments")
        rows = session.scalars(
            select(PaymentIntent)
            .where(
                PaymentIntent.merchant_id == uuid.UUID(definition["merchant_id"]),
                PaymentIntent.captured_at >= datetime.fromisoformat(definition["from"]),
                PaymentIntent.captured_at < datetime.fromisoformat(definition["to"]),
                PaymentIntent.captured_amount > 0,
                PaymentIntent.holder_id.is_not(None),
            )
            .order_by(PaymentIntent.captured_at, PaymentIntent.id)
        )
        for p in rows:
            assert p.holder_id is not None
            kept = p.captured_amount - p.refunded_amount
            found.add(p.holder_id, {
                "payment_id": str(p.id), "asset": p.currency, "amount": p.captured_amount,
                "fee": p.captured_fee, "refunded": p.refunded_amount,
                "capture_id": str(p.capture_id) if p.capture_id else None,
                "fee_capture_id": str(p.fee_capture_id) if p.fee_capture_id else None,
                "captured_at": p.captured_at.isoformat() if p.captured_at else None,
            }, p.currency, kept)  # fmt: skip
        return found
    if kind == "pending_topups":
        found = Found("topups")
        cutoff = now - timedelta(minutes=definition["older_than_minutes"])
        query = select(FundingOrder).where(
            FundingOrder.direction == "topup", FundingOrder.status == "pending",
            FundingOrder.created_at <= cutoff,
        )  # fmt: skip
        if "asset" in definition:
            query = query.where(FundingOrder.asset == definition["asset"])
        for order in session.scalars(query.order_by(FundingOrder.created_at, FundingOrder.id)):
            found.add(order.user_id, {
                "order_id": str(order.id), "asset": order.asset, "amount": order.amount,
                "created_at": order.created_at.isoformat(),
            }, order.asset, order.amount)  # fmt: skip
        return found
    if kind == "frozen_by_rule":
        found = Found("freezes")
        freezes = session.scalars(
            select(Freeze)
            .where(
                Freeze.reason_code == definition["reason_code"], Freeze.status == "active",
                Freeze.created_at >= datetime.fromisoformat(definition["since"]),
            )
            .order_by(Freeze.created_at, Freeze.id)
        )  # fmt: skip
        for freeze in freezes:
            found.add(freeze.user_id, {
                "freeze_id": str(freeze.id), "scope": freeze.scope,
                "created_at": freeze.created_at.isoformat(),
            })  # fmt: skip
        return found
    found = Found("tickets")
    for ticket in linked_tickets(session, incident):
        if ticket.holder_id is not None:
            found.add(ticket.holder_id, {"ticket_id": str(ticket.id)})
    return found


@dataclass(frozen=True)
class Preview:
    definition: dict[str, Any]
    holders: int
    items: int
    new_holders: int  # not yet affected by this incident
    totals: dict[str, int]


def preview(session: Session, incident: Incident, definition: dict[str, Any],
            now: datetime) -> Preview:  # fmt: skip
    checked = check(definition)
    found = run(session, incident, checked, now)
    known = set(
        session.scalars(
            select(AffectedHolder.holder_id).where(AffectedHolder.incident_id == incident.id)
        )
    )
    return Preview(checked, len(found.holders), found.items,
                   len(set(found.holders) - known), dict(sorted(found.totals.items())))  # fmt: skip


def _merge(facts: dict[str, Any], key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    merged = dict(facts)
    existing = list(merged.get(key, []))
    seen = {repr(sorted(i.items())) for i in existing}
    for item in items:
        if repr(sorted(item.items())) not in seen:
            existing.append(item)
    merged[key] = existing[:MAX_ITEMS_PER_HOLDER]
    return merged


def apply(session: Session, incident: Incident, definition: dict[str, Any], *,
          actor_id: uuid.UUID | None, now: datetime) -> tuple[AffectedQuery, Preview]:  # fmt: skip
    """Store the query and add (or enrich) an affected holder for each holder found."""
    result = preview(session, incident, definition, now)
    found = run(session, incident, result.definition, now)
    query = AffectedQuery(
        id=new_id(), incident_id=incident.id, definition=result.definition,
        created_by=actor_id, created_at=now,
    )  # fmt: skip
    session.add(query)
    rows = {
        row.holder_id: row
        for row in session.scalars(
            select(AffectedHolder).where(AffectedHolder.incident_id == incident.id)
        )
    }
    source = "complaint" if result.definition["kind"] == "complainants" else "query"
    for holder, items in found.holders.items():
        row = rows.get(holder)
        if row is None:
            session.add(AffectedHolder(
                incident_id=incident.id, holder_id=holder, source=source,
                facts={found.fact: items}, added_at=now, notified_at=None,
                resolution_notified_at=None,
            ))  # fmt: skip
        else:
            row.facts = _merge(row.facts, found.fact, items)
    session.flush()
    record_event(
        session, incident, "affected_added",
        {"query_id": str(query.id), "definition": result.definition, "holders": result.holders,
         "new_holders": result.new_holders, "totals": result.totals},
        actor_id, now,
    )  # fmt: skip
    return query, result


def add_holders(session: Session, incident: Incident, holder_ids: list[uuid.UUID], *,
                actor_id: uuid.UUID, now: datetime) -> int:  # fmt: skip
    """Staff name affected holders one by one; how many were new."""
    wanted = list(dict.fromkeys(holder_ids))
    known = set(session.scalars(select(User.id).where(User.id.in_(wanted), User.kind == "holder")))
    unknown = [str(h) for h in wanted if h not in known]
    if unknown:
        raise InvalidAffectedQuery("not holders: " + ", ".join(unknown[:5]), field="holder_ids")
    added = 0
    for holder in wanted:
        if session.get(AffectedHolder, (incident.id, holder)) is None:
            session.add(AffectedHolder(
                incident_id=incident.id, holder_id=holder, source="staff", facts={},
                added_at=now, notified_at=None, resolution_notified_at=None,
            ))  # fmt: skip
            added += 1
    session.flush()
    if added:
        record_event(session, incident, "affected_added", {"staff": True, "new_holders": added},
                     actor_id, now)  # fmt: skip
    return added


def counts(session: Session, incident: Incident) -> dict[str, int]:
    """Affected holders by source, and how many were told."""
    out: dict[str, int] = defaultdict(int)
    for row in session.scalars(
        select(AffectedHolder).where(AffectedHolder.incident_id == incident.id)
    ):
        out["total"] += 1
        out[row.source] += 1
        if row.notified_at is not None:
            out["notified"] += 1
        if row.resolution_notified_at is not None:
            out["resolution_notified"] += 1
    return {"total": 0, "notified": 0, **out}
