"""Executing an approved plan, one chunk of holders per transaction.

Each chunk, in the caller's transaction: lift the freezes, grant the fee waivers, then pay
refunds and goodwill from the operator's ``compensation`` account with one
``apply_batch`` call, every item's ledger command keyed by its ``transfer_key``; mark the
items done (or failed, with the ledger's reason), add to the plan's ``paid_count`` and tell
each holder what they received. The money, the item states, the counter and the notices
commit together, so a crash leaves whole chunks or nothing; and a re-run that submits an
item again gets the ledger's stored answer back instead of paying twice.

Chunks lock the plan row first, so two executors of the same plan take turns; the one
that comes second finds the items done and skips them.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, text, update
from sqlalchemy.orm import Session

from anxin.audit import service as audit
from anxin.incidents.remediation_approval import get_plan
from anxin.incidents.remediation_notify import Done, notify_done
from anxin.incidents.remediation_plan import require
from anxin.incidents.remediation_spec import KINDS, PlanNotExecutable, parse_spec
from anxin.incidents.service import get_incident, record_event
from anxin.kit.errors import AnxinError
from anxin.ledger.batch import apply_batch
from anxin.ledger.commands import Command, IdempotencyClaim, TransferOp
from anxin.models import User, WalletAccount
from anxin.models.incidents import Incident, RemediationItem, RemediationPlan
from anxin.privacy.vault import Vault
from anxin.wallet import accounts, fees, freeze

OPERATOR_ACCOUNT = "compensation"  # the operator's own budget; may go negative
KEY_SCOPE = "remediation"
_items = cast(Table, RemediationItem.__table__)
_ORDER = {kind: n for n, kind in enumerate(KINDS)}


@dataclass(frozen=True)
class Pending:
    id: uuid.UUID
    holder_id: uuid.UUID
    kind: str


@dataclass
class ChunkResult:
    done: int = 0
    failed: int = 0
    skipped: int = 0  # already done by another run


def start(session: Session, plan_id: uuid.UUID, staff: User, *, now: datetime) -> RemediationPlan:
    """Begin (or resume) executing an approved plan; a finished plan is left as it is."""
    require(staff, "remediation:approve")
    plan = get_plan(session, plan_id, for_update=True)
    if plan.status == "done":  # a re-run after the end: nothing to do, nothing to record
        return plan
    if plan.status not in ("approved", "executing"):
        raise PlanNotExecutable(f"the plan is {plan.status}")
    first = plan.status == "approved"
    plan.status = "executing"
    plan.started_at = plan.started_at or now
    session.flush()
    incident = get_incident(session, plan.incident_id)
    kind = "remediation_started" if first else "remediation_resumed"
    data = {"plan_id": str(plan.id), "paid": plan.paid_count, "items": plan.item_count}
    record_event(session, incident, kind, data, staff.id, now)
    audit.append(session, event=f"remediation.{kind.split('_')[1]}", actor_id=staff.id,
                 actor_role=staff.role, subject_id=plan.id,
                 data={"incident_id": incident.id, **data}, now=now)  # fmt: skip
    return plan


def pending_items(session: Session, plan_id: uuid.UUID) -> list[Pending]:
    """The plan's pending items, each holder's together and in paying order."""
    i = RemediationItem
    rows = session.execute(
        select(i.id, i.holder_id, i.kind).where(i.plan_id == plan_id, i.status == "pending")
    )
    found = [Pending(*row) for row in rows]
    # Item ids were handed out in holder and paying order when the plan was prepared.
    found.sort(key=lambda p: p.id.int)
    return found


def chunks(pending: Sequence[Pending], size: int) -> list[list[uuid.UUID]]:
    """Groups of about ``size`` items that never split one holder's items."""
    groups: list[list[uuid.UUID]] = []
    current: list[uuid.UUID] = []
    for n, item in enumerate(pending):
        current.append(item.id)
        last_of_holder = n + 1 == len(pending) or pending[n + 1].holder_id != item.holder_id
        if len(current) >= size and last_of_holder:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


@dataclass(frozen=True, slots=True)
class _Item:
    id: uuid.UUID
    holder_id: uuid.UUID
    kind: str
    asset: str | None
    amount: int
    ref: str
    transfer_key: str


_ITEM_COLUMNS = tuple(getattr(RemediationItem, name) for name in _Item.__slots__)


def _fingerprint(item: _Item, destination: uuid.UUID) -> str:
    body = b"%s|%s|%d|%s" % (
        item.id.bytes,
        destination.bytes,
        item.amount,
        str(item.asset).encode(),
    )
    return hashlib.sha256(body).hexdigest()


