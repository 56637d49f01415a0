"""Sending money to another holder: payee lookup, masked confirmation, step-up, done."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity.deps import IdentityDep
from anxin.identity.stepup import StepUpRequired
from anxin.identity.throttle import InvalidSecondFactor
from anxin.kit.errors import AnxinError
from anxin.ledger.assets import get_asset
from anxin.wallet import p2p
from anxin.wallet.idempotency import step_up_kept
from anxin.wallet.merchant_requests import run_holder_keyed
from anxin.wallet.merchant_schemas import Empty
from anxin.wallet.p2p_endpoints import _count_lookup as count_lookup
from anxin.web import guard, stepup_flow
from anxin.web.account_pages import CheckedForm
from anxin.web.guard import Holder
from anxin.web.pages import explain, locale_of, parse_amount, show
from anxin.web.render import format_money

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=320)]
ASSETS = ("CNY",)


def _shown(view: p2p.TransferView, scale: int) -> dict[str, Any]:
    t = view.transfer
    return {
        "id": str(t.id), "name": view.counterparty_name, "contact": view.counterparty_contact,
        "amount": t.amount, "fee": t.fee, "total": t.amount + t.fee, "currency": t.currency,
        "note": view.note, "status": t.status, "scale": scale, "expires_at": t.expires_at,
    }  # fmt: skip


@router.get("/transfer", response_class=HTMLResponse)
def transfer_page(request: Request, container: ContainerDep, uow: WriteUoW) -> HTMLResponse:
    holder = guard.require_holder(request, container, uow)
    return show(request, container, "transfer.html", {"assets": ASSETS}, holder=holder)


@router.post("/transfer", response_class=HTMLResponse, dependencies=[CheckedForm])
def quote(
    request: Request, container: ContainerDep, uow: WriteUoW, runtime: IdentityDep,
    to: Field, amount: Field, currency: Field = "CNY",
    note: Annotated[str, Form(max_length=200)] = "",
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    try:
        if currency not in ASSETS:
            raise AnxinError("choose a currency from the list", code="invalid_asset")
        scale = get_asset(uow.session, currency).scale
        minor = parse_amount(amount, scale)
        count_lookup(runtime, holder.user.id)
        view = p2p.quote(
            uow.session, holder.vault, holder.user, to=to, amount=minor, currency=currency,
            note=note.strip() or None, now=container.clock.now(),
        )  # fmt: skip
        shown = _shown(view, scale)
        uow.commit()
    except AnxinError as error:
        context = {"assets": ASSETS, "error": explain(error, locale_of(request)), "to": to,
                   "amount": amount, "note": note}  # fmt: skip
        return show(request, container, "transfer.html", context, holder=holder,
                    status_code=error.status)  # fmt: skip
    confirm_page = {"t": shown, "idempotency_key": str(uuid.uuid4())}
    return show(request, container, "transfer_confirm.html", confirm_page, holder=holder)


def _summary(t: dict[str, Any]) -> list[tuple[str, str]]:
    money = f"{format_money(t['total'], t['scale'])} {t['currency']}"
    return [("payee", f"{t['name'] or ''} {t['contact']}".strip()), ("total", money)]


@router.post("/transfer/{transfer_id}/confirm", response_class=HTMLResponse,
             dependencies=[CheckedForm])  # fmt: skip
def confirm(
    request: Request, container: ContainerDep, uow: WriteUoW, transfer_id: uuid.UUID,
    idempotency_key: Field, challenge_id: Field = "", code: Field = "",
) -> Response:  # fmt: skip
    holder = guard.require_holder(request, container, uow)
    locale = locale_of(request)
    try:
        row = p2p.get_for(uow.session, holder.user, transfer_id)
    except p2p.TransferNotFound as error:
        missing = {"assets": ASSETS, "error": explain(error, locale)}
        return show(request, container, "transfer.html", missing, holder=holder, status_code=404)
    scale = get_asset(uow.session, row.currency).scale
    t = _shown(p2p.view(uow.session, holder.vault, holder.user, row), scale)
    fields = {"idempotency_key": idempotency_key}
    try:
        token = stepup_flow.answer(uow, container, holder, challenge_id, code)
        with step_up_kept(uow):
            run_holder_keyed(
                uow, holder.user.id, idempotency_key, route=f"web:p2p:{transfer_id}", body={},
                now=holder.now, status_code=200,
                work=lambda: _confirm(uow, holder, transfer_id, token),
            )  # fmt: skip
    except StepUpRequired as required:
        return stepup_flow.prompt(request, container, holder, required, action="transfer",
                                  summary=_summary(t), fields=fields)  # fmt: skip
    except InvalidSecondFactor as error:
        return stepup_flow.prompt(
            request, container, holder, challenge_id, action="transfer", summary=_summary(t),
            fields=fields, error=explain(error, locale),
        )  # fmt: skip
    except AnxinError as error:
        context = {"t": t, "idempotency_key": str(uuid.uuid4()), "error": explain(error, locale)}
        return show(request, container, "transfer_confirm.html", context, holder=holder,
                    status_code=error.status)  # fmt: skip
    row = p2p.get_for(uow.session, holder.user, transfer_id)
    done = _shown(p2p.view(uow.session, holder.vault, holder.user, row), scale)
    return show(request, container, "transfer_done.html", {"t": done}, holder=holder)


def _confirm(uow: Any, holder: Holder, transfer_id: uuid.UUID, token: str | None) -> Empty:
    transfer = p2p.get_for(uow.session, holder.user, transfer_id, lock=True)
    if transfer.payer_id != holder.user.id:
        raise p2p.TransferNotFound(f"no transfer {transfer_id}")
    p2p.confirm(uow.session, holder.vault, holder.user, holder.session.id, transfer,
                step_up_token=token, now=holder.now)  # fmt: skip
    return Empty()
