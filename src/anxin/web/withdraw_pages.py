"""Withdrawing to a linked bank account: amount -> the fee and total shown -> step-up bound
to exactly that withdrawal -> the order, pending until the bank pays out.

The confirmation goes through the same idempotency store and route name as
``POST /v1/me/withdrawals`` (a replayed key finds the first order, money moves once) and the
same service, limits and notice.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity.limits import LimitPolicy
from anxin.identity.stepup import StepUpRequired
from anxin.identity.throttle import InvalidSecondFactor
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.assets import get_asset
from anxin.ledger.errors import rejection_error
from anxin.ledger.service import balance_of
from anxin.models import FundingOrder
from anxin.wallet import accounts, fees, freeze, notify, settlement, sources
from anxin.wallet.api_deps import funding_provider
from anxin.wallet.idempotency import claim, remember, step_up_kept
from anxin.wallet.money_endpoints import OrderNotFound, order_out
from anxin.wallet.money_schemas import WithdrawalCreate
from anxin.wallet.withdraw import start_withdrawal
from anxin.web import guard, stepup_flow
from anxin.web.account_pages import CheckedForm
from anxin.web.guard import Holder
from anxin.web.pages import InvalidAmountText, explain, locale_of, parse_amount, see_other, show
from anxin.web.render import format_money
from anxin.web.words import N_

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=100)]
ASSET = "CNY"
ROUTE = "POST /v1/me/withdrawals"  # the API's route name: a key replays across both
WORDS = (
    N_("pending"), N_("completed"), N_("failed"), N_("blocked"), N_("link_bank_account"),
    N_("withdrawal"), N_("Amount"), N_("Fee"), N_("total"), N_("bank_account"),
)  # fmt: skip
ERRORS = (
    N_("No such top-up or withdrawal"), N_("Not allowed"),
    N_("Idempotency key was already used with a different request"),
    N_("A request with this idempotency key is still being processed"),
)  # fmt: skip


def _orders(uow: UnitOfWork, holder: Holder) -> list[Any]:
    query = (
        select(FundingOrder)
        .where(FundingOrder.user_id == holder.user.id, FundingOrder.direction == "withdrawal")
        .order_by(FundingOrder.created_at.desc(), FundingOrder.id.desc())
        .limit(10)
    )
    return [order_out(uow.session, o) for o in uow.session.scalars(query)]


def _page(
    request: Request, container: ContainerDep, uow: UnitOfWork, holder: Holder, **extra: Any
) -> HTMLResponse:
    status = extra.pop("status_code", 200)
    banks = [s for s in sources.list_of(uow.session, holder.user.id) if s.kind == "bank_account"]
    wallet = accounts.find_wallet_account(uow.session, holder.user.id, ASSET)
    context = {
        "banks": banks, "orders": _orders(uow, holder), "tz": accounts.BUSINESS_TZ,
        "scale": get_asset(uow.session, ASSET).scale, "asset": ASSET,
        "available": balance_of(wallet).available if wallet is not None else 0,
        "done": request.query_params.get("done"), **extra,
    }  # fmt: skip
    return show(request, container, "withdraw.html", context, holder=holder, status_code=status)


@router.get("/withdraw", response_class=HTMLResponse)
def withdraw_page(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    return _page(request, container, uow, holder)


@router.post("/withdraw/accounts", response_class=HTMLResponse, dependencies=[CheckedForm])
def link_account(
    request: Request, container: ContainerDep, uow: WriteUoW,
    number: Annotated[str, Form(max_length=60)], challenge_id: Field = "", code: Field = "",
) -> Response:  # fmt: skip
    """Link a bank account to withdraw to (step-up bound to its last four characters)."""
    holder = guard.require_holder(request, container, uow)
    locale = locale_of(request)
    summary = [("bank_account", f"****{number.strip()[-4:]}")]
    fields = {"number": number}
    try:
        token = stepup_flow.answer(uow, container, holder, challenge_id, code)
        with step_up_kept(uow):
            sources.link(
                uow.session, holder.vault, holder.user, holder.session.id, kind="bank_account",
                number=number, step_up_token=token, now=holder.now,
            )  # fmt: skip
        uow.commit()
    except StepUpRequired as required:
        return stepup_flow.prompt(
            request, container, holder, required, action="link_bank_account", summary=summary,
            fields=fields,
        )  # fmt: skip
    except InvalidSecondFactor as error:
        return stepup_flow.prompt(
            request, container, holder, challenge_id, action="link_bank_account",
            summary=summary, fields=fields, error=explain(error, locale),
        )  # fmt: skip
    except AnxinError as error:
        uow.session.rollback()
        return _page(request, container, uow, holder, account_error=explain(error, locale),
                     status_code=error.status)  # fmt: skip
    return see_other("/withdraw?done=account")


def _destination(uow: UnitOfWork, holder: Holder, text: str) -> Any:
    try:
        wanted = uuid.UUID(text)
    except ValueError as error:
        raise sources.SourceNotFound("choose a linked bank account") from error
    found = sources.get(uow.session, holder.user.id, wanted)
    if found.kind != "bank_account":
        raise sources.InvalidNumber(
            "withdrawals go to a bank account, not a card", code="not_a_bank_account"
        )
    return found


def _check_can_pay(uow: UnitOfWork, holder: Holder, total: int) -> None:
    """Say it on the form, before the step-up: a freeze, or too little money."""
    freeze.ensure_can_send(uow.session, holder.user)
    wallet = accounts.find_wallet_account(uow.session, holder.user.id, ASSET)
    available = balance_of(wallet).available if wallet is not None else 0
    if available < total:
        scale = get_asset(uow.session, ASSET).scale
        raise rejection_error(
            "insufficient_funds",
            f"Insufficient funds: {format_money(total, scale)} {ASSET} needed with the fee, "
            f"{format_money(available, scale)} {ASSET} available",
        )  # fmt: skip


@router.post("/withdraw", response_class=HTMLResponse, dependencies=[CheckedForm])
def quote(
    request: Request, container: ContainerDep, uow: WriteUoW, destination_id: Field = "",
    amount: Field = "",  # empty: said on the form, not as a bare 422
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    try:
        scale = get_asset(uow.session, ASSET).scale
        minor = parse_amount(amount, scale)
        destination = _destination(uow, holder, destination_id)
        found = fees.quote_fee(uow.session, "withdrawal", ASSET, minor, holder.user.id,
                               holder.now)  # fmt: skip
        _check_can_pay(uow, holder, minor + found.fee)
    except AnxinError as error:
        return _page(request, container, uow, holder, error=explain(error, locale_of(request)),
                     amount=amount, chosen=destination_id, status_code=error.status)  # fmt: skip
    context = {
        "w": {"destination_id": str(destination.id), "masked": destination.masked,
              "amount": minor, "fee": found.fee, "total": minor + found.fee, "scale": scale,
              "asset": ASSET, "waived": found.waived},
        "idempotency_key": str(uuid.uuid4()),
    }  # fmt: skip
    return show(request, container, "withdraw_confirm.html", context, holder=holder)


def _minor(text: str) -> int:
    # Our own hidden field (minor units, from the quote): digits only, never a float.
    if not text.isdigit() or len(text) > 18:
        raise InvalidAmountText("enter an amount such as 100 or 100.50")
    return int(text)


@router.post("/withdraw/confirm", response_class=HTMLResponse, dependencies=[CheckedForm])
def confirm(
    request: Request, container: ContainerDep, uow: WriteUoW, destination_id: Field,
    amount: Field, fee: Field, idempotency_key: Field, challenge_id: Field = "",
    code: Field = "",
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    locale = locale_of(request)
    fields = {"destination_id": destination_id, "amount": amount, "fee": fee,
              "idempotency_key": idempotency_key}  # fmt: skip
    summary: list[tuple[str, str]] = []
    try:
        scale = get_asset(uow.session, ASSET).scale
        minor, shown_fee = _minor(amount), _minor(fee)
        destination = _destination(uow, holder, destination_id)
        summary = [
            ("bank_account", destination.masked),
            ("Amount", f"{format_money(minor, scale)} {ASSET}"),
            ("Fee", f"{format_money(shown_fee, scale)} {ASSET}"),
            ("total", f"{format_money(minor + shown_fee, scale)} {ASSET}"),
        ]  # fmt: skip
        token = stepup_flow.answer(uow, container, holder, challenge_id, code)
        order_id = _withdraw(request, container, uow, holder, destination, minor, shown_fee,
                             idempotency_key, token)  # fmt: skip
    except StepUpRequired as required:
        return stepup_flow.prompt(request, container, holder, required, action="withdrawal",
                                  summary=summary, fields=fields)  # fmt: skip
    except InvalidSecondFactor as error:
        return stepup_flow.prompt(
            request, container, holder, challenge_id, action="withdrawal", summary=summary,
            fields=fields, error=explain(error, locale),
        )  # fmt: skip
    except AnxinError as error:
        uow.session.rollback()
        return _page(request, container, uow, holder, error=explain(error, locale),
                     status_code=error.status)  # fmt: skip
    return see_other(f"/withdraw/{order_id}?done=started")


def _withdraw(
    request: Request, container: ContainerDep, uow: UnitOfWork, holder: Holder,
    destination: Any, minor: int, shown_fee: int, key: str, token: str | None,
) -> str:  # fmt: skip
    """What ``POST /v1/me/withdrawals`` does; the order's id (the first one on a replay)."""
    provider = funding_provider(request, container)
    body = WithdrawalCreate(destination_id=destination.id, amount=minor, asset=ASSET,
                            fee=shown_fee).model_dump(mode="json")  # fmt: skip
    found = claim(uow.session, holder.user.id, key, route=ROUTE, body=body, now=holder.now)
    if found.replay is not None:
        return str(found.replay.response["order_id"])
    with step_up_kept(uow):
        started = start_withdrawal(
            uow.session, holder.vault, holder.user, holder.session.id,
            destination_id=destination.id, amount=minor, asset=ASSET, provider=provider.name,
            step_up_token=token, now=holder.now, shown_fee=shown_fee,
            policy=LimitPolicy.from_settings(container.settings),
        )  # fmt: skip
    remember(uow.session, found, 201, {"order_id": str(started.order.id)})
    notify.money_moved(
        uow.session, holder.vault, holder.user, "withdrawal.started", amount=minor, asset=ASSET,
        fee=started.order.fee, counterparty=sources.describe(destination, holder.user.locale),
        reference=str(started.order.id), incoming=False, now=holder.now,
    )  # fmt: skip
    order_id = started.order.id
    uow.commit()  # the order and its holds exist before the bank hears of them
    settlement.submit(container.database, provider, holder.vault, order_id,
                      started.instruction, holder.now)  # fmt: skip
    return str(order_id)


@router.get("/withdraw/{order_id}", response_class=HTMLResponse)
def order_page(
    order_id: str, request: Request, container: ContainerDep, uow: WriteUoW
) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    try:
        wanted = uuid.UUID(order_id)
        row = uow.session.scalars(
            select(FundingOrder).where(FundingOrder.id == wanted)
            .execution_options(populate_existing=True)
        ).first()  # fmt: skip
        if row is None or row.user_id != holder.user.id or row.direction != "withdrawal":
            raise OrderNotFound()
    except (ValueError, OrderNotFound):
        return show(request, container, "withdraw_missing.html", holder=holder, status_code=404)
    context = {
        "o": order_out(uow.session, row), "scale": get_asset(uow.session, row.asset).scale,
        "tz": accounts.BUSINESS_TZ, "done": request.query_params.get("done"),
    }  # fmt: skip
    return show(request, container, "withdraw_done.html", context, holder=holder)
