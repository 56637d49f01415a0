"""Idempotent merchant requests: the first answer is kept and replayed. (Holders' requests
use the wallet's holder-keyed store, ``anxin.wallet.idempotency``, through ``run_holder_keyed``
so that a holder's keys are one namespace across the whole wallet.)

A keyed request first claims its key (an insert in the request's own transaction), does its
work, then stores its answer in the claimed row, all in one commit. A concurrent request
with the same key waits on the claim's unique index and then finds the stored answer, so a
key never moves money twice. Only completed requests are remembered: a refusal (not enough
money, step-up needed) rolls the claim back with everything else, so the client can fix the
cause and retry with the same key, for instance with the step-up token it was asked for.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from anxin.kit.canonical import fingerprint
from anxin.kit.errors import Unprocessable
from anxin.kit.unit_of_work import UnitOfWork
from anxin.ledger.errors import IdempotencyKeyInFlight, IdempotencyKeyRequired, IdempotencyKeyReused
from anxin.models import MerchantRequest
from anxin.wallet import idempotency

REPLAYED = "Idempotent-Replayed"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class Keyed:
    scope: str  # merchant:<id>: keys of different merchants never collide
    key: str
    fingerprint: str


def keyed(scope: str, key: str | None, route: str, body: Any) -> Keyed:
    if key is None:
        raise IdempotencyKeyRequired()
    if not _KEY.fullmatch(key):
        raise Unprocessable(
            "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces",
            code="invalid_idempotency_key",
        )
    return Keyed(scope, key, fingerprint({"route": route, "body": body}))


def _replay(row: MerchantRequest, request: Keyed) -> JSONResponse:
    if row.fingerprint != request.fingerprint:
        raise IdempotencyKeyReused()
    if row.status_code == 0:  # claimed but not finished: only seen inside its own commit
        raise IdempotencyKeyInFlight()
    return JSONResponse(row.response, status_code=row.status_code, headers={REPLAYED: "true"})


def begin(session: Session, request: Keyed, now: datetime) -> JSONResponse | None:
    """The stored answer to replay, or None after claiming the key for this request."""
    found = session.get(MerchantRequest, (request.scope, request.key))
    if found is not None:
        return _replay(found, request)
    try:
        with session.begin_nested():
            session.add(
                MerchantRequest(
                    scope=request.scope, key=request.key, fingerprint=request.fingerprint,
                    status_code=0, response={}, created_at=now,
                )
            )  # fmt: skip
            session.flush()
    except IntegrityError:
        # Someone else committed this key while we waited on the index: answer as they did.
        found = session.get(MerchantRequest, (request.scope, request.key), populate_existing=True)
        if found is None:  # pragma: no cover - the conflicting row cannot vanish
            raise
        return _replay(found, request)
    return None


def finish(session: Session, request: Keyed, status_code: int, body: dict[str, Any]) -> None:
    row = session.get(MerchantRequest, (request.scope, request.key))
    assert row is not None, "finish() without begin()"
    row.status_code, row.response = status_code, body
    session.flush()


def run_keyed(
    uow: UnitOfWork, request: Keyed, now: datetime, status_code: int,
    work: Callable[[], BaseModel],
) -> Any:  # fmt: skip
    """Replay the stored answer, or do ``work``, keep its answer with the key, and commit."""
    replay = begin(uow.session, request, now)
    if replay is not None:
        return replay
    answer = work()
    finish(uow.session, request, status_code, answer.model_dump(mode="json"))
    uow.commit()
    return answer


def run_holder_keyed(
    uow: UnitOfWork, user_id: uuid.UUID, key: str | None, *, route: str, body: Any,
    now: datetime, status_code: int, work: Callable[[], BaseModel],
) -> Any:  # fmt: skip
    """``run_keyed`` for a holder's request, in the wallet's holder-keyed store."""
    claim = idempotency.claim(uow.session, user_id, key, route=route, body=body, now=now)
    if claim.replay is not None:
        if claim.replay.status_code == 0:
            raise IdempotencyKeyInFlight()
        return JSONResponse(
            claim.replay.response, status_code=claim.replay.status_code,
            headers={REPLAYED: "true"},
        )  # fmt: skip
    answer = work()
    idempotency.remember(uow.session, claim, status_code, answer.model_dump(mode="json"))
    uow.commit()
    return answer
