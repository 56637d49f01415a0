"""The delivery outbox: emails and SMS written in the same transaction as their cause, and
sent at least once afterwards.

A message row is claimed by pushing its ``next_attempt_at`` a lease into the future and
counting the attempt, in a short transaction; it is sent with no transaction open (an SMTP
server may be slow, and SQLite has one writer); then it is marked sent, or rescheduled with
exponential backoff. A process dying mid-send leaves the lease to expire and the message is
sent again: at least once, never silently lost. Recipient, subject and body are encrypted
under the user's data key.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from anxin.identity.delivery import DeliveryFailed, Senders
from anxin.kit.clock import Clock
from anxin.kit.db import Database
from anxin.kit.errors import AnxinError
from anxin.kit.ids import new_id
from anxin.kit.unit_of_work import UnitOfWork
from anxin.models import DataKey, OutboxMessage
from anxin.privacy.keys import KeyService
from anxin.privacy.vault import Vault

log = logging.getLogger(__name__)

# Messages not about one user (none today) are encrypted under this owner's data key.
SYSTEM_OWNER = uuid.UUID(int=0)
MAX_ATTEMPTS = 12
LEASE = timedelta(minutes=2)
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 3600
_TABLE = "delivery_outbox"


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at an hour."""
    return timedelta(
        seconds=min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS)
    )


def enqueue(
    session: Session, vault: Vault, *, user_id: uuid.UUID | None, channel: str,
    recipient: str, body: str, subject: str | None = None, now: datetime,
    headers: Mapping[str, str] | None = None,
) -> OutboxMessage:  # fmt: skip
    """``headers``: extra email headers (List-Unsubscribe); sealed like the body, since a
    signed unsubscribe link is as private as the email that carries it."""
    if channel not in ("email", "sms"):
        raise ValueError(f"unknown channel {channel!r}")
    if headers and channel != "email":
        raise ValueError("only emails have headers")
    owner = user_id or SYSTEM_OWNER
    if user_id is None and session.get(DataKey, SYSTEM_OWNER) is None:
        vault.create_data_key(session, SYSTEM_OWNER, now)
    message_id = new_id()

    def seal(column: str, text: str) -> bytes:
        return vault.encrypt(
            session, owner, table=_TABLE, column=column, row_id=message_id, plaintext=text
        )

    message = OutboxMessage(
        id=message_id, user_id=user_id, channel=channel, owner_id=owner,
        recipient_enc=seal("recipient_enc", recipient),
        subject_enc=seal("subject_enc", subject) if subject is not None else None,
        body_enc=seal("body_enc", body),
        headers_enc=seal("headers_enc", json.dumps(dict(headers))) if headers else None,
        attempts=0, next_attempt_at=now, sent_at=None,
        last_error=None, created_at=now,
    )  # fmt: skip
    session.add(message)
    session.flush()
    return message


@dataclass
class _Claimed:
    id: uuid.UUID
    channel: str
    recipient: str
    subject: str | None
    body: str
    attempts: int
    headers: dict[str, str] | None = None


@dataclass(frozen=True)
class DeliveryReport:
    sent: int
    failed: int
    gave_up: int


def _open(session: Session, vault: Vault, row: OutboxMessage) -> _Claimed:
    def unseal(column: str, data: bytes) -> str:
        return vault.decrypt(
            session, row.owner_id, table=_TABLE, column=column, row_id=row.id, ciphertext=data
        )

    return _Claimed(
        id=row.id, channel=row.channel, recipient=unseal("recipient_enc", row.recipient_enc),
        subject=unseal("subject_enc", row.subject_enc) if row.subject_enc else None,
        body=unseal("body_enc", row.body_enc), attempts=row.attempts,
        headers=json.loads(unseal("headers_enc", row.headers_enc)) if row.headers_enc else None,
    )  # fmt: skip


