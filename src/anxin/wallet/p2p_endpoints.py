"""Person-to-person transfers under /v1/me/transfers: quote (see the masked payee and the
fee), then confirm (step-up as the risk policy says).

Quoting reveals whether a phone number or email belongs to a holder (and their masked
name), so quotes are limited per holder: nobody walks through the numbering plan.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from limits import parse
from limits.strategies import MovingWindowRateLimiter

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity.deps import HolderAuth, IdentityDep, StepUpToken
from anxin.identity.service import IdentityRuntime
from anxin.identity.throttle import RateLimitUnavailable, TooManyAttempts
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import User
from anxin.wallet import p2p
from anxin.wallet.idempotency import step_up_kept
from anxin.wallet.merchant_requests import run_holder_keyed
from anxin.wallet.merchant_schemas import (
    Empty,
    PayeeOut,
    TransferList,
    TransferOut,
    TransferQuoteCreate,
)
from anxin.wallet.pay_endpoints import STEP_UP, IdempotencyKey

router = APIRouter(prefix="/v1/me/transfers", tags=["transfers"])

LOOKUPS = parse("30 per hour")
LOOKUPS.namespace = "rl:p2p-lookup"


def _count_lookup(runtime: IdentityRuntime, user_id: uuid.UUID) -> None:
    """Count a payee lookup (before the request's transaction: SQLite has one writer)."""
    limiter = MovingWindowRateLimiter(runtime.throttle.storage)
    try:
        allowed = limiter.hit(LOOKUPS, f"user:{user_id}")
    except Exception as error:
        raise RateLimitUnavailable("could not update the attempt counters") from error
    if not allowed:
        raise TooManyAttempts("too many payee lookups; try again within the hour")


def _out(shown: p2p.TransferView) -> TransferOut:
    t = shown.transfer
    return TransferOut(
        id=t.id, status=t.status, direction=shown.direction,
        counterparty=PayeeOut(kind="holder", name=shown.counterparty_name,
                              contact=shown.counterparty_contact),
        amount=t.amount, fee=t.fee if shown.direction == "sent" else 0,
        total=t.amount + t.fee if shown.direction == "sent" else t.amount,
        currency=t.currency, note=shown.note, expires_at=t.expires_at, created_at=t.created_at,
        completed_at=t.completed_at,
    )  # fmt: skip


def _view(uow: UnitOfWork, c: ContainerDep, user: User, transfer: Any) -> TransferOut:
    return _out(p2p.view(uow.session, c.keys.vault(), user, transfer))


@router.post("/quote", response_model=TransferOut, status_code=status.HTTP_201_CREATED)
def quote_transfer(
    body: TransferQuoteCreate, auth: HolderAuth, uow: WriteUoW, c: ContainerDep,
    runtime: IdentityDep,
) -> TransferOut:  # fmt: skip
    """Find the payee by phone number or email and show them masked, with the fee. The
    quote lasts ten minutes; nothing moves until you confirm it. At most 30 quotes an hour
    (`429 too_many_attempts`)."""
    _count_lookup(runtime, auth.user.id)
    shown = p2p.quote(
        uow.session, c.keys.vault(), auth.user, to=body.to, amount=body.amount,
        currency=body.currency, note=body.note, now=c.clock.now(),
    )  # fmt: skip
    out = _out(shown)
    uow.commit()
    return out


@router.post("/{transfer_id}/confirm", response_model=TransferOut, responses=STEP_UP)
def confirm_transfer(
    transfer_id: uuid.UUID, auth: HolderAuth, uow: WriteUoW, c: ContainerDep,
    idempotency_key: IdempotencyKey = None, step_up_token: StepUpToken = None,
    body: Empty | None = None,
) -> Any:  # fmt: skip
    """Send the money quoted: amount to the payee and fee to Anxin, both or neither."""
    now = c.clock.now()

    def work() -> TransferOut:
        transfer = p2p.get_for(uow.session, auth.user, transfer_id, lock=True)
        if transfer.payer_id != auth.user.id:
            raise p2p.TransferNotFound(f"no transfer {transfer_id}")
        shown = p2p.confirm(
            uow.session, c.keys.vault(), auth.user, auth.session.id, transfer,
            step_up_token=step_up_token, now=now,
        )  # fmt: skip
        return _out(shown)

    with step_up_kept(uow):
        return run_holder_keyed(
            uow, auth.user.id, idempotency_key, route=f"p2p:{transfer_id}", body={}, now=now,
            status_code=200, work=work,
        )  # fmt: skip


@router.get("", response_model=TransferList)
def list_transfers(
    auth: HolderAuth, uow: WriteUoW, c: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> TransferList:  # fmt: skip
    """Transfers you sent or received, newest first."""
    found = p2p.list_for(uow.session, auth.user, limit=limit)
    return TransferList(items=[_view(uow, c, auth.user, t) for t in found])


@router.get("/{transfer_id}", response_model=TransferOut)
def show_transfer(
    transfer_id: uuid.UUID, auth: HolderAuth, uow: WriteUoW, c: ContainerDep
) -> TransferOut:
    return _view(uow, c, auth.user, p2p.get_for(uow.session, auth.user, transfer_id))
