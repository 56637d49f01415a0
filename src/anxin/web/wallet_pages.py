"""The holder's dashboard and top-up pages."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity import factors
from anxin.identity.stepup import StepUpRequired
from anxin.identity.throttle import InvalidSecondFactor
from anxin.kit.errors import AnxinError
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.assets import get_asset
from anxin.ledger.service import balance_of
from anxin.wallet import accounts, freeze, freeze_endpoints, points, settlement, sources, statements
from anxin.wallet.api_deps import funding_provider
from anxin.wallet.idempotency import claim, remember, step_up_kept
from anxin.wallet.topup import start_topup
from anxin.web import appeal_pages, guard, stepup_flow
from anxin.web.account_pages import CheckedForm
from anxin.web.guard import Holder
from anxin.web.pages import explain, locale_of, parse_amount, see_other, show

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=100)]
TOPUP_ASSETS = ("CNY",)


def _balances(uow: UnitOfWork, holder: Holder) -> list[dict[str, Any]]:
    rows = []
    for account in accounts.wallet_accounts_of(uow.session, holder.user.id):
        b = balance_of(account)
        rows.append({
            "asset": account.asset, "scale": get_asset(uow.session, account.asset).scale,
            "available": b.available, "pending": b.pending, "posted": b.posted,
        })  # fmt: skip
    return rows


@router.get("/wallet", response_class=HTMLResponse)
def dashboard(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    session, user = uow.session, holder.user
    recent = statements.statement(session, user.id, "CNY", statements.Filters(), limit=5).lines
    frozen = freeze.active_freezes(session, user.id)
    context = {
        "balances": _balances(uow, holder), "points": points.balance(session, user.id),
        "freezes": [freeze_endpoints.notice(f, user.locale) for f in frozen],
        "appeals": {str(f.id): appeal_pages.appeal_status(session, holder.vault, f)
                    for f in frozen},
        "recent": recent, "scale": get_asset(session, "CNY").scale, "tz": accounts.BUSINESS_TZ,
        "has_factor": factors.has_second_factor(session, user.id),
        "done": request.query_params.get("done"),
    }  # fmt: skip
    return show(request, container, "dashboard.html", context, holder=holder)


def _topup_page(
    request: Request, container: ContainerDep, uow: UnitOfWork, holder: Holder,
    **extra: Any,
) -> HTMLResponse:  # fmt: skip
    status = extra.pop("status_code", 200)
    context = {
        "sources": sources.list_of(uow.session, holder.user.id), "assets": TOPUP_ASSETS,
        "idempotency_key": str(uuid.uuid4()), "done": request.query_params.get("done"),
        **extra,
    }  # fmt: skip
    return show(request, container, "top_up.html", context, holder=holder, status_code=status)


@router.get("/top-up", response_class=HTMLResponse)
def top_up_page(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    return _topup_page(request, container, uow, holder)


@router.post("/top-up/cards", response_class=HTMLResponse, dependencies=[CheckedForm])
def link_card(
    request: Request, container: ContainerDep, uow: WriteUoW,
    number: Annotated[str, Form(max_length=40)], challenge_id: Field = "", code: Field = "",
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    locale = locale_of(request)
    last4 = number.strip()[-4:]
    summary = [("card", f"****{last4}")]
    try:
        token = stepup_flow.answer(uow, container, holder, challenge_id, code)
        with step_up_kept(uow):
            sources.link(
                uow.session, holder.vault, holder.user, holder.session.id, kind="card",
                number=number, step_up_token=token, now=holder.now,
            )  # fmt: skip
        uow.commit()
    except StepUpRequired as required:
        return stepup_flow.prompt(request, container, holder, required, action="link_card",
                                  summary=summary, fields={"number": number})  # fmt: skip
    except InvalidSecondFactor as error:
        return stepup_flow.prompt(
            request, container, holder, challenge_id, action="link_card", summary=summary,
            fields={"number": number}, error=explain(error, locale),
        )  # fmt: skip
    except AnxinError as error:
        return _topup_page(request, container, uow, holder, card_error=explain(error, locale),
                           status_code=error.status)  # fmt: skip
    return see_other("/top-up?done=card")


@router.post("/top-up", response_class=HTMLResponse, dependencies=[CheckedForm])
def top_up(
    request: Request, container: ContainerDep, uow: WriteUoW, source_id: Field, amount: Field,
    idempotency_key: Field, asset: Field = "CNY",
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    provider = funding_provider(request, container)
    try:
        if asset not in TOPUP_ASSETS:
            raise AnxinError("choose a currency from the list", code="invalid_asset")
        minor = parse_amount(amount, get_asset(uow.session, asset).scale)
        source = uuid.UUID(source_id) if len(source_id) == 36 else None
        if source is None:
            raise sources.SourceNotFound("choose a linked card")
        body = {"source_id": str(source), "amount": minor, "asset": asset}
        found = claim(uow.session, holder.user.id, idempotency_key, route="POST /v1/me/topups",
                      body=body, now=holder.now)  # fmt: skip
        if found.replay is None:
            started = start_topup(
                uow.session, holder.vault, holder.user, source_id=source, amount=minor,
                asset=asset, provider=provider.name, now=holder.now,
            )  # fmt: skip
            remember(uow.session, found, 201, {"order_id": str(started.order.id)})
            uow.commit()  # the order and its holds exist before the bank hears of them
            settlement.submit(container.database, provider, holder.vault, started.order.id,
                              started.instruction, holder.now)  # fmt: skip
    except AnxinError as error:
        message = explain(error, locale_of(request))
        return _topup_page(request, container, uow, holder, error=message, amount=amount,
                           status_code=error.status)  # fmt: skip
    return see_other("/wallet?done=topup")