def _claim(
    database: Database, keys: KeyService, now: datetime, limit: int
) -> tuple[list[_Claimed], int]:
    claimed: list[_Claimed] = []
    gave_up = 0
    due = (
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.next_attempt_at <= now,
        OutboxMessage.attempts < MAX_ATTEMPTS,
    )
    with UnitOfWork(database, write=False) as peek:
        # Most passes find nothing: look first, without taking SQLite's write lock.
        if peek.session.scalar(select(OutboxMessage.id).where(*due).limit(1)) is None:
            return claimed, gave_up
    with UnitOfWork(database) as uow:
        vault = keys.vault()
        rows = uow.session.scalars(
            select(OutboxMessage)
            .where(*due)
            .order_by(OutboxMessage.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)  # several servers share the outbox
        ).all()
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = now + LEASE
            try:
                claimed.append(_open(uow.session, vault, row))
            except AnxinError as error:
                # Erased or undecryptable content cannot be sent, now or ever.
                row.attempts = MAX_ATTEMPTS
                row.last_error = f"not sendable: {error.code}"
                gave_up += 1
        uow.commit()
    return claimed, gave_up


def _send(senders: Senders, message: _Claimed) -> None:
    if message.channel == "email":
        senders.email.send_email(
            message.recipient, message.subject or "Anxin", message.body, message.headers
        )
    else:
        senders.sms.send_sms(message.recipient, message.body)


def deliver_due(
    database: Database, keys: KeyService, senders: Senders, *, now: datetime, limit: int = 100
) -> DeliveryReport:
    """Send what is due now; one pass. Called by the worker, `anxin dev deliver` and tests."""
    claimed, gave_up = _claim(database, keys, now, limit)
    outcomes: dict[uuid.UUID, str | None] = {}
    for message in claimed:
        try:
            _send(senders, message)
            outcomes[message.id] = None
        except DeliveryFailed as error:
            outcomes[message.id] = str(error)[:500]
        except Exception as error:  # a sender bug must not stop the other messages
            log.exception("sending outbox message %s failed", message.id)
            outcomes[message.id] = f"{type(error).__name__}"[:500]
    if outcomes:
        with UnitOfWork(database) as uow:
            for message in claimed:
                row = uow.session.get(OutboxMessage, message.id)
                if row is None:
                    continue
                problem = outcomes[message.id]
                if problem is None:
                    row.sent_at, row.last_error = now, None
                else:
                    row.last_error = problem
                    row.next_attempt_at = now + backoff(message.attempts)
                    if message.attempts >= MAX_ATTEMPTS:
                        gave_up += 1
            uow.commit()
    failed = sum(1 for e in outcomes.values() if e is not None)
    return DeliveryReport(sent=len(outcomes) - failed, failed=failed, gave_up=gave_up)


class OutboxWorker:
    """Runs ``deliver_due`` every ``interval`` seconds on a daemon thread (in the server)."""

    def __init__(
        self, database: Database, keys: KeyService, senders: Senders, clock: Clock, *,
        interval: float, on_error: Callable[[BaseException], None] | None = None,
        housekeeping: Callable[[], object] | None = None, housekeeping_every: float = 300.0,
    ) -> None:  # fmt: skip
        self._database, self._keys, self._senders, self._clock = database, keys, senders, clock
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._on_error = on_error
        # Occasional chores of the identity tables (expired rate-limit rows), on this thread.
        self._housekeeping, self._housekeeping_every = housekeeping, housekeeping_every
        self._last_chores = time.monotonic()

    def start(self) -> OutboxWorker:
        self._thread = threading.Thread(target=self._run, name="anxin-outbox", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                deliver_due(self._database, self._keys, self._senders, now=self._clock.now())
                if (
                    self._housekeeping
                    and time.monotonic() - self._last_chores > self._housekeeping_every
                ):
                    self._last_chores = time.monotonic()
                    self._housekeeping()
            except Exception as error:  # keep the worker alive; the next pass retries
                log.exception("outbox pass failed")
                if self._on_error is not None:
                    self._on_error(error)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
