"""Building a remediation plan: every affected holder's items, computed from the spec and
the ledger, previewed (totals per asset, counts per kind, what was skipped and why) before
anything is saved, then saved as a draft that someone else must approve.

Refunds are checked against the ledger, not taken on the facts' word: the transfer must be
a posted debit out of the holder's own wallet, the refund is what is still outstanding
(less any reversal) and never more than the facts say was taken, and a debit under an open
or upheld dispute, or already in another live plan, is skipped (it is, or will be, paid
back that way). Holders are read in pages, so 100,000 of them cost a few hundred queries.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.identity.permissions import has_permission
from anxin.incidents.remediation_spec import (
    KINDS,
    NotAllowed,
    NothingToRemediate,
    PlanInProgress,
    RemediationSpec,
    named_debits,
    named_freezes,
)
from anxin.incidents.service import record_event
from anxin.kit.ids import new_id
from anxin.ledger.assets import get_asset
from anxin.models import Transfer, User, WalletAccount
from anxin.models.care import Dispute
from anxin.models.incidents import AffectedHolder, Incident, RemediationItem, RemediationPlan
from anxin.models.wallet_money import Freeze
from anxin.wallet.accounts import HOLDER_PREFIX

PAGE = 2000  # affected holders read per query
LIVE = ("draft", "approved", "executing")
_items = cast(Table, RemediationItem.__table__)


@dataclass
class Summary:
    """What a plan pays and changes: the preview shown before saving."""

    affected: int = 0  # affected holders looked at
    holders: int = 0  # holders with at least one item
    items: Counter[str] = field(default_factory=Counter)  # per kind
    totals: dict[str, int] = field(default_factory=dict)  # money per asset
    per_kind: dict[str, dict[str, int]] = field(default_factory=dict)  # kind -> asset -> money
    skipped: Counter[str] = field(default_factory=Counter)  # reason -> count

    def add(self, kind: str, asset: str | None, amount: int) -> None:
        self.items[kind] += 1
        if amount and asset is not None:
            self.totals[asset] = self.totals.get(asset, 0) + amount
            slot = self.per_kind.setdefault(kind, {})
            slot[asset] = slot.get(asset, 0) + amount

    def to_json(self) -> dict[str, Any]:
        return {
            "affected_holders": self.affected, "holders": self.holders,
            "items": {kind: self.items.get(kind, 0) for kind in KINDS},
            "item_count": sum(self.items.values()), "totals": dict(sorted(self.totals.items())),
            "per_kind": {k: dict(sorted(v.items())) for k, v in sorted(self.per_kind.items())},
            "skipped": dict(sorted(self.skipped.items())),
        }  # fmt: skip


@dataclass
class Draft:
    plan_id: uuid.UUID
    summary: Summary
    rows: list[dict[str, Any]]


def transfer_key(plan_id: uuid.UUID, kind: str, holder_id: uuid.UUID, ref: str) -> str:
    """The ledger idempotency key of one item (also unique among items)."""
    return f"remediation:{plan_id.hex}:{kind}:{holder_id.hex}" + (f":{ref}" if ref else "")


def require(staff: User, permission: str) -> None:
    if staff.kind != "staff" or not has_permission(staff.role, permission):
        raise NotAllowed(f"the {staff.role or staff.kind} role lacks {permission!r}")


def _pages(session: Session, incident_id: uuid.UUID) -> Iterator[list[tuple[uuid.UUID, Any]]]:
    last: uuid.UUID | None = None
    a = AffectedHolder
    while True:
        query = select(a.holder_id, a.facts).where(a.incident_id == incident_id)
        if last is not None:
            query = query.where(a.holder_id > last)
        page = [
            (row[0], row[1]) for row in session.execute(query.order_by(a.holder_id).limit(PAGE))
        ]
        if not page:
            return
        yield page
        last = page[-1][0]


@dataclass(frozen=True)
class _Debit:
    owner: str | None
    asset: str
    outstanding: int  # posted and not yet reversed
    state: str  # "ok" or why it cannot be refunded


def _debits(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, _Debit]:
    """The ledger's view of the named transfers: whose wallet they left, how much is still
    outstanding."""
    if not ids:
        return {}
    t = Transfer
    rows = session.execute(
        select(t.id, t.action, t.status, t.source_id, t.asset, t.amount, t.settled_amount,
               t.pending_id)
        .where(t.id.in_(ids))
    ).all()  # fmt: skip
    holds = [r.id for r in rows if r.action == "hold" and r.status == "posted"]
    # A payment's capture posts its hold; a dispute names the hold (the statement line).
    lines = {r.id: r.pending_id or r.id for r in rows}
    posted: dict[uuid.UUID, int] = {}  # a posted hold: what its post still has outstanding
    if holds:
        for pending_id, amount, reversed_ in session.execute(
            select(t.pending_id, t.amount, t.settled_amount)
            .where(t.pending_id.in_(holds), t.action == "post")
        ):  # fmt: skip
            if pending_id is not None:
                posted[pending_id] = amount - reversed_
    owners = dict(
        session.execute(
            select(WalletAccount.account_id, WalletAccount.owner)
            .where(WalletAccount.account_id.in_({r.source_id for r in rows}))
        ).all()
    )  # fmt: skip
    disputed = set(
        session.scalars(
            select(Dispute.transfer_id)
            .where(Dispute.transfer_id.in_(set(lines.values())),
                   Dispute.status.in_(("investigating", "upheld")))
        )
    )  # fmt: skip
    found: dict[uuid.UUID, _Debit] = {}
    for r in rows:
        state, outstanding = "ok", 0
        if r.action not in ("transfer", "hold", "post"):
            state = "not_a_debit"
        elif r.status == "pending":
            state = "debit_pending"
        elif r.status != "posted":
            state = "not_debited"  # a released hold moved nothing
        elif lines[r.id] in disputed:
            state = "disputed"
        else:
            outstanding = posted.get(r.id, 0) if r.action == "hold" else r.amount - r.settled_amount
            state = "ok" if outstanding > 0 else "already_reversed"
        found[r.id] = _Debit(owners.get(r.source_id), r.asset, outstanding, state)
    return found


def _planned_elsewhere(session: Session, holders: list[uuid.UUID], refs: set[str]) -> set[str]:
    """Debits already refunded, or to be, by another live or finished plan (found through
    the holders' items: ``holder_id`` is indexed, ``ref`` is not)."""
    if not refs:
        return set()
    i, p = RemediationItem, RemediationPlan
    query = (
        select(i.ref)
        .join(p, p.id == i.plan_id)
        .where(i.holder_id.in_(holders), i.kind == "refund", i.status != "failed",
               p.status != "rejected")
    )  # fmt: skip
    return set(session.scalars(query)) & refs


class _Builder:
    def __init__(self, session: Session, spec: RemediationSpec, plan_id: uuid.UUID) -> None:
        self.session, self.spec, self.plan_id = session, spec, plan_id
        self.summary = Summary()
        self.rows: list[dict[str, Any]] = []
        if spec.goodwill is not None:
            get_asset(session, spec.goodwill.asset)  # refuses an unknown asset now
        if spec.fee_waiver is not None and spec.fee_waiver.asset is not None:
            get_asset(session, spec.fee_waiver.asset)
        self.only = (
            set(spec.refund.transfer_ids) if spec.refund and spec.refund.transfer_ids else None
        )

    def item(self, holder_id: uuid.UUID, kind: str, asset: str | None, amount: int,
             ref: str = "") -> None:  # fmt: skip
        self.rows.append({
            "id": None, "plan_id": self.plan_id, "holder_id": holder_id, "kind": kind,
            "asset": asset, "amount": amount, "ref": ref,
            "transfer_key": transfer_key(self.plan_id, kind, holder_id, ref), "status": "pending",
            "transfer_id": None, "error": None, "done_at": None,
        })  # fmt: skip
        self.summary.add(kind, asset, amount)

    def page(self, page: list[tuple[uuid.UUID, Any]]) -> None:
        self.summary.affected += len(page)
        holders = [holder_id for holder_id, _ in page]
        facts = {h: f if isinstance(f, dict) else {} for h, f in page}
        closed = set(
            self.session.scalars(
                select(User.id).where(User.id.in_(holders), User.status == "closed")
            )
        )
        self.summary.skipped["holder_closed"] += len(closed)
        named = {h: named_debits(facts[h]) for h in holders if h not in closed}
        if self.spec.refund is not None and self.only is not None:
            named = {h: {t: a for t, a in d.items() if t in self.only} for h, d in named.items()}
        wanted = {t for debits in named.values() for t in debits} if self.spec.refund else set()
        if self.spec.refund is not None:  # to complete or reverse, not to pay twice
            self.summary.skipped["pending_topup"] += sum(
                len(facts[h].get("topups") or ()) for h in named
            )
        ledger = _debits(self.session, wanted)
        elsewhere = _planned_elsewhere(self.session, holders, {str(t) for t in ledger})
        freezes = self._freezes(holders, facts)
        for holder_id in holders:
            if holder_id in closed:
                continue
            before = len(self.rows)
            for freeze_id in freezes.get(holder_id, ()):
                self.item(holder_id, "unfreeze", None, 0, str(freeze_id))
            if (waiver := self.spec.fee_waiver) is not None:
                self.item(holder_id, "fee_waiver", waiver.asset, 0)
            if self.spec.refund is not None:
                self._refunds(holder_id, named[holder_id], ledger, elsewhere)
            if (goodwill := self.spec.goodwill) is not None:
                self.item(holder_id, "goodwill", goodwill.asset, goodwill.amount)
            self.summary.holders += len(self.rows) > before

    def _refunds(self, holder_id: uuid.UUID, named: dict[uuid.UUID, int | None],
                 ledger: dict[uuid.UUID, _Debit], elsewhere: set[str]) -> None:  # fmt: skip
        for transfer_id, claimed in sorted(named.items()):
            debit = ledger.get(transfer_id)
            if debit is None:
                self.summary.skipped["unknown_transfer"] += 1
            elif debit.owner != f"{HOLDER_PREFIX}{holder_id}":
                self.summary.skipped["not_holders_debit"] += 1
            elif debit.state != "ok":
                self.summary.skipped[debit.state] += 1
            elif str(transfer_id) in elsewhere:
                self.summary.skipped["already_planned"] += 1
            elif claimed is not None and claimed <= 0:
                self.summary.skipped["nothing_claimed"] += 1
            else:
                amount = debit.outstanding if claimed is None else min(claimed, debit.outstanding)
                self.item(holder_id, "refund", debit.asset, amount, str(transfer_id))

    def _freezes(
        self, holders: list[uuid.UUID], facts: dict[uuid.UUID, dict[str, Any]]
    ) -> dict[uuid.UUID, list[uuid.UUID]]:
        spec = self.spec.unfreeze
        if spec is None:
            return {}
        named = {h: named_freezes(facts[h]) for h in holders}
        reasons = set(spec.reason_codes or ())
        active: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
        seen: set[uuid.UUID] = set()
        query = select(Freeze.id, Freeze.user_id, Freeze.reason_code).where(
            Freeze.user_id.in_(holders), Freeze.status == "active"
        )
        for freeze_id, holder_id, reason in self.session.execute(query.order_by(Freeze.id)):
            if freeze_id in named[holder_id] or reason in reasons:
                active[holder_id].append(freeze_id)
                seen.add(freeze_id)
        self.summary.skipped["freeze_not_active"] += sum(len(ids - seen) for ids in named.values())
        return active


def build(session: Session, incident: Incident, spec: RemediationSpec,
          plan_id: uuid.UUID | None = None) -> Draft:  # fmt: skip
    """Every affected holder's items (nothing is written)."""
    builder = _Builder(session, spec, plan_id or new_id())
    for page in _pages(session, incident.id):
        builder.page(page)
    builder.summary.skipped = Counter({k: v for k, v in builder.summary.skipped.items() if v})
    return Draft(builder.plan_id, builder.summary, builder.rows)


def preview(session: Session, incident: Incident, spec: RemediationSpec) -> Summary:
    return build(session, incident, spec).summary


def live_plan(session: Session, incident_id: uuid.UUID) -> RemediationPlan | None:
    query = select(RemediationPlan).where(
        RemediationPlan.incident_id == incident_id, RemediationPlan.status.in_(LIVE)
    )
    return session.scalars(query.order_by(RemediationPlan.prepared_at.desc()).limit(1)).first()


def prepare(session: Session, incident: Incident, spec: RemediationSpec, *, staff: User,
            now: datetime) -> tuple[RemediationPlan, Summary]:  # fmt: skip
    """Save the plan as a draft (with all its items) for another person to approve."""
    require(staff, "remediation:prepare")
    # One plan at a time per incident: two drafts could refund the same debit twice.
    session.execute(select(Incident.id).where(Incident.id == incident.id).with_for_update())
    if live_plan(session, incident.id) is not None:
        raise PlanInProgress()
    draft = build(session, incident, spec)
    if not draft.rows:
        raise NothingToRemediate(f"nothing to pay or change for {incident.reference}",
                                 skipped=dict(draft.summary.skipped))  # fmt: skip
    summary = draft.summary
    plan = RemediationPlan(
        id=draft.plan_id, incident_id=incident.id, spec=spec.model_dump(mode="json"),
        status="draft", totals=dict(sorted(summary.totals.items())), item_count=len(draft.rows),
        paid_count=0, prepared_by=staff.id, prepared_at=now, approved_by=None, approved_at=None,
        started_at=None, finished_at=None,
    )  # fmt: skip
    session.add(plan)
    session.flush()
    # Ids in holder order, so the items of one holder are paid together and in order.
    ids = sorted(new_id() for _ in draft.rows)
    for row, item_id in zip(draft.rows, ids, strict=True):
        row["id"] = item_id
    for start in range(0, len(draft.rows), 5000):
        session.execute(insert(_items), draft.rows[start : start + 5000])
    data = {"plan_id": str(plan.id), **summary.to_json()}
    record_event(session, incident, "remediation_prepared", data, staff.id, now)
    audit.append(session, event="remediation.prepared", actor_id=staff.id, actor_role=staff.role,
                 subject_id=plan.id, data={"incident_id": incident.id, "totals": plan.totals,
                                           "item_count": plan.item_count}, now=now)  # fmt: skip
    return plan, summary