class _Chunk:
    def __init__(self, session: Session, vault: Vault, plan: RemediationPlan,
                 incident: Incident, staff: User, now: datetime) -> None:  # fmt: skip
        self.session, self.vault, self.plan, self.incident = session, vault, plan, incident
        self.staff, self.now = staff, now
        self.spec = parse_spec(plan.spec)
        self.updates: list[dict[str, Any]] = []
        self.done: list[Done] = []

    def mark(self, item: _Item, *, transfer_id: uuid.UUID | None = None,
             error: str | None = None, until: datetime | None = None) -> None:  # fmt: skip
        self.updates.append({
            "b_id": item.id, "b_status": "failed" if error else "done",
            "b_transfer_id": transfer_id, "b_error": error[:500] if error else None,
            "b_done_at": None if error else self.now,
        })  # fmt: skip
        if error is None:
            self.done.append(Done(item.holder_id, item.kind, item.asset, item.amount, item.ref,
                                  until))  # fmt: skip

    def unfreeze(self, item: _Item, holder: User) -> None:
        assert self.spec.unfreeze is not None
        note = f"{self.incident.reference}: {self.spec.unfreeze.note}"
        try:
            with self.session.begin_nested():
                freeze.lift(self.session, self.vault, self.staff, holder, uuid.UUID(item.ref),
                            note=note, now=self.now)  # fmt: skip
        except AnxinError as error:
            if error.code != "freeze_not_active":  # lifted meanwhile: the goal holds
                self.mark(item, error=error.code)
                return
        self.mark(item)

    def waive(self, item: _Item) -> None:
        spec = self.spec.fee_waiver
        assert spec is not None
        until = self.now + timedelta(days=spec.days)
        fees.create_waiver(
            self.session, kind="compensation", user_id=item.holder_id,
            reason=f"{self.incident.reference}: {self.spec.note}"[:500],
            discount_bps=spec.discount_bps, starts_at=self.now, ends_at=until,
            operation=spec.operation, asset=spec.asset, max_uses=spec.max_uses,
            created_by=self.staff.id, now=self.now,
        )  # fmt: skip
        self.mark(item, until=until)

    def pay(self, items: list[_Item]) -> None:
        if not items:
            return
        wallets = self._wallets({(i.holder_id, str(i.asset)) for i in items})
        operators = {
            asset: accounts.system_account(self.session, OPERATOR_ACCOUNT, asset, self.now).id
            for asset in sorted({str(i.asset) for i in items})
        }
        metadata = {"counterparty": "Anxin", "category": "refunds",
                    "incident": self.incident.reference}  # fmt: skip
        commands = []
        for item in items:
            asset = str(item.asset)
            destination = wallets[(item.holder_id, asset)]
            op = TransferOp(
                operators[asset], destination, item.amount, asset, kind=f"incident_{item.kind}",
                reference=f"{self.incident.reference}:{item.kind}",
                metadata={**metadata, "refunds": item.ref} if item.ref else metadata,
            )  # fmt: skip
            claim = IdempotencyClaim(KEY_SCOPE, item.transfer_key, _fingerprint(item, destination))
            commands.append(Command((op,), idempotency=claim))
        self.session.flush()  # the ledger reads accounts created just now
        results = apply_batch(self.session.connection(), commands, self.now)
        for item, result in zip(items, results, strict=True):
            if result.ok:
                self.mark(item, transfer_id=uuid.UUID(str(result.outcomes[0]["transfer"]["id"])))
            elif result.key_reused:
                self.mark(item, error="idempotency_key_reused")
            else:
                self.mark(item, error=str(result.outcomes[0].get("error", "rejected")))

    def _wallets(
        self, wanted: set[tuple[uuid.UUID, str]]
    ) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
        owners = {f"{accounts.HOLDER_PREFIX}{holder_id}": holder_id for holder_id, _ in wanted}
        found = {
            (owners[owner], asset): account_id
            for owner, asset, account_id in self.session.execute(
                select(WalletAccount.owner, WalletAccount.asset, WalletAccount.account_id)
                .where(WalletAccount.owner.in_(owners))
            )
            if (owners[owner], asset) in wanted
        }  # fmt: skip
        for holder_id, asset in sorted(wanted - set(found)):
            account = accounts.wallet_account(self.session, holder_id, asset, self.now)
            found[(holder_id, asset)] = account.id
        return found


# PostgreSQL: one statement for the chunk's item states (1,000 single-row updates were a
# fifth of its time); SQLite: executemany, which costs it no round trips.
_PG_STATES = text(
    "UPDATE remediation_items AS i SET status = v.status, transfer_id = v.transfer_id, "
    "error = v.error, done_at = CASE WHEN v.status = 'done' THEN :now END "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), "
    "CAST(:transfers AS uuid[]), CAST(:errors AS text[])) "
    "AS v(id, status, transfer_id, error) WHERE i.id = v.id AND i.status = 'pending'"
)


def _save_states(session: Session, updates: list[dict[str, Any]]) -> None:
    if not updates:
        return
    if session.get_bind().dialect.name != "postgresql":
        session.execute(
            update(_items)
            .where(_items.c.id == bindparam("b_id"), _items.c.status == "pending")
            .values(status=bindparam("b_status"), transfer_id=bindparam("b_transfer_id"),
                    error=bindparam("b_error"), done_at=bindparam("b_done_at")),
            updates,
        )  # fmt: skip
        return
    now = next((u["b_done_at"] for u in updates if u["b_done_at"] is not None), None)
    session.execute(_PG_STATES, {
        "ids": [u["b_id"] for u in updates], "statuses": [u["b_status"] for u in updates],
        "transfers": [u["b_transfer_id"] for u in updates],
        "errors": [u["b_error"] for u in updates], "now": now,
    })  # fmt: skip


