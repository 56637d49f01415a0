"""Events for merchants, signed as the Standard Webhooks specification says, sent at least
once.

An event is written to ``wallet_webhook_deliveries`` in the same transaction as its cause
(a capture, a refund, ...), so it exists exactly when the cause committed. A worker claims
due deliveries by pushing ``next_attempt_at`` a lease into the future (short transaction),
POSTs them with no transaction open, then marks them delivered or schedules the next
attempt with exponential backoff; after ``MAX_ATTEMPTS`` a delivery is marked failed. A
process dying mid-send lets the lease lapse and the event is sent again, under the same
``webhook-id``, which is what receivers deduplicate on.

Each request carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds of this attempt)
and ``webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, keyed with the
base64-decoded part of the merchant's ``whsec_`` secret. Redirects are not followed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.kit.canonical import canonical_json
from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.kit.errors import AnxinError, Unauthorized
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import Merchant, WebhookDelivery
from anxin.privacy.keys import KeyService
from anxin.wallet.merchants import SECRET_PREFIX, webhook_secret

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
LEASE = timedelta(minutes=2)
FIRST_RETRY_SECONDS = 10
MAX_RETRY_SECONDS = 6 * 3600
TIMEOUT_SECONDS = 10.0
TOLERANCE_SECONDS = 300  # receivers refuse signatures older or newer than this
EVENT_TYPES = frozenset({
    "payment_intent.confirmed", "payment_intent.captured", "payment_intent.canceled",
    "payment_intent.expired",
    "refund.succeeded", "mandate.accepted", "mandate.cancelled", "mandate.debited",
})  # fmt: skip


class InvalidSignature(Unauthorized):
    code = "invalid_webhook_signature"
    title = "The webhook signature does not verify"


def backoff(attempts: int) -> timedelta:
    """10 s, 20 s, 40 s, ... after the 1st, 2nd, 3rd failed attempt, capped at 6 hours."""
    return timedelta(
        seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)
    )


def message_id(delivery_id: uuid.UUID) -> str:
    return f"msg_{delivery_id.hex}"


def _key(secret: str) -> bytes:
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("a webhook secret starts with whsec_")
    return base64.b64decode(secret[len(SECRET_PREFIX) :])


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: datetime) -> None:
    """What a merchant does with a delivery (here for tests and the docs): raise
    ``InvalidSignature`` unless one of the ``v1`` signatures matches and the timestamp is
    within tolerance."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp = lowered.get("webhook-id", ""), lowered.get("webhook-timestamp", "")
    if not msg_id or not stamp.isdigit():
        raise InvalidSignature("webhook-id and webhook-timestamp are required")
    if abs(int(now.timestamp()) - int(stamp)) > TOLERANCE_SECONDS:
        raise InvalidSignature("the timestamp is outside the tolerance")
    expected = sign(secret, msg_id, int(stamp), body)
    for candidate in lowered.get("webhook-signature", "").split():
        if hmac.compare_digest(candidate, expected):
            return
    raise InvalidSignature("no signature matches")


