"""Idempotent holder requests, and keeping a step-up challenge when a request needs one.

A money-moving request carries an ``Idempotency-Key``. The key is claimed (a row keyed by
holder and key) in the request's own transaction, before anything moves: a concurrent
request with the same key waits on that row and then finds the first answer; a replay
gets the first answer again; the same key with another body is refused. If the request
fails, its claim rolls back with everything else, so the key can be used again.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxin.identity import stepup
from anxin.kit.canonical import fingerprint
from anxin.kit.errors import Unprocessable
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.errors import IdempotencyKeyRequired, IdempotencyKeyReused
from anxin.models import WalletRequest

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
REPLAYED_HEADER = "Idempotent-Replayed"


@dataclass
class Claim:
    user_id: uuid.UUID
    key: str
    replay: WalletRequest | None = None


def _stored(session: Session, user_id: uuid.UUID, key: str) -> WalletRequest | None:
    return session.scalars(
        select(WalletRequest)
        .where(WalletRequest.user_id == user_id, WalletRequest.key == key)
        .execution_options(populate_existing=True)
    ).first()


def _check(found: WalletRequest, print_: str) -> Claim:
    if found.fingerprint != print_:
        raise IdempotencyKeyReused()
    return Claim(found.user_id, found.key, replay=found)


def claim(
    session: Session, user_id: uuid.UUID, key: str | None, *, route: str, body: Any,
    now: datetime,
) -> Claim:  # fmt: skip
    if key is None:
        raise IdempotencyKeyRequired()
    if not _KEY.fullmatch(key):
        raise Unprocessable(
            "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces",
            code="invalid_idempotency_key",
        )
    print_ = fingerprint({"route": route, "body": body})
    found = _stored(session, user_id, key)
    if found is not None:
        return _check(found, print_)
    try:
        with session.begin_nested():
            session.add(
                WalletRequest(
                    user_id=user_id,
                    key=key,
                    fingerprint=print_,
                    status_code=0,
                    response={},
                    created_at=now,
                )
            )
            session.flush()
    except IntegrityError:
        # Another request with this key committed while we waited on its row.
        found = _stored(session, user_id, key)
        if found is None:
            raise
        return _check(found, print_)
    return Claim(user_id, key)


def remember(session: Session, claim: Claim, status_code: int, response: dict[str, Any]) -> None:
    """Store the answer to give replays (in the request's transaction)."""
    row = _stored(session, claim.user_id, claim.key)
    assert row is not None
    row.status_code, row.response = status_code, response
    session.flush()


@contextmanager
def step_up_kept(uow: UnitOfWork) -> Iterator[None]:
    """Let a ``StepUpRequired`` roll the request back but keep its challenge."""
    try:
        yield
    except stepup.StepUpRequired as required:
        uow.session.rollback()
        stepup.persist_challenge(uow.session, required)
        uow.commit()
        raise