def pay_chunk(session: Session, vault: Vault, plan_id: uuid.UUID, item_ids: Sequence[uuid.UUID],
              staff: User, *, now: datetime) -> ChunkResult:  # fmt: skip
    """Do the still-pending items among ``item_ids``; the caller commits."""
    plan = get_plan(session, plan_id, for_update=True)  # executors of one plan take turns
    if plan.status == "done":  # another executor finished it meanwhile
        return ChunkResult(skipped=len(item_ids))
    if plan.status != "executing":
        raise PlanNotExecutable(f"the plan is {plan.status}")
    incident = get_incident(session, plan.incident_id)
    i = RemediationItem
    # By primary key only, filtering here: PostgreSQL's estimate for (plan_id, status) is
    # off right after a plan's bulk insert, and it would scan every pending item per chunk.
    query = select(*_ITEM_COLUMNS, i.status, i.plan_id).where(i.id.in_(item_ids))
    items = [
        _Item(*row[:-2])
        for row in session.execute(query.order_by(i.id))
        if row[-2] == "pending" and row[-1] == plan.id
    ]
    result = ChunkResult(skipped=len(item_ids) - len(items))
    if not items:
        return result
    holders = {item.holder_id for item in items}
    locales = dict(session.execute(select(User.id, User.locale).where(User.id.in_(holders))).all())
    unfreezing = {item.holder_id for item in items if item.kind == "unfreeze"}
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(unfreezing)))}
    chunk = _Chunk(session, vault, plan, incident, staff, now)
    for item in items:
        if item.kind == "unfreeze":
            chunk.unfreeze(item, users[item.holder_id])
        elif item.kind == "fee_waiver":
            chunk.waive(item)
    chunk.pay([item for item in items if item.kind in ("refund", "goodwill")])
    _save_states(session, chunk.updates)
    result.done = sum(1 for u in chunk.updates if u["b_status"] == "done")
    result.failed = len(chunk.updates) - result.done
    plan.paid_count += result.done
    notify_done(session, vault, reference=incident.reference, plan_id=plan.id, done=chunk.done,
                locales=locales, now=now)  # fmt: skip
    session.flush()
    return result


def finish(session: Session, plan_id: uuid.UUID, staff: User, *, now: datetime) -> bool:
    """Mark the plan done once nothing is pending (failed items may be retried later)."""
    plan = get_plan(session, plan_id, for_update=True)
    if plan.status != "executing":
        return plan.status == "done"
    i = RemediationItem
    counts = dict(
        session.execute(
            select(i.status, func.count()).where(i.plan_id == plan.id).group_by(i.status)
        ).all()
    )  # fmt: skip
    if counts.get("pending", 0):
        return False
    plan.status, plan.finished_at = "done", now
    incident = get_incident(session, plan.incident_id, for_update=True)
    if incident.compensated_at is None:
        incident.compensated_at = now
    session.flush()
    data = {"plan_id": str(plan.id), "paid": counts.get("done", 0),
            "failed": counts.get("failed", 0), "items": plan.item_count}  # fmt: skip
    record_event(session, incident, "remediation_completed", data, staff.id, now)
    audit.append(session, event="remediation.completed", actor_id=staff.id,
                 actor_role=staff.role, subject_id=plan.id,
                 data={"incident_id": incident.id, **data}, now=now)  # fmt: skip
    return True


def retry_failed(session: Session, plan_id: uuid.UUID, staff: User, *, now: datetime) -> int:
    """Put failed items back to pending (after the cause was fixed, e.g. a closed wallet
    reopened). Each gets a new ledger key: the old one holds the stored rejection, which
    also proves the item was never paid."""
    require(staff, "remediation:approve")
    plan = get_plan(session, plan_id, for_update=True)
    if plan.status not in ("executing", "done"):
        raise PlanNotExecutable(f"the plan is {plan.status}")
    failed = list(
        session.scalars(
            select(RemediationItem).where(
                RemediationItem.plan_id == plan.id, RemediationItem.status == "failed"
            )
        )
    )
    for item in failed:
        attempt = item.transfer_key.count(":retry") + 1
        base = item.transfer_key.split(":retry", 1)[0]
        item.transfer_key, item.status, item.error = f"{base}:retry{attempt}", "pending", None
    if failed:
        plan.status, plan.finished_at = "executing", None
        incident = get_incident(session, plan.incident_id)
        record_event(session, incident, "remediation_retried",
                     {"plan_id": str(plan.id), "items": len(failed)}, staff.id, now)  # fmt: skip
    session.flush()
    return len(failed)
