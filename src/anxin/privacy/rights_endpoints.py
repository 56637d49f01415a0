"""A holder's rights over their data: ``GET /v1/me/data-export`` (everything, as JSON),
``PATCH /v1/me/profile`` (correct it) and ``POST /v1/me/close`` (close the account and
erase the personal data)."""

from __future__ import annotations

import json
import logging
import sqlite3

from fastapi import APIRouter, Request, Response
from sqlalchemy.exc import SQLAlchemyError

from anxin.api.deps import ContainerDep, WriteUoW
from anxin.identity import contacts as book
from anxin.identity.deps import HolderAuth, IdentityDep, StepUpToken, client_of, guarded
from anxin.identity.sessions import SESSION_COOKIE
from anxin.kit.db import Database
from anxin.privacy import closure, rights
from anxin.privacy.rights_schemas import ClosedOut, CloseIn, PayoutOut, ProfileOut, ProfilePatch

router = APIRouter(prefix="/v1/me", tags=["me"])
log = logging.getLogger(__name__)


@router.get(
    "/data-export",
    response_class=Response,
    responses={200: {"content": {"application/json": {}},
                     "description": "All personal data held about you (format "
                                    "`anxin-personal-data/1`)."}},
)  # fmt: skip
def data_export(auth: HolderAuth, uow: WriteUoW) -> Response:
    """Download all personal data Anxin holds about you, as JSON: profile, contacts,
    sessions, devices, second factors (not their secrets), notifications, identity
    verification submissions, the staff access log, ledger accounts and transfers, and
    wallet records. You are notified of every download."""
    document = rights.export_my_data(uow.session, auth.vault, auth.user, now=auth.now)
    uow.commit()
    return Response(
        content=json.dumps(document, ensure_ascii=False, indent=1).encode(),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="anxin-my-data.json"',
                 "Cache-Control": "no-store"},
    )  # fmt: skip


@router.patch("/profile", response_model=ProfileOut)
def correct_profile(body: ProfilePatch, auth: HolderAuth, uow: WriteUoW) -> ProfileOut:
    """Correct your name or language. A phone number or email changes through
    `POST /v1/me/contacts`, which verifies the new one."""
    rights.correct_profile(
        uow.session, auth.vault, auth.user, display_name=body.display_name, locale=body.locale,
        now=auth.now,
    )  # fmt: skip
    out = ProfileOut(
        display_name=book.display_name(uow.session, auth.vault, auth.user),
        locale=auth.user.locale, updated_at=auth.user.updated_at,
    )  # fmt: skip
    uow.commit()
    return out


def _wipe_wal(database: Database) -> None:
    """SQLite keeps old pages in the write-ahead log until a checkpoint: fold it back now,
    so the destroyed key is gone from the files too (best effort; retried by SQLite)."""
    if not database.is_sqlite:
        return
    try:
        raw = database.engine.raw_connection()  # no BEGIN: a checkpoint wants no transaction
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    except (SQLAlchemyError, sqlite3.Error):  # pragma: no cover - checkpointed later anyway
        log.warning("could not checkpoint the write-ahead log after an account closure")


@router.post("/close", response_model=ClosedOut)
def close_account(
    body: CloseIn, request: Request, response: Response, auth: HolderAuth, uow: WriteUoW,
    rt: IdentityDep, container: ContainerDep, step_up_token: StepUpToken = None,
) -> ClosedOut:  # fmt: skip
    """Close your account for good: your password and, with a second factor, step-up.
    Balances must be zero, or name a linked bank account for what is left. Your personal
    data is erased at once (it cannot be recovered); the record of your transactions is
    kept under a pseudonym for the period the law requires, then anonymised."""
    client = client_of(request)
    key = f"user:{auth.user.id}"
    rt.throttle.check_password_attempt(key, client.address)
    with guarded(uow, rt, client, key):
        closed = closure.close_account(
            uow.session, auth.vault, container.settings, user=auth.user, hasher=rt.hasher,
            auth_session_id=auth.session.id, password=body.password,
            step_up_token=step_up_token, payout_source_id=body.payout_source_id, now=auth.now,
        )  # fmt: skip
    out = ClosedOut(
        closed_at=closed.closure.closed_at, retain_until=closed.closure.retain_until,
        payouts=[PayoutOut(asset=p.asset, amount=p.amount, destination=p.destination)
                 for p in closed.payouts],
    )  # fmt: skip
    uow.commit()
    _wipe_wal(container.database)
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="lax")
    return out
