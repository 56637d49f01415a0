"""Freezes over HTTP: the holder's view and appeal (/v1/me/freezes), and risk or
compliance staff freezing, lifting and reading appeals (/v1/staff/holders/{id}/freezes)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from anxin.api.deps import WriteUoW
from anxin.identity.deps import AuthContext, HolderAuth, require_permission
from anxin.identity.staff import HolderNotFound
from anxin.models import Freeze, FreezeAppeal, User
from anxin.wallet import freeze, staff_log
from anxin.wallet.money_schemas import (
    AppealCreate,
    AppealOut,
    FreezeCreate,
    FreezeLift,
    FreezeList,
    FreezeNotice,
    StaffFreezeList,
    StaffFreezeOut,
)

router = APIRouter(tags=["wallet freezes"])
FreezeStaff = Annotated[AuthContext, Depends(require_permission("wallet:freeze"))]


def notice(row: Freeze, locale: str) -> FreezeNotice:
    told = freeze.explain(row, locale)
    return FreezeNotice(
        id=row.id, scope=row.scope, reason_code=row.reason_code,
        explanation=told["explanation"], next_steps=told["next_steps"],
        review_by=row.review_by, created_at=row.created_at, status=row.status,
        lifted_at=row.lifted_at,
    )  # fmt: skip


def appeal_out(row: FreezeAppeal) -> AppealOut:
    return AppealOut(
        id=row.id, freeze_id=row.freeze_id, status=row.status,
        care_ticket_id=row.care_ticket_id, created_at=row.created_at,
    )  # fmt: skip


# -- the holder ---------------------------------------------------------------------------------


@router.get("/v1/me/freezes", response_model=FreezeList)
def my_freezes(auth: HolderAuth, uow: WriteUoW) -> FreezeList:
    """Freezes of your wallet, active and past: why, what to do, and the review deadline."""
    rows = freeze.freezes_of(uow.session, auth.user.id)
    return FreezeList(data=[notice(f, auth.user.locale) for f in rows])


@router.post("/v1/me/freezes/{freeze_id}/appeals", status_code=201, response_model=AppealOut)
def appeal(freeze_id: uuid.UUID, body: AppealCreate, auth: HolderAuth,
           uow: WriteUoW) -> AppealOut:  # fmt: skip
    """Appeal against an active freeze; staff reviewing it read your message."""
    row = freeze.appeal(
        uow.session, auth.vault, auth.user, freeze_id, message=body.message, now=auth.now
    )
    uow.commit()
    return appeal_out(row)


# -- staff --------------------------------------------------------------------------------------


def _holder(session: Session, holder_id: uuid.UUID) -> User:
    user = session.get(User, holder_id)
    if user is None or user.kind != "holder":
        raise HolderNotFound()
    return user


def _staff_out(auth: AuthContext, session: Session, row: Freeze,
               appeals: list[FreezeAppeal]) -> StaffFreezeOut:  # fmt: skip
    note, lift_note = freeze.staff_notes(session, auth.vault, row)
    return StaffFreezeOut(
        **notice(row, auth.user.locale).model_dump(), note=note, created_by=row.created_by,
        lifted_by=row.lifted_by, lift_note=lift_note, appeals=[appeal_out(a) for a in appeals],
    )  # fmt: skip


@router.post("/v1/staff/holders/{holder_id}/freezes", status_code=201,
             response_model=StaffFreezeOut)  # fmt: skip
def create_freeze(holder_id: uuid.UUID, body: FreezeCreate, auth: FreezeStaff,
                  uow: WriteUoW) -> StaffFreezeOut:  # fmt: skip
    """Freeze a holder's wallet (`all` movement, or `outgoing` only) with a reason code
    from the fixed list and a note. The holder is told at once, on every channel."""
    holder = _holder(uow.session, holder_id)
    row = freeze.freeze(
        uow.session, auth.vault, auth.user, holder, scope=body.scope,
        reason_code=body.reason_code, note=body.note, review_days=body.review_days,
        now=auth.now,
    )  # fmt: skip
    uow.commit()
    return _staff_out(auth, uow.session, row, [])


@router.get("/v1/staff/holders/{holder_id}/freezes", response_model=StaffFreezeList)
def list_freezes(holder_id: uuid.UUID, auth: FreezeStaff, uow: WriteUoW) -> StaffFreezeList:
    """A holder's freezes with the staff notes (reading them is in the holder's access
    log)."""
    holder = _holder(uow.session, holder_id)
    rows = freeze.freezes_of(uow.session, holder.id)
    found = StaffFreezeList(
        data=[_staff_out(auth, uow.session, f, freeze.appeals_of(uow.session, f.id))
              for f in rows]
    )  # fmt: skip
    if rows:
        staff_log.record(
            uow.session, staff=auth.user, holder_id=holder.id, event="wallet.freezes_read",
            action="view", data={"freezes": len(rows)}, fields=["freeze_notes"],
            purpose={"freezes": [str(f.id) for f in rows]}, now=auth.now,
        )  # fmt: skip
        uow.commit()
    return found


@router.post("/v1/staff/holders/{holder_id}/freezes/{freeze_id}/lift",
             response_model=StaffFreezeOut)  # fmt: skip
def lift_freeze(holder_id: uuid.UUID, freeze_id: uuid.UUID, body: FreezeLift,
                auth: FreezeStaff, uow: WriteUoW) -> StaffFreezeOut:  # fmt: skip
    """Lift a freeze, saying why. Logged and notified like the freeze itself; money the
    bank settled during a full freeze is credited now."""
    holder = _holder(uow.session, holder_id)
    row = freeze.lift(
        uow.session, auth.vault, auth.user, holder, freeze_id, note=body.note, now=auth.now
    )
    uow.commit()
    return _staff_out(auth, uow.session, row, freeze.appeals_of(uow.session, row.id))


@router.get("/v1/staff/holders/{holder_id}/freezes/{freeze_id}/appeals/{appeal_id}")
def read_appeal(holder_id: uuid.UUID, freeze_id: uuid.UUID, appeal_id: uuid.UUID,
                auth: FreezeStaff, uow: WriteUoW) -> dict[str, str]:  # fmt: skip
    """The text of an appeal (recorded in the holder's access log)."""
    holder = _holder(uow.session, holder_id)
    row = freeze.get_freeze(uow.session, holder.id, freeze_id)
    found = next((a for a in freeze.appeals_of(uow.session, row.id) if a.id == appeal_id), None)
    if found is None:
        raise freeze.FreezeNotFound("no such appeal", code="appeal_not_found")
    message = freeze.read_appeal(uow.session, auth.vault, found)
    staff_log.record(
        uow.session, staff=auth.user, holder_id=holder.id, event="wallet.appeal_read",
        action="reveal", data={"appeal_id": str(found.id)}, fields=["appeal_message"],
        purpose={"freeze_id": str(row.id)}, now=auth.now,
    )  # fmt: skip
    uow.commit()
    return {"id": str(found.id), "message": message}
