"""The statement page: filters (htmx swaps the table in place), CSV export link."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.ledger.assets import get_asset
from anxin.wallet import statements
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.web import guard
from anxin.web.pages import locale_of, show
from anxin.web.spending import spending

router = APIRouter(include_in_schema=False)
TYPES = ("topup", "withdrawal", "p2p", "payment", "refund", "mandate_debit")
CATEGORIES = ("top_up", "withdrawal", "transfers", "shopping", "fees", "refunds", "rewards")
ASSETS = ("CNY", "POINTS")
Day = Annotated[str, Query(max_length=10)]


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None  # a half-typed date filters nothing rather than failing the page


def _start(day: date | None) -> datetime | None:
    # Days are China Standard Time days, as the statements' monthly summaries are.
    return datetime.combine(day, time.min, BUSINESS_TZ) if day else None


@router.get("/statement", response_class=HTMLResponse)
def statement_page(
    request: Request, container: ContainerDep, uow: WriteUoW, asset: str = "CNY",
    since: Annotated[str, Query(alias="from", max_length=10)] = "",
    until: Annotated[str, Query(alias="to", max_length=10)] = "",
    type: Annotated[str, Query(max_length=32)] = "",
    category: Annotated[str, Query(max_length=64)] = "",
    counterparty: Annotated[str, Query(max_length=100)] = "",
) -> HTMLResponse:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    asset = asset if asset in ASSETS else "CNY"
    first, last = _day(since), _day(until)
    filters = statements.Filters(
        since=_start(first), until=_start(last + timedelta(days=1)) if last else None,
        types=frozenset({type}) if type in TYPES else frozenset(),
        category=category if category in CATEGORIES else None,
        counterparty=counterparty.strip() or None,
    )  # fmt: skip
    page = statements.statement(uow.session, holder.user.id, asset, filters, limit=100)
    query = {"asset": asset}
    if filters.since:
        query["from"] = filters.since.isoformat()
    if filters.until:
        query["to"] = filters.until.isoformat()
    if filters.types:
        query["type"] = type
    if filters.category:
        query["category"] = category
    if filters.counterparty:
        query["counterparty"] = filters.counterparty
    scale = get_asset(uow.session, asset).scale
    chart = None
    if asset != "POINTS":  # points are not spent by category
        chart = spending(uow.session, holder.user.id, asset, scale, holder.now, locale_of(request))
    context = {
        "lines": page.lines, "scale": scale, "asset": asset, "spending": chart,
        "assets": ASSETS, "types": TYPES, "categories": CATEGORIES,
        "f": {"from": since if first else "", "to": until if last else "", "type": type,
              "category": category, "counterparty": counterparty},
        "csv_url": "/v1/me/statements/export.csv?" + urlencode(query),
        "tz": BUSINESS_TZ,
    }  # fmt: skip
    return show(request, container, "statement.html", context, holder=holder)