def emit(
    session: Session, merchant: Merchant, event_type: str, data: dict[str, Any], *, now: datetime
) -> WebhookDelivery | None:
    """Queue an event for the merchant (in the caller's transaction); None without a URL."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event {event_type!r}")
    if merchant.webhook_url is None:
        return None
    delivery = WebhookDelivery(
        id=new_id(), merchant_id=merchant.id, event_type=event_type,
        payload={"type": event_type, "timestamp": now.isoformat(), "data": data},
        status="pending", attempts=0, next_attempt_at=now, delivered_at=None,
        last_status=None, last_error=None, created_at=now,
    )  # fmt: skip
    session.add(delivery)
    session.flush()
    return delivery


# -- sending --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    id: uuid.UUID
    url: str
    headers: dict[str, str]
    body: bytes
    attempts: int


class Poster(Protocol):
    def __call__(self, url: str, headers: dict[str, str], body: bytes) -> int: ...


def http_post(url: str, headers: dict[str, str], body: bytes) -> int:
    """POST and return the status code; raises OSError on network failure."""
    parts = urlsplit(url)
    connection_type = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_type(parts.netloc, timeout=TIMEOUT_SECONDS)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # drain a little; the answer's body does not matter
        return response.status
    finally:
        connection.close()


@dataclass(frozen=True)
class WebhookReport:
    delivered: int
    failed: int  # this attempt failed; retried later
    gave_up: int


def _claim(database: Database, keys: KeyService, now: datetime, limit: int) -> list[Outgoing]:
    claimed: list[Outgoing] = []
    with UnitOfWork(database) as uow:
        vault = keys.vault()
        rows = uow.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)  # several servers share the queue
        ).all()
        for row in rows:
            merchant = uow.session.get(Merchant, row.merchant_id)
            if merchant is None or merchant.webhook_url is None:
                row.status, row.last_error = "failed", "the merchant has no webhook URL now"
                continue
            msg_id, stamp = message_id(row.id), int(now.timestamp())
            body = canonical_json(row.payload)
            try:
                secret = webhook_secret(uow.session, vault, merchant)
            except AnxinError as error:  # an undecryptable secret will not heal by waiting
                row.status, row.last_error = "failed", f"cannot sign: {error.code}"
                continue
            headers = {
                "content-type": "application/json", "user-agent": "Anxin-Webhooks/1",
                "webhook-id": msg_id, "webhook-timestamp": str(stamp),
                "webhook-signature": sign(secret, msg_id, stamp, body),
            }  # fmt: skip
            row.attempts += 1
            row.next_attempt_at = now + LEASE
            claimed.append(Outgoing(row.id, merchant.webhook_url, headers, body, row.attempts))
        uow.commit()
    return claimed


def deliver_due(
    database: Database, keys: KeyService, *, now: datetime, limit: int = 100,
    post: Poster = http_post, clock: Clock | None = None,
) -> WebhookReport:  # fmt: skip
    """One pass over due deliveries. Called by the worker and by tests."""
    claimed = _claim(database, keys, now, limit)
    outcomes: dict[uuid.UUID, tuple[int | None, str | None]] = {}
    for item in claimed:
        try:
            status = post(item.url, item.headers, item.body)
            problem = None if 200 <= status < 300 else f"answered {status}"
            outcomes[item.id] = (status, problem)
        except (OSError, http.client.HTTPException) as error:
            outcomes[item.id] = (None, f"{type(error).__name__}: {error}"[:500])
    finished = clock.now() if clock is not None else now
    delivered = failed = gave_up = 0
    if outcomes:
        with UnitOfWork(database) as uow:
            for item in claimed:
                row = uow.session.get(WebhookDelivery, item.id)
                if row is None:
                    continue
                row.last_status, row.last_error = outcomes[item.id]
                if row.last_error is None:
                    row.status, row.delivered_at = "delivered", finished
                    delivered += 1
                elif item.attempts >= MAX_ATTEMPTS:
                    row.status = "failed"
                    gave_up += 1
                else:
                    row.next_attempt_at = finished + backoff(item.attempts)
                    failed += 1
            uow.commit()
    return WebhookReport(delivered=delivered, failed=failed, gave_up=gave_up)


def redeliver(session: Session, delivery: WebhookDelivery, now: datetime) -> None:
    """Queue a delivery again (for instance after a merchant fixed their endpoint)."""
    delivery.status, delivery.attempts, delivery.next_attempt_at = "pending", 0, now
    session.flush()


class WebhookWorker:
    """Runs ``housekeeping`` (closing lapsed payment intents, whose events it emits) and
    then ``deliver_due`` every ``interval`` seconds on a daemon thread (in the server)."""

    def __init__(
        self, database: Database, keys: KeyService, clock: Clock, *, interval: float,
        on_error: Callable[[BaseException], None] | None = None,
        housekeeping: Callable[[], object] | None = None,
    ) -> None:  # fmt: skip
        self._database, self._keys, self._clock = database, keys, clock
        self._interval = interval
        self._housekeeping = housekeeping
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_error = on_error

    def start(self) -> WebhookWorker:
        self._thread = threading.Thread(target=self._run, name="anxin-webhooks", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if self._housekeeping is not None:
                    self._housekeeping()
                deliver_due(self._database, self._keys, now=self._clock.now(), clock=self._clock)
            except Exception as error:  # keep the worker alive; the next pass retries
                log.exception("webhook pass failed")
                if self._on_error is not None:
                    self._on_error(error)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
