"""Statements and points for the holder: /v1/me/statements (filtered lines, monthly summary
by category, CSV export) and /v1/me/points (balance, lots, redeeming)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from anxin.api.deps import ReadUoW, WriteUoW
from anxin.identity.deps import HolderAuth
from anxin.kit.errors import Unprocessable
from anxin.ledger.endpoints import IdempotencyKey
from anxin.wallet import points, statements
from anxin.wallet.accounts import BUSINESS_TZ
from anxin.wallet.api_deps import aware
from anxin.wallet.idempotency import REPLAYED_HEADER, claim, remember
from anxin.wallet.money_schemas import (
    PointsLotOut,
    PointsOut,
    RedeemCreate,
    RedeemOut,
)

router = APIRouter(prefix="/v1/me", tags=["wallet statements"])
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
AssetQuery = Annotated[str, Query(pattern=r"^[A-Z][A-Z0-9_]{2,15}$")]


class LineOut(BaseModel):
    id: str
    at: datetime
    type: str
    status: str
    amount: int
    fee: int
    counterparty: str | None
    category: str
    balance_after: int
    asset: str
    reference: str | None
    note: str | None


class StatementOut(BaseModel):
    data: list[LineOut]
    next_cursor: str | None


class CategoryOut(BaseModel):
    category: str
    money_in: int
    money_out: int
    fees: int
    count: int


class SummaryOut(BaseModel):
    month: str
    asset: str
    categories: list[CategoryOut]
    money_in: int
    money_out: int
    fees: int


def _filters(
    since: datetime | None, until: datetime | None, types: list[str] | None,
    counterparty: str | None, category: str | None, min_amount: int | None,
    max_amount: int | None,
) -> statements.Filters:  # fmt: skip
    return statements.Filters(
        since=aware(since, "from"), until=aware(until, "to"),
        types=frozenset(types or ()), counterparty=counterparty, category=category,
        min_amount=min_amount, max_amount=max_amount,
    )  # fmt: skip


def _line(x: statements.Line) -> LineOut:
    return LineOut(
        id=str(x.id), at=x.at, type=x.type, status=x.status, amount=x.amount, fee=x.fee,
        counterparty=x.counterparty, category=x.category, balance_after=x.balance_after,
        asset=x.asset, reference=x.reference, note=x.note,
    )  # fmt: skip


Since = Annotated[datetime | None, Query(alias="from", description="ISO 8601, inclusive")]
Until = Annotated[datetime | None, Query(alias="to", description="ISO 8601, exclusive")]
Types = Annotated[list[str] | None, Query(alias="type", max_length=20)]
Counterparty = Annotated[str | None, Query(max_length=100)]
Category = Annotated[str | None, Query(max_length=64)]
MinAmount = Annotated[int | None, Query(ge=0, le=2**63 - 1)]


@router.get("/statements", response_model=StatementOut)
def get_statement(
    auth: HolderAuth, uow: ReadUoW, asset: AssetQuery = "CNY", since: Since = None,
    until: Until = None, types: Types = None, counterparty: Counterparty = None,
    category: Category = None, min_amount: MinAmount = None, max_amount: MinAmount = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> StatementOut:  # fmt: skip
    """Your consumption records, newest first: what each was, with whom, the fee, the
    balance after. Filter by date range, type, counterparty (part of the name), category
    and amount."""
    f = _filters(since, until, types, counterparty, category, min_amount, max_amount)
    page = statements.statement(uow.session, auth.user.id, asset, f, limit=limit, cursor=cursor)
    return StatementOut(data=[_line(x) for x in page.lines], next_cursor=page.next_cursor)


@router.get("/statements/summary", response_model=SummaryOut)
def get_summary(
    auth: HolderAuth, uow: ReadUoW,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$", examples=["2030-01"])] = None,
    asset: AssetQuery = "CNY",
) -> SummaryOut:  # fmt: skip
    """Money in and out per category in one calendar month (China Standard Time; this
    month by default)."""
    month = month or f"{auth.now.astimezone(BUSINESS_TZ):%Y-%m}"
    found = _MONTH.fullmatch(month)
    assert found is not None
    year, number = int(found.group(1)), int(found.group(2))
    if not (1 <= number <= 12 and 1970 <= year <= 9998):
        raise Unprocessable("month is YYYY-MM", code="invalid_month")
    rows = statements.monthly_summary(uow.session, auth.user.id, asset, year, number)
    return SummaryOut(
        month=month, asset=asset,
        categories=[CategoryOut(category=r.category, money_in=r.money_in,
                                money_out=r.money_out, fees=r.fees, count=r.count)
                    for r in rows],
        money_in=sum(r.money_in for r in rows), money_out=sum(r.money_out for r in rows),
        fees=sum(r.fees for r in rows),
    )  # fmt: skip


@router.get("/statements/export.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})  # fmt: skip
def export_csv(
    auth: HolderAuth, uow: ReadUoW, asset: AssetQuery = "CNY", since: Since = None,
    until: Until = None, types: Types = None, counterparty: Counterparty = None,
    category: Category = None, min_amount: MinAmount = None, max_amount: MinAmount = None,
) -> Response:  # fmt: skip
    """The same lines as CSV (amounts in major units, e.g. `-38.00`), for a spreadsheet."""
    f = _filters(since, until, types, counterparty, category, min_amount, max_amount)
    lines = statements.all_lines(uow.session, auth.user.id, asset, f)
    body = statements.to_csv(uow.session, lines, asset)
    name = f"anxin-statement-{asset}-{auth.now:%Y%m%d}.csv"
    return Response(
        body.encode("utf-8-sig"),  # the BOM makes spreadsheet programs read UTF-8
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- points -----------------------------------------------------------------------------------


@router.get("/points", response_model=PointsOut)
def get_points(auth: HolderAuth, uow: ReadUoW) -> PointsOut:
    """Your points and when they expire (history: `/v1/me/statements?asset=POINTS`)."""
    lots = points.lots_of(uow.session, auth.user.id, auth.now)
    return PointsOut(
        balance=points.balance(uow.session, auth.user.id),
        lots=[PointsLotOut(points=x.points, remaining=x.remaining, earned_at=x.earned_at,
                           expires_at=x.expires_at) for x in lots],
    )  # fmt: skip


@router.post("/points/redeem", status_code=201, response_model=RedeemOut)
def redeem(
    body: RedeemCreate, auth: HolderAuth, uow: WriteUoW, key: IdempotencyKey = None
) -> RedeemOut | JSONResponse:
    """Turn points into money in your wallet, to pay with."""
    found = claim(uow.session, auth.user.id, key, route="POST /v1/me/points/redeem",
                  body=body.model_dump(mode="json"), now=auth.now)  # fmt: skip
    if found.replay is not None:
        stored = found.replay
        return JSONResponse(stored.response, status_code=stored.status_code,
                            headers={REPLAYED_HEADER: "true"})  # fmt: skip
    done = points.redeem_points(
        uow.session, auth.vault, auth.user, body.points, body.asset, auth.now,
        reference=f"redeem:{found.key}",
    )  # fmt: skip
    out = RedeemOut(points=done.points, asset=done.asset, amount=done.amount)
    remember(uow.session, found, 201, out.model_dump(mode="json"))
    uow.commit()
    return out
