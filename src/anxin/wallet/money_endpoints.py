"""The holder's money API under /v1/me: wallet, cards and bank accounts, fee quotes,
top-ups, withdrawals and notification preferences. ``api`` gathers this router and the
wallet's others (statements and points, freezes, staff operations) for the app.

A money-moving request is shown before it is confirmed (``GET /v1/me/fees/quote`` gives the
fee and total; sending the ``fee`` seen makes the request fail if it changed meanwhile),
carries an ``Idempotency-Key``, and is notified after.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.api.deps import Container, ContainerDep, ReadUoW, WriteUoW
from anxin.identity.deps import HolderAuth, StepUpToken
from anxin.identity.limits import LimitPolicy
from anxin.kit.errors import NotFound, Unprocessable
from anxin.kit.ids import parse_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.endpoints import IdempotencyKey
from anxin.ledger.schemas import BalanceOut
from anxin.ledger.service import balance_of
from anxin.models import FundingOrder, FundingSource
from anxin.wallet import (
    accounts,
    fees,
    freeze,
    freeze_endpoints,
    notify,
    points,
    settlement,
    sources,
    staff_endpoints,
    statement_endpoints,
)
from anxin.wallet.api_deps import funding_provider
from anxin.wallet.funding import FundingProvider
from anxin.wallet.idempotency import REPLAYED_HEADER, claim, remember, step_up_kept
from anxin.wallet.money_schemas import (
    FeeQuoteOut,
    FundingOrderList,
    FundingOrderOut,
    PreferencesIn,
    PreferencesOut,
    QuoteRequest,
    SourceCreate,
    SourceList,
    SourceOut,
    TopUpCreate,
    WalletAccountOut,
    WalletOut,
    WithdrawalCreate,
)
from anxin.wallet.topup import Started, start_topup
from anxin.wallet.withdraw import start_withdrawal

router = APIRouter(prefix="/v1/me", tags=["wallet"])
STEP_UP: dict[int | str, dict[str, Any]] = {
    401: {"description": "`step_up_required`: answer the challenge, then repeat the call."}
}


class OrderNotFound(NotFound):
    code = "order_not_found"
    title = "No such top-up or withdrawal"


# -- wallet and funding sources ---------------------------------------------------------------


@router.get("/wallet", response_model=WalletOut)
def get_wallet(auth: HolderAuth, uow: ReadUoW) -> WalletOut:
    """Balances per asset (posted, pending, available), points, and any freeze."""
    session = uow.session
    rows = []
    for account in accounts.wallet_accounts_of(session, auth.user.id):
        b = balance_of(account)
        rows.append(WalletAccountOut(
            asset=account.asset, status=account.status,
            balance=BalanceOut(posted=b.posted, pending=b.pending, available=b.available),
        ))  # fmt: skip
    active = freeze.active_freezes(session, auth.user.id)
    return WalletOut(
        accounts=rows, points=points.balance(session, auth.user.id),
        freezes=[freeze_endpoints.notice(f, auth.user.locale) for f in active],
    )  # fmt: skip


def source_out(row: FundingSource) -> SourceOut:
    return SourceOut(id=row.id, kind=row.kind, masked=row.masked, created_at=row.created_at)


@router.get("/funding-sources", response_model=SourceList)
def list_sources(auth: HolderAuth, uow: ReadUoW) -> SourceList:
    return SourceList(data=[source_out(s) for s in sources.list_of(uow.session, auth.user.id)])


@router.post("/funding-sources", status_code=201, response_model=SourceOut, responses=STEP_UP)
def link_source(
    body: SourceCreate, auth: HolderAuth, uow: WriteUoW, token: StepUpToken = None
) -> SourceOut:
    """Link a bank card (top-ups) or bank account (top-ups and withdrawals); needs
    step-up for `{"type": "link_funding_source", "kind": ..., "last4": ...}`."""
    with step_up_kept(uow):
        row = sources.link(
            uow.session, auth.vault, auth.user, auth.session.id, kind=body.kind,
            number=body.number, step_up_token=token, now=auth.now,
        )  # fmt: skip
    uow.commit()
    return source_out(row)


@router.delete("/funding-sources/{source_id}", status_code=204, response_class=Response)
def remove_source(source_id: uuid.UUID, auth: HolderAuth, uow: WriteUoW) -> Response:
    sources.remove(uow.session, auth.user.id, source_id, auth.now)
    uow.commit()
    return Response(status_code=204)


# -- fee quotes -------------------------------------------------------------------------------


def quote_out(quote: fees.FeeQuote) -> FeeQuoteOut:
    return FeeQuoteOut(
        operation=quote.operation, asset=quote.asset, amount=quote.amount,
        gross_fee=quote.gross_fee, waived=quote.waived, waiver_kind=quote.waiver_kind,
        points_used=quote.points_used, points_discount=quote.points_discount, fee=quote.fee,
        total=quote.amount + quote.fee,
    )  # fmt: skip


@router.post("/fees/quote", response_model=FeeQuoteOut)
def quote(body: QuoteRequest, auth: HolderAuth, uow: ReadUoW) -> FeeQuoteOut:
    """The fee and total of an operation before confirming it (with waivers applied, and
    how many of the offered points would pay for it). Moves nothing."""
    found = fees.quote_fee(
        uow.session, body.operation, body.asset, body.amount, auth.user.id, auth.now,
        points_offered=body.points,
    )  # fmt: skip
    return quote_out(found)


# -- top-ups and withdrawals ------------------------------------------------------------------


def order_out(session: Session, order: FundingOrder) -> FundingOrderOut:
    source = sources.get(session, order.user_id, order.source_id, active=False)
    return FundingOrderOut(
        id=order.id, direction=order.direction, status=order.status, asset=order.asset,
        amount=order.amount, fee=order.fee, total=order.amount + order.fee,
        source=source_out(source), failure_reason=order.failure_reason,
        created_at=order.created_at, settled_at=order.settled_at,
    )  # fmt: skip


def _order(session: Session, user_id: uuid.UUID, order_id: uuid.UUID, direction: str,
           *, fresh: bool = False) -> FundingOrder:  # fmt: skip
    query = select(FundingOrder).where(FundingOrder.id == order_id)
    if fresh:
        query = query.execution_options(populate_existing=True)
    order = session.scalars(query).first()
    if order is None or order.user_id != user_id or order.direction != direction:
        raise OrderNotFound()
    return order


def _replay(uow: UnitOfWork, auth: Any, stored: Any, direction: str) -> JSONResponse:
    order = _order(uow.session, auth.user.id, uuid.UUID(stored.response["order_id"]), direction)
    body = order_out(uow.session, order).model_dump(mode="json")
    return JSONResponse(body, status_code=stored.status_code, headers={REPLAYED_HEADER: "true"})


def _finish(
    uow: UnitOfWork, container: Container, provider: FundingProvider, auth: Any,
    started: Started,
) -> FundingOrderOut:  # fmt: skip
    order_id = started.order.id
    uow.commit()  # the order and its holds exist before the bank hears of them
    settlement.submit(
        container.database, provider, auth.vault, order_id, started.instruction, auth.now
    )
    return order_out(uow.session, _order(uow.session, auth.user.id, order_id,
                                         started.order.direction, fresh=True))  # fmt: skip


@router.post("/topups", status_code=201, response_model=FundingOrderOut)
def create_topup(
    body: TopUpCreate, auth: HolderAuth, uow: WriteUoW, container: ContainerDep,
    request: Request, key: IdempotencyKey = None,
) -> FundingOrderOut | JSONResponse:  # fmt: skip
    """Top up from a linked card or bank account. The money is pending (visible, not
    spendable) until the bank confirms; if the bank refuses, nothing is credited."""
    provider = funding_provider(request, container)
    found = claim(uow.session, auth.user.id, key, route="POST /v1/me/topups",
                  body=body.model_dump(mode="json"), now=auth.now)  # fmt: skip
    if found.replay is not None:
        return _replay(uow, auth, found.replay, "topup")
    started = start_topup(
        uow.session, auth.vault, auth.user, source_id=body.source_id, amount=body.amount,
        asset=body.asset, provider=provider.name, now=auth.now, shown_fee=body.fee,
    )  # fmt: skip
    remember(uow.session, found, 201, {"order_id": str(started.order.id)})
    return _finish(uow, container, provider, auth, started)


@router.post("/withdrawals", status_code=201, response_model=FundingOrderOut, responses=STEP_UP)
def create_withdrawal(
    body: WithdrawalCreate, auth: HolderAuth, uow: WriteUoW, container: ContainerDep,
    request: Request, key: IdempotencyKey = None, token: StepUpToken = None,
) -> FundingOrderOut | JSONResponse:  # fmt: skip
    """Withdraw to a linked bank account: limits first, then step-up for
    `{"type": "withdrawal", "amount", "currency", "destination"}`. Amount and fee are held
    until the bank pays out, and given back if it fails."""
    provider = funding_provider(request, container)
    found = claim(uow.session, auth.user.id, key, route="POST /v1/me/withdrawals",
                  body=body.model_dump(mode="json"), now=auth.now)  # fmt: skip
    if found.replay is not None:
        return _replay(uow, auth, found.replay, "withdrawal")
    with step_up_kept(uow):
        started = start_withdrawal(
            uow.session, auth.vault, auth.user, auth.session.id,
            destination_id=body.destination_id, amount=body.amount, asset=body.asset,
            provider=provider.name, step_up_token=token, now=auth.now, shown_fee=body.fee,
            policy=LimitPolicy.from_settings(container.settings),
        )  # fmt: skip
    remember(uow.session, found, 201, {"order_id": str(started.order.id)})
    holder_source = sources.get(uow.session, auth.user.id, body.destination_id)
    notify.money_moved(
        uow.session, auth.vault, auth.user, "withdrawal.started", amount=body.amount,
        asset=body.asset, fee=started.order.fee,
        counterparty=sources.describe(holder_source, auth.user.locale),
        reference=str(started.order.id), incoming=False, now=auth.now,
    )  # fmt: skip
    return _finish(uow, container, provider, auth, started)


def _list(uow: UnitOfWork, user_id: uuid.UUID, direction: str, cursor: str | None,
          limit: int) -> FundingOrderList:  # fmt: skip
    query = select(FundingOrder).where(
        FundingOrder.user_id == user_id, FundingOrder.direction == direction
    )
    if cursor:
        after = parse_id(cursor)
        if after is None:
            raise Unprocessable("cursor is not one this API gave out", code="invalid_cursor")
        query = query.where(FundingOrder.id < after)
    rows = list(uow.session.scalars(query.order_by(FundingOrder.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return FundingOrderList(
        data=[order_out(uow.session, o) for o in rows],
        next_cursor=str(rows[-1].id) if more and rows else None,
    )


Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=64)]


@router.get("/topups", response_model=FundingOrderList)
def list_topups(auth: HolderAuth, uow: ReadUoW, limit: Limit = 50,
                cursor: Cursor = None) -> FundingOrderList:  # fmt: skip
    return _list(uow, auth.user.id, "topup", cursor, limit)


@router.get("/topups/{order_id}", response_model=FundingOrderOut)
def get_topup(order_id: uuid.UUID, auth: HolderAuth, uow: ReadUoW) -> FundingOrderOut:
    return order_out(uow.session, _order(uow.session, auth.user.id, order_id, "topup"))


@router.get("/withdrawals", response_model=FundingOrderList)
def list_withdrawals(auth: HolderAuth, uow: ReadUoW, limit: Limit = 50,
                     cursor: Cursor = None) -> FundingOrderList:  # fmt: skip
    return _list(uow, auth.user.id, "withdrawal", cursor, limit)


@router.get("/withdrawals/{order_id}", response_model=FundingOrderOut)
def get_withdrawal(order_id: uuid.UUID, auth: HolderAuth, uow: ReadUoW) -> FundingOrderOut:
    return order_out(uow.session, _order(uow.session, auth.user.id, order_id, "withdrawal"))


# -- notification preferences -----------------------------------------------------------------


@router.get("/notification-preferences", response_model=PreferencesOut)
def get_preferences(auth: HolderAuth, uow: ReadUoW) -> PreferencesOut:
    """Whether money notices also go by email and SMS (security notices always do)."""
    found = notify.preferences(uow.session, auth.user.id)
    return PreferencesOut(email=found.email, sms=found.sms)


@router.put("/notification-preferences", response_model=PreferencesOut)
def put_preferences(body: PreferencesIn, auth: HolderAuth, uow: WriteUoW) -> PreferencesOut:
    found = notify.set_preferences(
        uow.session, auth.user.id, email=body.email, sms=body.sms, now=auth.now
    )
    uow.commit()
    return PreferencesOut(email=found.email, sms=found.sms)


# Everything the wallet serves, for the app to include once.
api = APIRouter()
for _router in (router, statement_endpoints.router, freeze_endpoints.router,
                staff_endpoints.router):  # fmt: skip
    api.include_router(_router)
