"""Staff accounts and the staff API (``/v1/staff``).

An admin creates a staff member with ``anxin staff create --role ROLE --email ...``; the
command prints a one-time set-password code (the account starts with no usable password).
The new member sets a password of at least 15 characters with it
(``POST /v1/auth/password-reset/confirm``), signs in, enrols a second factor, and signs in
again with it; until then only enrolment is open to them.

Staff see holders' personal data masked only. Revealing it for a stated purpose comes with
the audit trail, later. Holder ids that do not exist and ids of staff members answer 404.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.api.deps import ReadUoW, WriteUoW
from anxin.audit import service as audit
from anxin.identity import contacts as book
from anxin.identity import sessions
from anxin.identity.deps import AuthContext, require_permission
from anxin.identity.endpoints import contacts_out
from anxin.identity.notifications import notify
from anxin.identity.passwords import PasswordHasher
from anxin.identity.permissions import permissions_of
from anxin.identity.schemas import (
    HolderDetail,
    HolderList,
    HolderSummary,
    StaffMemberList,
    StaffMemberOut,
    StaffMeOut,
)
from anxin.kit.errors import Conflict, NotFound, Unprocessable
from anxin.kit.ids import parse_id
from anxin.models import User
from anxin.models.identity import STAFF_ROLES
from anxin.privacy import access_log
from anxin.privacy.masking import mask_name
from anxin.privacy.vault import Vault
from anxin.settings import Settings

router = APIRouter(prefix="/v1/staff", tags=["staff"])


class HolderNotFound(NotFound):
    code = "holder_not_found"
    title = "No such wallet holder"


@dataclass(frozen=True)
class CreatedStaff:
    user: User
    setup_code: str
    expires_at: datetime


def create_staff(
    session: Session, vault: Vault, settings: Settings, *, role: str, email: str,
    name: str | None, now: datetime,
) -> CreatedStaff:  # fmt: skip
    if role not in STAFF_ROLES:
        raise Unprocessable(f"unknown role {role!r}; one of {', '.join(STAFF_ROLES)}",
                            code="invalid_role")  # fmt: skip
    contact = book.parse_contact("email", email)
    if book.find_contact(session, vault, contact) is not None:
        raise Conflict("an account already uses this email address", code="email_in_use")
    hasher = PasswordHasher.from_settings(settings)
    user = book.new_user(
        session, vault, kind="staff", role=role, status="active",
        password_hash=hasher.unusable(), name=name, locale="zh-CN", now=now,
        pseudonym=f"staff-{secrets.token_hex(4)}",
    )  # fmt: skip
    # The admin vouches for the address; the code goes to the admin, who hands it over.
    row = book.add_contact(session, vault, user, contact, now=now, verified=True)
    audit.append(session, event="staff.created", actor_id=None, actor_role=None,
                 subject_id=user.id, data={"role": role, "pseudonym": user.pseudonym},
                 now=now)  # fmt: skip
    lifetime = settings.staff_setup_code_lifetime_seconds
    code = book.issue_code(
        session, vault, row, purpose="reset_password", now=now, lifetime_seconds=lifetime
    )
    return CreatedStaff(user, code, now + timedelta(seconds=lifetime))


def list_staff(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.kind == "staff").order_by(User.created_at)))


# -- the API ------------------------------------------------------------------------------


SelfAuth = Annotated[AuthContext, Depends(require_permission("staff:self"))]
ReadHolders = Annotated[AuthContext, Depends(require_permission("holders:read"))]
SuspendHolders = Annotated[AuthContext, Depends(require_permission("holders:suspend"))]
ReadStaff = Annotated[AuthContext, Depends(require_permission("staff:read"))]


def _summary(session: Session, vault: Vault, user: User) -> HolderSummary:
    name = book.display_name(session, vault, user)
    return HolderSummary(
        id=user.id, status=user.status, tier=user.tier,
        display_name=mask_name(name) if name else None,
        contacts=contacts_out(session, user.id), created_at=user.created_at,
    )  # fmt: skip


def _holder(session: Session, holder_id: uuid.UUID) -> User:
    user = session.get(User, holder_id)
    if user is None or user.kind != "holder":
        raise HolderNotFound()
    return user


@router.get("/me", response_model=StaffMeOut)
def staff_me(auth: SelfAuth, uow: ReadUoW) -> StaffMeOut:
    """Your staff profile, role and permissions."""
    user = auth.user
    email = next(
        (c.masked for c in book.contacts_of(uow.session, user.id) if c.kind == "email"), None
    )
    name = book.display_name(uow.session, auth.vault, user)
    return StaffMeOut(
        id=user.id, role=user.role or "", pseudonym=user.pseudonym,
        display_name=mask_name(name) if name else None, email=email,
        permissions=sorted(permissions_of(user.role)),
    )  # fmt: skip


@router.get("/holders", response_model=HolderList)
def list_holders(
    auth: ReadHolders, uow: ReadUoW, limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str | None, Query(pattern="^(pending|active|suspended|closed)$")] = None,
) -> HolderList:  # fmt: skip
    """Wallet holders, oldest first, personal data masked. Page with `next_cursor`."""
    query = select(User).where(User.kind == "holder")
    after = parse_id(cursor) if cursor else None
    if cursor and after is None:
        raise Unprocessable("cursor is not one this API gave out", code="invalid_cursor")
    if after is not None:
        query = query.where(User.id > after)
    if status is not None:
        query = query.where(User.status == status)
    rows = list(uow.session.scalars(query.order_by(User.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return HolderList(
        data=[_summary(uow.session, auth.vault, u) for u in rows],
        next_cursor=str(rows[-1].id) if more and rows else None,
    )


@router.get("/holders/{holder_id}", response_model=HolderDetail)
def get_holder(holder_id: uuid.UUID, auth: ReadHolders, uow: ReadUoW) -> HolderDetail:
    """One holder, personal data masked."""
    from anxin.identity.factors import enrolled_methods

    user = _holder(uow.session, holder_id)
    live = sessions.list_live(uow.session, user.id, auth.now)
    return HolderDetail(
        **_summary(uow.session, auth.vault, user).model_dump(), locale=user.locale,
        second_factors=enrolled_methods(uow.session, user.id), live_sessions=len(live),
        updated_at=user.updated_at,
    )  # fmt: skip


def _set_status(
    auth: AuthContext, uow: WriteUoW, holder_id: uuid.UUID, *, suspend: bool
) -> Response:
    user = _holder(uow.session, holder_id)
    wanted, kind = (
        ("suspended", "account.suspended") if suspend else ("active", "account.reinstated")
    )
    allowed_from = "active" if suspend else "suspended"
    if user.status != allowed_from:
        raise Conflict(f"the account is {user.status}", code="invalid_status")
    user.status, user.updated_at = wanted, auth.now
    if suspend:
        sessions.revoke_all(uow.session, user.id, auth.now)
    action = "suspend" if suspend else "reinstate"
    access_log.record(uow.session, staff=auth.user, holder_id=user.id, action=action, fields=[],
                      purpose={"kind": "account_status"}, now=auth.now)  # fmt: skip
    audit.append(uow.session, event=kind, actor_id=auth.user.id, actor_role=auth.user.role,
                 subject_id=user.id, data={}, now=auth.now)  # fmt: skip
    notify(uow.session, auth.vault, user, kind, now=auth.now)
    uow.commit()
    return Response(status_code=204)


@router.post("/holders/{holder_id}/suspend", status_code=204, response_class=Response)
def suspend_holder(holder_id: uuid.UUID, auth: SuspendHolders, uow: WriteUoW) -> Response:
    """Suspend an active holder: their sessions end and they are told."""
    return _set_status(auth, uow, holder_id, suspend=True)


@router.post("/holders/{holder_id}/reinstate", status_code=204, response_class=Response)
def reinstate_holder(holder_id: uuid.UUID, auth: SuspendHolders, uow: WriteUoW) -> Response:
    """Lift a suspension."""
    return _set_status(auth, uow, holder_id, suspend=False)


@router.get("/members", response_model=StaffMemberList)
def list_members(auth: ReadStaff, uow: ReadUoW) -> StaffMemberList:
    """Staff members (by pseudonym and role)."""
    from anxin.identity.factors import has_second_factor

    return StaffMemberList(
        data=[
            StaffMemberOut(
                id=u.id,
                role=u.role or "",
                pseudonym=u.pseudonym,
                status=u.status,
                second_factor=has_second_factor(uow.session, u.id),
                created_at=u.created_at,
            )
            for u in list_staff(uow.session)
        ]
    )
