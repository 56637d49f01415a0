"""The yearly complaint report (what a regulator asks for): complaints by category and
month, the share resolved, handling speed, and compensation paid.

The year is the calendar year in China Standard Time (UTC+8), the wallet's business day,
like the wallet's limits. Compensation is in minor units per asset:

- ``dispute_credits``: disputes upheld in the year, the amount the holder got back for
  good (a provisional credit made final, or credited at the decision);
  ``recovered_from_merchants`` is the part of it a merchant repaid through a refund, so
  ``dispute_credits - recovered_from_merchants`` is what the operator bore;
- ``fee_waivers``: fees waived in the year by waivers marked ``compensation`` (fees given
  back because an operation failed are not counted);
- ``total`` = ``dispute_credits + fee_waivers``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anxin.care.reports import InvalidReport, load_rows, metrics
from anxin.models import FeeCharge, FeeWaiver, Refund
from anxin.models.care import CATEGORIES, Dispute
from anxin.wallet.accounts import BUSINESS_TZ

MONTHS = range(1, 13)


def year_bounds(year: int) -> tuple[datetime, datetime]:
    if not 2000 <= year <= 2200:
        raise InvalidReport("year is between 2000 and 2200", field="year")
    return datetime(year, 1, 1, tzinfo=BUSINESS_TZ), datetime(year + 1, 1, 1, tzinfo=BUSINESS_TZ)


def compensation(session: Session, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
    """Per asset: dispute credits made final, the part merchants repaid, compensation fee
    waivers, and their total."""
    found: dict[str, dict[str, int]] = {}

    def add(asset: str, name: str, amount: int) -> None:
        slot = found.setdefault(
            asset, {"dispute_credits": 0, "recovered_from_merchants": 0, "fee_waivers": 0}
        )
        slot[name] += int(amount)

    upheld = (
        select(Dispute.asset, func.sum(Dispute.amount))
        .where(Dispute.status == "upheld", Dispute.decided_at >= since,
               Dispute.decided_at < until)
        .group_by(Dispute.asset)
    )  # fmt: skip
    for asset, amount in session.execute(upheld):
        add(asset, "dispute_credits", amount or 0)
    recovered = (
        select(Dispute.asset, func.sum(Refund.amount))
        .join(Refund, Refund.id == Dispute.recovery_refund_id)
        .where(Dispute.status == "upheld", Dispute.decided_at >= since,
               Dispute.decided_at < until)
        .group_by(Dispute.asset)
    )  # fmt: skip
    for asset, amount in session.execute(recovered):
        add(asset, "recovered_from_merchants", amount or 0)
    waived = (
        select(FeeCharge.asset, func.sum(FeeCharge.waived))
        .join(FeeWaiver, FeeWaiver.id == FeeCharge.waiver_id)
        .where(FeeWaiver.kind == "compensation", FeeCharge.released_at.is_(None),
               FeeCharge.created_at >= since, FeeCharge.created_at < until)
        .group_by(FeeCharge.asset)
    )  # fmt: skip
    for asset, amount in session.execute(waived):
        add(asset, "fee_waivers", amount or 0)
    for slot in found.values():
        slot["total"] = slot["dispute_credits"] + slot["fee_waivers"]
    return dict(sorted(found.items()))


def yearly(session: Session, year: int, *, as_of: datetime) -> dict[str, Any]:
    since, until = year_bounds(year)
    rows = load_rows(session, since=since, until=until)
    months: list[dict[str, Any]] = []
    for month in MONTHS:
        inside = [r for r in rows if r.created_at.astimezone(BUSINESS_TZ).month == month]
        counts = {c: sum(1 for r in inside if r.category == c) for c in CATEGORIES}
        resolved = sum(1 for r in inside if r.status in ("resolved", "closed"))
        months.append({"month": f"{year}-{month:02d}", "tickets": len(inside),
                       "resolved": resolved, "by_category": counts})  # fmt: skip
    resolved = sum(1 for r in rows if r.status in ("resolved", "closed"))
    speed = metrics(rows, as_of)
    return {
        "year": year, "timezone": "UTC+08:00", "since": since.isoformat(),
        "until": until.isoformat(), "as_of": as_of.isoformat(), "tickets": len(rows),
        "by_category": {c: sum(1 for r in rows if r.category == c) for c in CATEGORIES},
        "resolved": resolved,
        "share_resolved": round(resolved / len(rows), 4) if rows else None,
        "first_response": speed["first_response"], "resolution": speed["resolution"],
        "reopen": speed["reopen"], "csat": speed["csat"], "months": months,
        "compensation": compensation(session, since, until),
    }  # fmt: skip


def month_rows(report: dict[str, Any]) -> list[list[Any]]:
    """Header, one row per month and a total: counts by category, and resolved."""
    header = ["month", "tickets", "resolved", *CATEGORIES]
    lines: list[list[Any]] = [header]
    for month in report["months"]:
        lines.append([month["month"], month["tickets"], month["resolved"],
                      *(month["by_category"][c] for c in CATEGORIES)])  # fmt: skip
    lines.append(["total", report["tickets"], report["resolved"],
                  *(report["by_category"][c] for c in CATEGORIES)])  # fmt: skip
    return lines


def compensation_rows(report: dict[str, Any]) -> list[list[Any]]:
    names = ("dispute_credits", "recovered_from_merchants", "fee_waivers", "total")
    lines: list[list[Any]] = [["asset", *names]]
    for asset, slot in report["compensation"].items():
        lines.append([asset, *(slot[n] for n in names)])
    return lines
