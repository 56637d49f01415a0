"""Spending by category and month, for the statement page's chart and its table."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from anxin.wallet import statements
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.web.render import gettext

MONTHS = 6


def last_months(now: datetime, count: int = MONTHS) -> list[tuple[int, int]]:
    """``count`` calendar months (China Standard Time) ending with this one, oldest first."""
    local = now.astimezone(BUSINESS_TZ)
    index = local.year * 12 + local.month - 1
    return [(i // 12, i % 12 + 1) for i in range(index - count + 1, index + 1)]


@dataclass(frozen=True)
class Spending:
    months: list[str]  # "2026-11"
    categories: list[str]  # translated, biggest first
    amounts: list[list[int]]  # per category, per month: money out in minor units
    scale: int

    def chart(self) -> dict[str, Any]:
        """What the chart script draws (integers in minor units; it only formats them)."""
        return {
            "labels": self.months, "scale": self.scale,
            "datasets": [{"label": c, "data": row} for c, row in zip(self.categories,
                                                                       self.amounts, strict=True)],
        }  # fmt: skip


def spending(
    session: Session, user_id: uuid.UUID, asset: str, scale: int, now: datetime, locale: str
) -> Spending:
    months = last_months(now)
    totals: dict[str, list[int]] = {}
    for position, (year, month) in enumerate(months):
        for row in statements.monthly_summary(session, user_id, asset, year, month):
            if row.money_out:
                totals.setdefault(row.category, [0] * len(months))[position] += row.money_out
    ranked = sorted(totals.items(), key=lambda item: (-sum(item[1]), item[0]))
    return Spending(
        months=[f"{year}-{month:02d}" for year, month in months],
        categories=[gettext(locale, category) for category, _ in ranked],
        amounts=[row for _, row in ranked], scale=scale,
    )  # fmt: skip
