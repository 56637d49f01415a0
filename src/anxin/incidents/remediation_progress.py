"""How far a plan has got: items done of the total, per kind and per asset (money planned
and paid), from one grouped query over the plan's items."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.incidents.remediation_spec import KINDS
from anxin.models.incidents import RemediationItem, RemediationPlan


def plans_of(session: Session, incident_id: uuid.UUID) -> list[RemediationPlan]:
    """The incident's plans, newest first."""
    query = select(RemediationPlan).where(RemediationPlan.incident_id == incident_id)
    return list(session.scalars(query.order_by(RemediationPlan.prepared_at.desc())))


def progress(session: Session, plan: RemediationPlan) -> dict[str, Any]:
    i = RemediationItem
    rows = session.execute(
        select(i.kind, i.status, i.asset, func.count(), func.coalesce(func.sum(i.amount), 0))
        .where(i.plan_id == plan.id)
        .group_by(i.kind, i.status, i.asset)
    ).all()  # fmt: skip
    per_kind = {kind: {"total": 0, "done": 0, "failed": 0} for kind in KINDS}
    per_asset: dict[str, dict[str, int]] = {}
    for kind, status, asset, count, amount in rows:
        slot = per_kind.setdefault(kind, {"total": 0, "done": 0, "failed": 0})
        slot["total"] += count
        if status in ("done", "failed"):
            slot[status] += count
        if asset is not None and amount:
            money = per_asset.setdefault(asset, {"planned": 0, "paid": 0})
            money["planned"] += int(amount)
            if status == "done":
                money["paid"] += int(amount)
    failed = sum(slot["failed"] for slot in per_kind.values())
    return {
        "plan_id": plan.id, "incident_id": plan.incident_id, "status": plan.status,
        "spec": plan.spec, "totals": plan.totals, "total": plan.item_count,
        "paid": plan.paid_count, "failed": failed,
        "pending": plan.item_count - plan.paid_count - failed,
        "per_kind": per_kind, "per_asset": dict(sorted(per_asset.items())),
        "prepared_by": plan.prepared_by, "prepared_at": plan.prepared_at,
        "approved_by": plan.approved_by, "approved_at": plan.approved_at,
        "started_at": plan.started_at, "finished_at": plan.finished_at,
    }  # fmt: skip
